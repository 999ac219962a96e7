"""Helpers for the money tests: desk bookings paid in different ways, and database reads."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from app.server.db.models import ActivitySession, Booking, OutboxMessage, Payment, Refund
from tests.factories import Org, Staff, make_session


async def walk_in(
    client: httpx.AsyncClient, org: Org, db: Any, *, adults: int = 2, children: int = 0,
    payment: dict[str, Any] | None = None, session_id: uuid.UUID | None = None,
    staff: Staff | None = None, **extra: Any,
) -> dict[str, Any]:
    """A walk-in booked at the desk (by default paid in cash in full)."""
    session_id = session_id or await make_session(db, org)
    r = await client.post(
        "/api/v1/bookings",
        headers=(staff or org.front_desk).headers,
        json={
            "session_id": str(session_id), "adult_count": adults, "child_count": children,
            "email": "walkin@example.com", "first_name": "Wanda", "last_name": "Walker",
            "source": "walk_in",
            "payment": payment if payment is not None else {"mode": "pay_at_desk",
                                                            "method": "cash"},
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


async def post(
    client: httpx.AsyncClient, staff: Staff, booking: dict[str, Any], action: str,
    json: dict[str, Any] | None = None, key: str | None = None,
) -> httpx.Response:
    headers = dict(staff.headers)
    if key:
        headers["Idempotency-Key"] = key
    return await client.post(f"/api/v1/bookings/{booking['id']}/{action}", headers=headers,
                             json=json)


async def detail(client: httpx.AsyncClient, org: Org, booking: dict[str, Any]) -> dict[str, Any]:
    r = await client.get(f"/api/v1/bookings/{booking['id']}", headers=org.manager.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def money_rows(db: Any, org: Org, booking_id: str) -> tuple[list[Payment], list[Refund]]:
    async with db.tenant(org.id) as s:
        payments = (await s.scalars(select(Payment).where(
            Payment.booking_id == uuid.UUID(booking_id)).order_by(Payment.created_at))).all()
        refunds = (await s.scalars(select(Refund).where(
            Refund.booking_id == uuid.UUID(booking_id)).order_by(Refund.created_at))).all()
        return list(payments), list(refunds)


async def snapshot(db: Any, org: Org, booking_id: str) -> tuple[Any, ...]:
    """Everything a refused money action must leave exactly as it was."""
    async with db.tenant(org.id) as s:
        b = await s.get_one(Booking, uuid.UUID(booking_id))
        slot = await s.get_one(ActivitySession, b.session_id)
        payments = (await s.execute(select(Payment.id, Payment.amount, Payment.refunded_amount)
                                    .where(Payment.booking_id == b.id))).all()
        refunds = await s.scalar(select(func.count()).select_from(Refund)
                                 .where(Refund.booking_id == b.id))
        messages = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.booking_id == b.id))
        return (b.status, b.payment_status, b.session_id, b.total_amount, b.amount_paid,
                b.refunded_amount, b.version, slot.reserved, sorted(payments), refunds, messages)


async def outbox(db: Any, org: Org, booking_id: str) -> list[tuple[str, str]]:
    """(template, cause) of the booking's e-mails, in order."""
    async with db.tenant(org.id) as s:
        rows = (await s.execute(
            select(OutboxMessage.template, OutboxMessage.cause)
            .where(OutboxMessage.booking_id == uuid.UUID(booking_id),
                   OutboxMessage.channel == "email")
            .order_by(OutboxMessage.created_at, OutboxMessage.template))).all()
        return [tuple(r) for r in rows]
