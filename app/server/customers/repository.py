"""SQL for customers and the booking facts their analytics are computed from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.db.models import Booking, Customer

CustomerSort = Literal[
    "name", "-total_spent", "-total_bookings", "-last_booking_date", "-created_at"
]


async def by_email(session: AsyncSession, email: str, *, lock: bool = False) -> Customer | None:
    """The unmerged customer with this e-mail address (case-insensitive)."""
    stmt = select(Customer).where(
        func.lower(Customer.email) == email.strip().lower(), Customer.merged_into_id.is_(None)
    )
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def get(
    session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = False
) -> Customer | None:
    stmt = select(Customer).where(Customer.id == customer_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


def _search(stmt: Select[Customer], q: str) -> Select[Customer]:
    like = f"%{q.lower()}%"
    digits = "".join(ch for ch in q if ch.isdigit())
    conditions = [
        func.lower(Customer.first_name + " " + Customer.last_name).like(like),
        func.lower(Customer.email).like(like),
    ]
    if len(digits) >= 3:
        conditions.append(
            func.regexp_replace(func.coalesce(Customer.phone, ""), "[^0-9]", "", "g").like(
                f"%{digits}%"
            )
        )
    return stmt.where(or_(*conditions))


async def search(
    session: AsyncSession,
    *,
    q: str | None,
    segment: str | None,
    status: str | None,
    sort: CustomerSort,
    limit: int,
    offset: int,
) -> tuple[list[Customer], int]:
    """A page of unmerged customers and the total matching count."""
    stmt = select(Customer).where(Customer.merged_into_id.is_(None))
    if q:
        stmt = _search(stmt, q)
    if segment:
        stmt = stmt.where(Customer.segment == segment)
    if status:
        stmt = stmt.where(Customer.status == status)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = {
        "name": (Customer.last_name, Customer.first_name),
        "-total_spent": (Customer.total_spent.desc(),),
        "-total_bookings": (Customer.total_bookings.desc(),),
        "-last_booking_date": (Customer.last_booking_date.desc().nulls_last(),),
        "-created_at": (Customer.created_at.desc(),),
    }[sort]
    rows = await session.scalars(stmt.order_by(*order, Customer.id).limit(limit).offset(offset))
    return list(rows.all()), total


async def segment_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Customer.segment, func.count())
        .where(Customer.merged_into_id.is_(None))
        .group_by(Customer.segment)
    )
    return {segment: count for segment, count in rows.all()}


async def bookings_of(session: AsyncSession, customer_id: uuid.UUID) -> list[Booking]:
    rows = await session.scalars(
        select(Booking)
        .where(Booking.customer_id == customer_id)
        .order_by(Booking.booking_date.desc(), Booking.start_time.desc())
    )
    return list(rows.all())


async def all_booking_facts(
    session: AsyncSession,
) -> Sequence[Row[uuid.UUID | None, datetime, date, int, int, str]]:
    """The fields segmentation needs, for every booking that has a customer."""
    rows = await session.execute(
        select(
            Booking.customer_id,
            Booking.created_at,
            Booking.booking_date,
            Booking.amount_paid,
            Booking.refunded_amount,
            Booking.status,
        ).where(Booking.customer_id.is_not(None))
    )
    return rows.all()


async def active_records(session: AsyncSession) -> list[Customer]:
    """Every customer record not merged into another."""
    rows = await session.scalars(select(Customer).where(Customer.merged_into_id.is_(None)))
    return list(rows.all())
