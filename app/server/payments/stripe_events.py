"""Stripe webhook events: stored first, processed by a job, exactly once in effect.

The webhook only verifies and stores (``ON CONFLICT DO NOTHING`` on the event id) with
the job that will process it, in one transaction, so Stripe gets its 2xx at once and no
stored event lacks its job. Concurrent deliveries share that transaction (``EventInbox``).
Processing locks the event row and the booking in one transaction and marks the event
processed in that same transaction: a retry after a crash repeats nothing that committed,
and a duplicate finds the event already processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.core.db import Database, set_organization
from app.server.db.models import Booking, StripeEvent, Venue
from app.server.payments.confirmation import OUTBOX_WRITTEN, RetryLater, apply_fact
from app.server.payments.facts import HANDLED_EVENTS, PaymentFact, fact_of
from app.server.payments.stripe_gateway import StripeGateway

log = logging.getLogger(__name__)

_EVENTS = cast(Table, StripeEvent.__table__)
# Built once: the statements every event runs (building one costs as much as running it).
_LOCKED_EVENT = (
    select(_EVENTS.c.type, _EVENTS.c.payload, _EVENTS.c.processed_at)
    .where(_EVENTS.c.id == bindparam("event_id"))
    .with_for_update()
)
_LOCKED_BOOKING = (
    select(Booking, Venue.timezone)
    .join(Venue, Venue.id == Booking.venue_id)
    .where(Booking.id == bindparam("booking_id"))
    .with_for_update(of=Booking)
)
_MARK = (
    update(_EVENTS)
    .where(_EVENTS.c.id.in_(bindparam("event_ids", expanding=True)))
    .values(
        processed_at=bindparam("now"),
        organization_id=bindparam("organization_id"),
        attempts=_EVENTS.c.attempts + bindparam("attempt"),
        last_error=bindparam("note"),
    )
)
"""Marks events done: applied (``note`` None, an attempt counted) or ignored."""


QueueProcessing = Callable[[AsyncSession, list[list[str]]], Awaitable[None]]
"""Queues the processing of stored events inside the caller's transaction, given as
groups of event ids (events about one booking are processed together)."""

INBOX_BATCH = 100


# One statement of fixed shape for any number of events (arrays, not a VALUES row each,
# which SQLAlchemy would compile anew for every batch size); the payload goes in as the
# JSON text Stripe sent, not decoded and encoded again.
_STORE_EVENTS = text("""
    INSERT INTO stripe_events (id, type, account, payload, stripe_created_at, attempts)
    SELECT e.id, e.type, e.account, CAST(e.payload AS jsonb), e.created, 0
      FROM unnest(CAST(:ids AS text[]), CAST(:types AS text[]), CAST(:accounts AS text[]),
                  CAST(:payloads AS text[]), CAST(:created AS timestamptz[]))
           AS e(id, type, account, payload, created)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
""")


async def store_events(
    db: Database,
    events: list[tuple[dict[str, Any], str]],
    queue_processing: QueueProcessing,
) -> set[str]:
    """Keep verified events (each with the JSON text it came as) and queue the processing
    of the new ones, in one transaction; the ids stored now (the others were already
    there: redeliveries)."""
    async with db.system() as session:
        stored = await session.scalars(
            _STORE_EVENTS,
            {
                "ids": [event["id"] for event, _ in events],
                "types": [event["type"] for event, _ in events],
                "accounts": [event.get("account") for event, _ in events],
                "payloads": [payload for _, payload in events],
                "created": [
                    datetime.fromtimestamp(int(event["created"]), UTC) for event, _ in events
                ],
            },
        )
        new = set(stored.all())
        if new:
            groups = about_one_booking([event for event, _ in events if event["id"] in new])
            await queue_processing(session, groups)
    return new


def about_one_booking(events: list[dict[str, Any]]) -> list[list[str]]:
    """The ids of ``events`` in groups: those that name the same booking together, in
    order (the two events of a paid checkout), every other one alone."""
    groups: dict[str, list[str]] = {}
    for event in events:
        booking_id = _named_booking(event)
        key = f"booking:{booking_id}" if booking_id else f"event:{event['id']}"
        groups.setdefault(key, []).append(event["id"])
    return list(groups.values())


def _named_booking(event: dict[str, Any]) -> uuid.UUID | None:
    """The booking an event names in its own payload, if it is a fact we act on."""
    try:
        fact = fact_of(event) if is_handled(event["type"]) else None
    except (KeyError, TypeError, ValueError):
        return None  # an odd payload is processed alone, and refused there
    return fact.booking_id if fact else None


async def store_event(db: Database, event: dict[str, Any]) -> bool:
    """Keep one verified event without queueing its processing (the caller processes it);
    False when it was already stored (a redelivery)."""

    async def queue_nothing(_session: AsyncSession, _groups: list[list[str]]) -> None:
        return None

    return event["id"] in await store_events(db, [(event, json.dumps(event))], queue_nothing)


_Delivery = tuple[dict[str, Any], str, "asyncio.Future[bool]"]
"""A delivery waiting to be stored: the event, its JSON text, and the answer it awaits."""


class EventInbox:
    """Stores the events of concurrent webhook deliveries in shared transactions.

    A delivery waits for the transaction that stores its event with its job; while one
    transaction commits, the deliveries arriving meanwhile gather for the next. Each
    commit is a WAL flush and, as the job queue notifies its workers, a turn of the
    server-wide NOTIFY lock, so sharing it is what lets the webhook keep up with a burst.
    Should a shared transaction fail, its events are stored one by one, so one bad event
    fails only its own delivery (Stripe sends it again).
    """

    def __init__(self, db: Database, queue_processing: QueueProcessing) -> None:
        self._db = db
        self._queue_processing = queue_processing
        self._waiting: list[_Delivery] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, event: dict[str, Any], payload: str | None = None) -> bool:
        """Store a verified event (``payload``: the JSON text it came as) with its job;
        False when it was already stored."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, payload or json.dumps(event), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:INBOX_BATCH], self._waiting[INBOX_BATCH:]
            try:
                await self._store(batch)
            except Exception:
                if len(batch) == 1:
                    continue  # its delivery has the error
                log.warning("storing %d events together failed; one by one", len(batch))
                for one in batch:
                    with contextlib.suppress(Exception):  # each delivery has its own error
                        await self._store([one])

    async def _store(self, batch: list[_Delivery]) -> None:
        unique = list({e["id"]: (e, text) for e, text, _ in reversed(batch)}.values())
        try:
            stored = await store_events(self._db, unique, self._queue_processing)
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][2], exc)
            raise
        for event, _, done in batch:
            _settle(done, event["id"] in stored)
            stored.discard(event["id"])  # a second copy in the same batch is a redelivery


def _settle(done: asyncio.Future[bool], outcome: bool | Exception) -> None:
    if done.done():  # the delivery gave up waiting
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


def is_handled(event_type: str) -> bool:
    """Whether the service acts on events of this type (others are answered and ignored)."""
    return event_type in HANDLED_EVENTS


@dataclass(frozen=True, slots=True)
class _AskStripe:
    """The event names a PaymentIntent we cannot place: Stripe knows its booking."""

    payment_intent_id: str
    account: str | None


@dataclass(frozen=True, slots=True)
class _StripeSaid:
    """The booking Stripe's PaymentIntent names in its metadata (None: none)."""

    booking_id: uuid.UUID | None


async def process_event(
    db: Database, gateway: StripeGateway | None, event_id: str, now: datetime | None = None
) -> str:
    """Apply one stored event; returns what happened: "applied", "applied_with_messages"
    (and it wrote messages into the outbox), "ignored" or "duplicate"."""
    now = now or datetime.now(UTC)
    outcome = await _apply_stored(db, gateway, event_id, now)
    if not isinstance(outcome, _AskStripe):
        return outcome
    if gateway is None:
        raise RetryLater("The payment is not linked to a booking yet.")
    intent = await gateway.retrieve_payment_intent(outcome.payment_intent_id, outcome.account)
    raw = (intent["metadata"] or {}).get("booking_id")
    said = _StripeSaid(uuid.UUID(raw) if raw else None)
    found = await _apply_stored(db, gateway, event_id, now, said)
    assert not isinstance(found, _AskStripe)
    return found


async def _apply_stored(
    db: Database,
    gateway: StripeGateway | None,
    event_id: str,
    now: datetime,
    stripe_said: _StripeSaid | None = None,
) -> str | _AskStripe:
    """Lock the event, find its booking, lock that and apply the fact: one transaction.

    It starts with no organization (the event is not a tenant row) and is scoped to the
    booking's organization by ``set_organization`` as soon as that is known, before any
    tenant row is read. ``stripe_said``: what Stripe told of the event's PaymentIntent,
    on the second try.
    """
    async with db.anonymous() as session:
        stored = (await session.execute(_LOCKED_EVENT, {"event_id": event_id})).first()
        if stored is None:
            return "ignored"
        if stored.processed_at is not None:
            return "duplicate"
        fact = fact_of(stored.payload) if is_handled(stored.type) else None
        target = await _locate(session, fact, stripe_said) if fact else None
        if fact is None or target is None:
            if fact and fact.payment_intent_id and fact.booking_id is None and stripe_said is None:
                return _AskStripe(fact.payment_intent_id, stored.payload.get("account"))
            await _mark(session, [event_id], now, None, "not about a booking of this service")
            return "ignored"
        organization_id, booking_id = target
        await set_organization(session, organization_id)
        row = (await session.execute(_LOCKED_BOOKING, {"booking_id": booking_id})).first()
        if row is None:  # pragma: no cover - located above under the same organization
            raise RetryLater("The booking is not visible yet.")
        booking, timezone = row
        await apply_fact(session, gateway, booking, fact, now, timezone=timezone)
        await _mark(session, [event_id], now, organization_id)
        return "applied_with_messages" if session.info.get(OUTBOX_WRITTEN) else "applied"


async def _locate(
    session: AsyncSession, fact: PaymentFact, stripe_said: _StripeSaid | None
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(organization, booking) the fact is about, or None when it is not one of ours."""
    booking_id = fact.booking_id if stripe_said is None else stripe_said.booking_id
    if booking_id is not None:
        row = (
            await session.execute(
                text("SELECT organization_id, id FROM app_booking_owner(:id)"), {"id": booking_id}
            )
        ).first()
        if row is not None:
            return row[0], row[1]
    if stripe_said is not None:
        return None
    for ref in fact.stripe_refs:
        row = (
            await session.execute(
                text("SELECT organization_id, booking_id FROM app_booking_by_stripe_ref(:r)"),
                {"r": ref},
            )
        ).first()
        if row is not None:
            return row[0], row[1]
    return None


async def _mark(
    session: AsyncSession,
    event_ids: list[str],
    now: datetime,
    organization_id: uuid.UUID | None,
    note: str | None = None,
) -> None:
    """The events are done: applied (``note`` None) or ignored for the reason in ``note``."""
    await session.execute(
        _MARK,
        {
            "event_ids": event_ids,
            "now": now,
            "organization_id": organization_id,
            "attempt": 0 if note else 1,
            "note": note,
        },
    )


async def process_batch(
    db: Database, gateway: StripeGateway | None, groups: list[list[str]]
) -> tuple[Counter[str], Exception | None]:
    """Apply a job's events: all in one transaction; when they cannot go together, each
    group in its own; and a group that cannot either, one event at a time (a failure is
    recorded on its event). How many events had each outcome, and the first failure."""
    together = await process_groups(db, gateway, groups)
    if together is not None:
        return Counter(together.values()), None
    outcomes: Counter[str] = Counter()
    failure: Exception | None = None
    for group in groups:
        alone = await process_groups(db, gateway, [group]) if len(groups) > 1 else None
        if alone is not None:
            outcomes.update(alone.values())
            continue
        for event_id in group:
            try:
                outcomes[await process_event(db, gateway, event_id)] += 1
            except Exception as exc:
                await record_failure(db, event_id, exc)
                outcomes["failed"] += 1
                failure = failure or exc
    return outcomes, failure


async def process_groups(
    db: Database,
    gateway: StripeGateway | None,
    groups: list[list[str]],
    now: datetime | None = None,
) -> dict[str, str] | None:
    """Apply groups of stored events in one transaction, each group naming one booking
    (found, locked and written once); what happened to each event. None when they cannot
    go together (a group not all about one booking of ours, or a failure): nothing is
    written then, and the caller processes them one by one.

    One transaction for a job's events: its commit, the event rows' lock and their mark
    are paid once, not once per booking.
    """
    now = now or datetime.now(UTC)
    try:
        return await _apply_groups(db, gateway, groups, now)
    except _CannotGoTogether:
        return None
    except Exception:
        log.info("events %s are processed one by one", groups, exc_info=True)
        return None


class _CannotGoTogether(Exception):
    """A group is not all about one booking of ours: the transaction is rolled back."""


_LOCKED_EVENTS = (
    select(_EVENTS.c.id, _EVENTS.c.type, _EVENTS.c.payload)
    .where(
        _EVENTS.c.id.in_(bindparam("event_ids", expanding=True)),
        _EVENTS.c.processed_at.is_(None),
    )
    .order_by(_EVENTS.c.received_at, _EVENTS.c.id)
    .with_for_update()
)


async def _apply_groups(
    db: Database, gateway: StripeGateway | None, groups: list[list[str]], now: datetime
) -> dict[str, str]:
    async with db.anonymous() as session:
        ids = [event_id for group in groups for event_id in group]
        rows = (await session.execute(_LOCKED_EVENTS, {"event_ids": ids})).all()
        group_of = {event_id: n for n, group in enumerate(groups) for event_id in group}
        pending: dict[int, list[Any]] = {}
        for row in rows:  # in the order they were received
            pending.setdefault(group_of[row.id], []).append(row)
        by_organization: dict[uuid.UUID, list[str]] = {}
        for group in pending.values():
            organization_id = await _apply_group(session, gateway, group, now)
            by_organization.setdefault(organization_id, []).extend(r.id for r in group)
        for organization_id, event_ids in by_organization.items():
            await _mark(session, event_ids, now, organization_id)
        applied = "applied_with_messages" if session.info.get(OUTBOX_WRITTEN) else "applied"
    done = {row.id for row in rows}
    return {event_id: applied if event_id in done else "duplicate" for event_id in ids}


# The booking's organization, and the transaction scoped to it in the same statement (the
# role is the app's since the transaction began: see ``set_organization``). The previous
# group's rows were written before (row-level security checks writes against the scope).
_SCOPE_TO_OWNER = text("""
    SELECT organization_id, set_config('app.org_id', CAST(organization_id AS text), true)
      FROM app_booking_owner(:booking_id)
""")


async def _apply_group(
    session: AsyncSession, gateway: StripeGateway | None, rows: list[Any], now: datetime
) -> uuid.UUID:
    """Apply the events of one booking; its organization."""
    facts = [fact_of(r.payload) if is_handled(r.type) else None for r in rows]
    named = {f.booking_id if f else None for f in facts}
    if len(named) != 1 or None in named:
        raise _CannotGoTogether
    booking_id = facts[0].booking_id if facts[0] else None
    owner = (await session.execute(_SCOPE_TO_OWNER, {"booking_id": booking_id})).first()
    if owner is None:
        raise _CannotGoTogether
    organization_id = owner.organization_id
    row = (await session.execute(_LOCKED_BOOKING, {"booking_id": booking_id})).first()
    if row is None:  # pragma: no cover - located above under the same organization
        raise _CannotGoTogether
    booking, timezone = row
    for fact in facts:
        assert fact is not None
        await apply_fact(session, gateway, booking, fact, now, timezone=timezone)
    await session.flush()
    return organization_id


async def record_failure(db: Database, event_id: str, error: BaseException) -> None:
    """Count a failed attempt and keep its reason for the operator."""
    async with db.system() as session:
        await session.execute(
            update(StripeEvent)
            .where(StripeEvent.id == event_id)
            .values(attempts=StripeEvent.attempts + 1, last_error=str(error)[:2000])
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
