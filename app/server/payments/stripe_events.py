"""Stripe webhook events: stored first, processed by a job, exactly once in effect.

The webhook only verifies and stores (``ON CONFLICT DO NOTHING`` on the event id), so
Stripe gets its 2xx at once. Processing locks the event row and the booking in one tenant
transaction and marks the event processed in that same transaction: a retry after a crash
repeats nothing that committed, and a duplicate finds the event already processed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from app.server.bookings import repository as bookings
from app.server.core.db import Database
from app.server.db.models import StripeEvent
from app.server.payments.confirmation import RetryLater, apply_fact
from app.server.payments.facts import HANDLED_EVENTS, PaymentFact, fact_of
from app.server.payments.stripe_gateway import StripeGateway

log = logging.getLogger(__name__)


async def store_event(db: Database, event: dict[str, Any]) -> bool:
    """Keep a verified event; False when it was already stored (a redelivery)."""
    async with db.anonymous() as session:
        stored = await session.scalar(
            insert(StripeEvent)
            .values(
                id=event["id"],
                type=event["type"],
                account=event.get("account"),
                payload=event,
                stripe_created_at=datetime.fromtimestamp(int(event["created"]), UTC),
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=[StripeEvent.id])
            .returning(StripeEvent.id)
        )
    return stored is not None


def is_handled(event_type: str) -> bool:
    """Whether the service acts on events of this type (others are answered and ignored)."""
    return event_type in HANDLED_EVENTS


async def _locate(
    db: Database, gateway: StripeGateway | None, fact: PaymentFact, event: dict[str, Any]
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(organization, booking) the fact is about, or None when it is not one of ours."""
    async with db.anonymous() as session:
        if fact.booking_id is not None:
            row = (
                await session.execute(
                    text("SELECT organization_id, id FROM app_booking_owner(:id)"),
                    {"id": fact.booking_id},
                )
            ).first()
            if row is not None:
                return row[0], row[1]
        for ref in fact.stripe_refs:
            row = (
                await session.execute(
                    text("SELECT organization_id, booking_id FROM app_booking_by_stripe_ref(:r)"),
                    {"r": ref},
                )
            ).first()
            if row is not None:
                return row[0], row[1]
    if fact.payment_intent_id and fact.booking_id is None:
        if gateway is None:
            raise RetryLater("The payment is not linked to a booking yet.")
        intent = await gateway.retrieve_payment_intent(fact.payment_intent_id, event.get("account"))
        booking_id = (intent["metadata"] or {}).get("booking_id")
        if booking_id:
            return await _locate(db, None, PaymentFact(fact.kind, uuid.UUID(booking_id)), event)
    return None


async def process_event(
    db: Database, gateway: StripeGateway | None, event_id: str, now: datetime | None = None
) -> str:
    """Apply one stored event; returns what happened ("applied", "ignored", "duplicate")."""
    now = now or datetime.now(UTC)
    async with db.system() as session:
        stored = await session.get(StripeEvent, event_id)
    if stored is None:
        return "ignored"
    if stored.processed_at is not None:
        return "duplicate"
    fact = fact_of(stored.payload) if is_handled(stored.type) else None
    target = await _locate(db, gateway, fact, stored.payload) if fact else None
    if fact is None or target is None:
        await _mark(db, event_id, None, "not about a booking of this service")
        return "ignored"
    organization_id, booking_id = target
    async with db.tenant(organization_id) as session:
        locked = await session.scalar(
            select(StripeEvent.processed_at).where(StripeEvent.id == event_id).with_for_update()
        )
        if locked is not None:
            return "duplicate"
        booking = await bookings.get(session, booking_id, lock=True)
        if booking is None:  # pragma: no cover - located above under the same organization
            raise RetryLater("The booking is not visible yet.")
        await apply_fact(session, gateway, booking, fact, now)
        await session.execute(
            update(StripeEvent)
            .where(StripeEvent.id == event_id)
            .values(
                processed_at=now,
                organization_id=organization_id,
                attempts=StripeEvent.attempts + 1,
                last_error=None,
            )
        )
    return "applied"


async def record_failure(db: Database, event_id: str, error: BaseException) -> None:
    """Count a failed attempt and keep its reason for the operator."""
    async with db.system() as session:
        await session.execute(
            update(StripeEvent)
            .where(StripeEvent.id == event_id)
            .values(attempts=StripeEvent.attempts + 1, last_error=str(error)[:2000])
        )


async def _mark(db: Database, event_id: str, org: uuid.UUID | None, note: str) -> None:
    async with db.system() as session:
        await session.execute(
            update(StripeEvent)
            .where(StripeEvent.id == event_id, StripeEvent.processed_at.is_(None))
            .values(processed_at=datetime.now(UTC), organization_id=org, last_error=note)
        )


async def unprocessed_event_ids(db: Database, older_than: datetime, limit: int = 500) -> list[str]:
    """Events stored but not processed since ``older_than`` (their job was lost or failed)."""
    async with db.system() as session:
        rows = await session.scalars(
            select(StripeEvent.id)
            .where(StripeEvent.processed_at.is_(None), StripeEvent.received_at < older_than)
            .order_by(StripeEvent.received_at)
            .limit(limit)
        )
        return list(rows.all())
