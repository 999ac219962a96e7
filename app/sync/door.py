"""Answering the door from the cache: the same vocabulary and sentences as the service
(:func:`app.domain.checkin.decide`), online or not; an ``ok`` is queued as a check-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from app.domain.booking_numbers import normalize_booking_number
from app.domain.checkin import BookingAtDoor, CheckInAnswer, CheckInResult, decide
from app.domain.lifecycle import BookingStatus, local_today
from app.sync import actions as local_actions

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DoorResult:
    """The answer, the booking as it is now (when known), and the queued action's id."""

    answer: CheckInAnswer
    booking: Row | None
    action_id: str | None


def balance_due(booking: Row) -> int:
    """What is still owed, as the service counts it: total less what was kept."""
    kept = (booking["amount_paid"] or 0) - (booking["refunded_amount"] or 0)
    return max((booking["total_amount"] or 0) - kept, 0)


def timezone_of(conn: Connection, booking: Row, fallback: str) -> str:
    """The time zone of the booking's venue (carried by its activity)."""
    zone = conn.exec_driver_sql(
        "SELECT timezone FROM activities WHERE id = ?", (booking["activity_id"],)
    ).scalar()
    return str(zone or fallback)


def at_door(booking: Row) -> BookingAtDoor:
    """The facts :func:`decide` needs, from a cached booking."""
    checked_in_at = booking["checked_in_at"]
    return BookingAtDoor(
        booking_number=booking["booking_number"],
        status=BookingStatus(booking["status"]),
        booking_date=date.fromisoformat(booking["booking_date"]),
        balance_due=balance_due(booking),
        currency=booking["currency"],
        checked_in_at=datetime.fromisoformat(checked_in_at) if checked_in_at else None,
        checked_in_by_name=booking["checked_in_by_name"],
    )


def find(conn: Connection, text: str) -> Row | None:
    """The cached booking with the number typed or scanned as ``text``."""
    number = normalize_booking_number(text)
    if number is None:
        return None
    row = (
        conn.exec_driver_sql("SELECT * FROM bookings WHERE booking_number = ?", (number,))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def scan(
    conn: Connection,
    text: str,
    *,
    now: datetime,
    staff_name: str,
    staff_id: str | None,
    fallback_timezone: str,
    offline: bool,
    override_unpaid: bool = False,
    guests_arrived: int | None = None,
) -> DoorResult:
    """Answer ``text`` at the door and, when the answer is ``ok``, queue the check-in
    (inside the caller's write transaction, so nothing changes in between)."""
    booking = find(conn, text)
    if booking is None:
        return DoorResult(decide(None, now.date(), fallback_timezone), None, None)
    timezone = timezone_of(conn, booking, fallback_timezone)
    answer = decide(
        at_door(booking), local_today(timezone, now), timezone, override_unpaid=override_unpaid
    )
    if answer.result is not CheckInResult.OK:
        return DoorResult(answer, booking, None)
    action = local_actions.DeskAction(
        kind="check_in",
        booking_id=booking["id"],
        happened_at=now,
        staff_name=staff_name,
        staff_id=staff_id,
        guests_arrived=guests_arrived,
        override_unpaid=override_unpaid,
    )
    return DoorResult(answer, local_actions.enqueue(conn, action, offline=offline), action.id)
