"""The check-in answer, one vocabulary for the service and the offline desk alike.

``ok``, ``already_checked_in`` (when and by whom), ``not_today`` (the booking's date),
``cancelled``, ``expired``, ``unpaid`` (the balance due), ``unknown`` (no such number).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.lifecycle import BookingStatus
from app.domain.money import format_amount


class CheckInResult(StrEnum):
    OK = "ok"
    ALREADY_CHECKED_IN = "already_checked_in"
    NOT_TODAY = "not_today"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNPAID = "unpaid"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BookingAtDoor:
    """What the door needs to know about a booking."""

    booking_number: str
    status: BookingStatus
    booking_date: date
    balance_due: int
    currency: str
    checked_in_at: datetime | None = None
    checked_in_by_name: str | None = None


@dataclass(frozen=True, slots=True)
class CheckInAnswer:
    """The verdict and the sentence staff read at the desk."""

    result: CheckInResult
    message: str

    @property
    def admits(self) -> bool:
        return self.result is CheckInResult.OK


def describe_day(day: date, today: date) -> str:
    """ "Sat 30 Nov", with the year when it is not ``today``'s year."""
    text = f"{day:%a} {day.day} {day:%b}"
    return text if day.year == today.year else f"{text} {day.year}"


def decide(
    booking: BookingAtDoor | None,
    today: date,
    timezone: str,
    *,
    override_unpaid: bool = False,
) -> CheckInAnswer:
    """Whether this booking may be checked in now, and the sentence that says so."""
    if booking is None:
        return CheckInAnswer(CheckInResult.UNKNOWN, "No booking with that number.")
    status = booking.status
    if status is BookingStatus.CHECKED_IN or status is BookingStatus.COMPLETED:
        when = (
            booking.checked_in_at.astimezone(ZoneInfo(timezone)).strftime("at %H:%M")
            if booking.checked_in_at
            else "earlier"
        )
        who = f" by {booking.checked_in_by_name}" if booking.checked_in_by_name else ""
        return CheckInAnswer(CheckInResult.ALREADY_CHECKED_IN, f"Already checked in {when}{who}.")
    if status is BookingStatus.CANCELLED:
        return CheckInAnswer(CheckInResult.CANCELLED, "This booking was cancelled.")
    if status in (BookingStatus.EXPIRED, BookingStatus.PAYMENT_FAILED):
        return CheckInAnswer(CheckInResult.EXPIRED, "This booking was never paid and expired.")
    if status is BookingStatus.PENDING_PAYMENT:
        return CheckInAnswer(
            CheckInResult.UNPAID,
            f"Payment still pending: {format_amount(booking.balance_due, booking.currency)} due.",
        )
    if status is BookingStatus.NO_SHOW:
        return CheckInAnswer(
            CheckInResult.NOT_TODAY,
            f"Marked as a no-show for {describe_day(booking.booking_date, today)}.",
        )
    if booking.booking_date != today:
        return CheckInAnswer(
            CheckInResult.NOT_TODAY, f"Booking is for {describe_day(booking.booking_date, today)}."
        )
    if booking.balance_due > 0 and not override_unpaid:
        return CheckInAnswer(
            CheckInResult.UNPAID,
            f"Unpaid: {format_amount(booking.balance_due, booking.currency)} due.",
        )
    return CheckInAnswer(CheckInResult.OK, "Checked in.")
