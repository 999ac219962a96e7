"""Customer use cases: find or create, keep analytics true, update, merge."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from app.domain.lifecycle import BookingStatus
from app.domain.segmentation import BookingFact, CustomerAnalytics, Segment, analyse
from app.server.core.errors import Conflict, Invalid, NotFound
from app.server.customers import repository
from app.server.db.models import Booking, Customer

NO_HISTORY = CustomerAnalytics(0, 0, 0, 0, None, None, None, Segment.NEW)
"""A customer's figures before any booking."""


@functools.cache
def _insert_customer() -> ReturningInsert[Customer]:
    """A new customer with no history, unless one with the e-mail exists (nothing then).

    Built once: constructing the statement per payment costs more CPU than running it.
    """
    table = cast(Table, Customer.__table__)
    given = (
        "organization_id", "email", "first_name", "last_name", "phone", "created_via",
        *ANALYTICS_FIELDS,
    )  # fmt: skip
    return (
        insert(Customer)
        .values(
            {
                **{name: bindparam(name, type_=table.c[name].type) for name in given},
                "status": "active",
                "notes": "",
            }
        )
        .on_conflict_do_nothing(
            index_elements=[Customer.organization_id, func.lower(Customer.email)],
            index_where=Customer.merged_into_id.is_(None),
        )
        .returning(Customer)
    )


async def find_or_create(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str | None,
    created_via: str,
) -> Customer:
    """The customer with this e-mail, created on first sight; safe under concurrency."""
    customer, _ = await find_or_add(
        session,
        organization_id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        created_via=created_via,
    )
    return customer


async def find_or_add(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str | None,
    created_via: str,
    figures: CustomerAnalytics = NO_HISTORY,
) -> tuple[Customer, bool]:
    """``find_or_create``, also telling whether the customer was created just now (with
    ``figures``: what their bookings will say once the caller's change is written).

    Either way the row is this transaction's to change: a new row is invisible to others
    until commit, an existing one is locked.
    """
    created = await session.scalar(
        _insert_customer(),
        {
            "organization_id": organization_id,
            "email": email.strip(),
            "first_name": first_name,
            "last_name": last_name,
            "phone": phone,
            "created_via": created_via,
            **_analytics_values(figures),
        },
    )
    if created is not None:
        return created, True
    customer = await repository.by_email(session, email, lock=True)
    if customer is None:  # pragma: no cover - the insert above guarantees a row
        raise NotFound("Customer could not be created.")
    if phone and not customer.phone:
        customer.phone = phone
    return customer, False


async def refresh_analytics(
    session: AsyncSession,
    customer_id: uuid.UUID,
    today: date,
    timezone: str,
    *,
    locked: Customer | None = None,
    all_bookings: Sequence[Booking] | None = None,
) -> Customer:
    """Recompute totals, dates and segment from the customer's bookings, in this transaction.

    ``locked``: the customer's row, already locked (or created) in this transaction, so it
    is not read again. ``all_bookings``: every booking of the customer, when the caller
    knows them all (a customer created in this transaction has only the one it is
    attached to), so they are not read again.
    """
    customer = locked or await repository.get(session, customer_id, lock=True)
    if customer is None:
        raise NotFound("No such customer.")
    zone = ZoneInfo(timezone)
    if all_bookings is None:
        all_bookings = await repository.bookings_of(session, customer_id)
    figures = analyse([booking_fact(b, zone) for b in all_bookings], today)
    # Unchanged values are no change to the ORM: a customer created with the right
    # figures is not written again.
    for name, value in _analytics_values(figures).items():
        setattr(customer, name, value)
    return customer


class Booked(Protocol):
    """What segmentation reads of a booking (an ORM row or a plain row)."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def booking_date(self) -> date: ...
    @property
    def amount_paid(self) -> int: ...
    @property
    def refunded_amount(self) -> int: ...
    @property
    def status(self) -> str: ...


def booking_fact(booking: Booked, zone: ZoneInfo) -> BookingFact:
    """What segmentation reads of one booking (its venue's ``zone`` dates it)."""
    return BookingFact(
        booked_on=booking.created_at.astimezone(zone).date(),
        visit_date=booking.booking_date,
        amount_paid=booking.amount_paid - booking.refunded_amount,
        status=BookingStatus(booking.status),
    )


def _analytics_values(figures: CustomerAnalytics) -> dict[str, Any]:
    return {
        "total_bookings": figures.total_bookings,
        "total_spent": figures.total_spent,
        "average_booking_value": figures.average_booking_value,
        "lifetime_value": figures.lifetime_value,
        "first_booking_date": figures.first_booking_date,
        "last_booking_date": figures.last_booking_date,
        "last_activity_date": figures.last_activity_date,
        "segment": figures.segment.value,
    }


ANALYTICS_FIELDS = tuple(_analytics_values(NO_HISTORY))


async def refresh_all_analytics(session: AsyncSession, today: date, timezone: str) -> int:
    """Recompute every customer of the organization as of ``today``; count those that moved.

    Segments are partly about time (a customer turns at-risk after 60 quiet days with no
    booking changing), so this runs nightly. One query reads every booking; only changed
    customers are written.
    """
    zone = ZoneInfo(timezone)
    facts: dict[uuid.UUID, list[BookingFact]] = {}
    for b in await repository.all_booking_facts(session):
        facts.setdefault(b.customer_id, []).append(booking_fact(b, zone))
    changed = []
    for customer in await repository.active_records(session):
        values = _analytics_values(analyse(facts.get(customer.id, []), today))
        if any(getattr(customer, name) != values[name] for name in ANALYTICS_FIELDS):
            changed.append({"id": customer.id, **values})
    if changed:
        await session.execute(update(Customer), changed)
    return len(changed)


async def update_customer(
    session: AsyncSession, customer_id: uuid.UUID, changes: dict[str, object]
) -> Customer:
    """Apply edits of contact details, notes and status; e-mail stays unique."""
    customer = await repository.get(session, customer_id, lock=True)
    if customer is None or customer.merged_into_id is not None:
        raise NotFound("No such customer.")
    email = changes.get("email")
    if isinstance(email, str) and email.lower() != customer.email.lower():
        other = await repository.by_email(session, email)
        if other is not None and other.id != customer.id:
            raise Conflict(
                f"Another customer already uses {email}; merge the two instead.",
                code="email_taken",
                other_customer_id=str(other.id),
            )
    for field, value in changes.items():
        setattr(customer, field, value)
    return customer


async def merge(
    session: AsyncSession,
    keep_id: uuid.UUID,
    merge_ids: list[uuid.UUID],
    today: date,
    timezone: str,
) -> Customer:
    """Move the bookings of ``merge_ids`` to ``keep_id`` and point the merged records at it."""
    if keep_id in merge_ids:
        raise Invalid("A customer cannot be merged into itself.")
    keep = await repository.get(session, keep_id, lock=True)
    if keep is None or keep.merged_into_id is not None:
        raise NotFound("No such customer to keep.")
    notes = [keep.notes] if keep.notes else []
    for merge_id in merge_ids:
        other = await repository.get(session, merge_id, lock=True)
        if other is None or other.merged_into_id is not None:
            raise NotFound(f"No such customer to merge: {merge_id}.")
        await session.execute(
            update(Booking).where(Booking.customer_id == other.id).values(customer_id=keep.id)
        )
        other.merged_into_id = keep.id
        other.status = "inactive"
        if other.notes:
            notes.append(other.notes)
        if not keep.phone and other.phone:
            keep.phone = other.phone
    keep.notes = "\n\n".join(notes)
    return await refresh_analytics(session, keep.id, today, timezone)
