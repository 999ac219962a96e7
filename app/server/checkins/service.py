"""Scanning or typing a booking number at the door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.booking_numbers import normalize_booking_number
from app.domain.checkin import BookingAtDoor, CheckInAnswer, CheckInResult, decide
from app.domain.lifecycle import Action, BookingStatus, local_today
from app.server.bookings import repository
from app.server.bookings.events import Actor
from app.server.bookings.service import apply_action, unpaid_balance
from app.server.db.models import Booking, StaffUser, Venue


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    answer: CheckInAnswer
    booking: Booking | None


async def _at_door(session: AsyncSession, booking: Booking) -> BookingAtDoor:
    by_name = None
    if booking.checked_in_by:
        by_name = await session.scalar(
            select(StaffUser.name).where(StaffUser.id == booking.checked_in_by)
        )
    return BookingAtDoor(
        booking_number=booking.booking_number,
        status=BookingStatus(booking.status),
        booking_date=booking.booking_date,
        balance_due=unpaid_balance(booking),
        currency=booking.currency,
        checked_in_at=booking.checked_in_at,
        checked_in_by_name=by_name,
    )


async def scan(
    session: AsyncSession,
    text: str,
    actor: Actor,
    *,
    guests_arrived: int | None = None,
    override_unpaid: bool = False,
    now: datetime | None = None,
) -> ScanOutcome:
    """Answer a scanned number and check the booking in when the answer is ``ok``."""
    now = now or datetime.now(UTC)
    number = normalize_booking_number(text)
    booking = await repository.by_number(session, number, lock=True) if number else None
    if booking is None:
        return ScanOutcome(decide(None, now.date(), "UTC"), None)
    return await admit(
        session,
        booking,
        actor,
        guests_arrived=guests_arrived,
        override_unpaid=override_unpaid,
        now=now,
    )


async def admit(
    session: AsyncSession,
    booking: Booking,
    actor: Actor,
    *,
    guests_arrived: int | None = None,
    override_unpaid: bool = False,
    now: datetime | None = None,
) -> ScanOutcome:
    """Answer for a (locked) booking at the door and check it in when the answer is ``ok``.

    ``now`` is when the guests arrived: it decides "today" and becomes ``checked_in_at``.
    """
    now = now or datetime.now(UTC)
    timezone = await session.scalar(select(Venue.timezone).where(Venue.id == booking.venue_id))
    assert timezone is not None
    today = local_today(timezone, now)
    answer = decide(
        await _at_door(session, booking), today, timezone, override_unpaid=override_unpaid
    )
    if answer.result is CheckInResult.OK:
        booking = await apply_action(
            session,
            booking.id,
            Action.CHECK_IN,
            actor,
            guests_arrived=guests_arrived,
            override_unpaid=override_unpaid,
            now=now,
        )
    return ScanOutcome(answer, booking)
