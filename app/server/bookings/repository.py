"""SQL for bookings: the filtered list, seat reservations, stats."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import ColumnElement, Row, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.booking_numbers import normalize_booking_number
from app.domain.segmentation import COUNTED_STATUSES
from app.server.db.models import (
    Activity,
    ActivitySession,
    Booking,
    BookingEvent,
    Customer,
    Payment,
    Refund,
)


@dataclass(frozen=True, slots=True)
class BookingFilter:
    """What the desk's bookings list asks for."""

    date_from: date | None = None
    date_to: date | None = None
    statuses: tuple[str, ...] = ()
    activity_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    q: str | None = None


Cursor = tuple[date, time, uuid.UUID]


def _list_query(f: BookingFilter):
    stmt = (
        select(
            Booking,
            Customer.first_name,
            Customer.last_name,
            Customer.email,
            Customer.phone,
            Activity.name.label("activity_name"),
        )
        .join(Activity, Activity.id == Booking.activity_id)
        .outerjoin(Customer, Customer.id == Booking.customer_id)
    )
    if f.date_from:
        stmt = stmt.where(Booking.booking_date >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Booking.booking_date <= f.date_to)
    if f.statuses:
        stmt = stmt.where(Booking.status.in_(f.statuses))
    if f.activity_id:
        stmt = stmt.where(Booking.activity_id == f.activity_id)
    if f.customer_id:
        stmt = stmt.where(Booking.customer_id == f.customer_id)
    if f.q:
        q = f.q.strip()
        like = f"%{q.lower()}%"
        conditions: list[ColumnElement[bool]] = [
            Booking.booking_number.ilike(f"%{q}%"),
            func.lower(Customer.first_name + " " + Customer.last_name).like(like),
            func.lower(Customer.email).like(like),
        ]
        number = normalize_booking_number(q)
        if number:
            conditions.append(Booking.booking_number == number)
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 3:
            conditions.append(
                func.regexp_replace(func.coalesce(Customer.phone, ""), "[^0-9]", "", "g").like(
                    f"%{digits}%"
                )
            )
        stmt = stmt.where(or_(*conditions))
    return stmt


async def list_page(
    session: AsyncSession, f: BookingFilter, *, after: Cursor | None, limit: int
) -> list[Row[Any]]:
    """One page of bookings in (date, start time, id) order, after ``after``."""
    stmt = _list_query(f)
    if after is not None:
        stmt = stmt.where(
            tuple_(Booking.booking_date, Booking.start_time, Booking.id) > tuple_(*after)
        )
    stmt = stmt.order_by(Booking.booking_date, Booking.start_time, Booking.id).limit(limit)
    return list((await session.execute(stmt)).all())


async def get(
    session: AsyncSession, booking_id: uuid.UUID, *, lock: bool = False
) -> Booking | None:
    stmt = select(Booking).where(Booking.id == booking_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def by_number(session: AsyncSession, number: str, *, lock: bool = False) -> Booking | None:
    stmt = select(Booking).where(Booking.booking_number == number)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def reserve_seats(
    session: AsyncSession, session_id: uuid.UUID, seats: int
) -> ActivitySession | None:
    """Take ``seats`` in one conditional statement; ``None`` when they are not there.

    The row lock of the UPDATE serialises concurrent reservations of one session, and the
    condition is re-checked on the locked row, so no session ever exceeds its capacity.
    """
    return await session.scalar(
        update(ActivitySession)
        .where(
            ActivitySession.id == session_id,
            ActivitySession.status == "open",
            ActivitySession.reserved + seats <= ActivitySession.capacity,
        )
        .values(reserved=ActivitySession.reserved + seats)
        .returning(ActivitySession)
    )


async def release_seats(session: AsyncSession, session_id: uuid.UUID, seats: int) -> None:
    """Give ``seats`` back to the session."""
    await session.execute(
        update(ActivitySession)
        .where(ActivitySession.id == session_id)
        .values(reserved=ActivitySession.reserved - seats)
    )


async def timeline(session: AsyncSession, booking_id: uuid.UUID) -> list[BookingEvent]:
    rows = await session.scalars(
        select(BookingEvent)
        .where(BookingEvent.booking_id == booking_id)
        .order_by(BookingEvent.at, BookingEvent.id)
    )
    return list(rows.all())


async def payments_of(session: AsyncSession, booking_id: uuid.UUID) -> list[Payment]:
    rows = await session.scalars(
        select(Payment).where(Payment.booking_id == booking_id).order_by(Payment.created_at)
    )
    return list(rows.all())


async def refunds_of(session: AsyncSession, booking_id: uuid.UUID) -> list[Refund]:
    rows = await session.scalars(
        select(Refund).where(Refund.booking_id == booking_id).order_by(Refund.created_at)
    )
    return list(rows.all())


# A checkout still waiting for its payment is a hold, not a visit (yet).
LIVE_STATUSES = tuple(sorted(status.value for status in COUNTED_STATUSES))


async def count_between(session: AsyncSession, first: date, last: date) -> int:
    """Bookings dated in [first, last] that are or were real visits."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(
                Booking.booking_date.between(first, last),
                Booking.status.in_(LIVE_STATUSES),
            )
        )
        or 0
    )


async def revenue_between(session: AsyncSession, first: date, last: date) -> int:
    """Money kept (paid minus refunded) on bookings dated in [first, last]."""
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(Booking.amount_paid - Booking.refunded_amount), 0)).where(
                Booking.booking_date.between(first, last)
            )
        )
        or 0
    )
