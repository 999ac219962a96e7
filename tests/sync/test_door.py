"""The door answered from the cache in DESIGN.md's vocabulary, with the service's sentences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.domain.checkin import CheckInResult, describe_day
from app.sync import actions, door
from app.sync.cache import Cache
from tests.sync import rows
from tests.sync.conftest import ZONE, Venue, apply


def scan(cache: Cache, text: str, **options: Any) -> door.DoorResult:
    now = options.pop("now", datetime.now(ZONE))
    with cache.write() as conn:
        return door.scan(
            conn, text, now=now, staff_name="Sam", staff_id=None,
            fallback_timezone="UTC", offline=True, **options,
        )  # fmt: skip


def test_ok_checks_in_and_queues(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    result = scan(cache, alice["booking_number"].lower().replace("-", " "))
    assert result.answer.result is CheckInResult.OK
    assert result.answer.message == "Checked in."
    assert result.booking is not None and result.booking["status"] == "checked_in"
    with cache.read() as conn:
        (queued,) = actions.queued(conn, 10)
    assert (queued["id"], queued["kind"]) == (result.action_id, "check_in")


def test_already_checked_in_says_when_and_by_whom(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    when = datetime.now(ZONE).replace(hour=14, minute=2, second=0, microsecond=0)
    apply(cache, [rows.change("booking", {
        **alice, "status": "checked_in", "checked_in_at": when.isoformat(),
        "checked_in_by_name": "Alex",
    })])  # fmt: skip
    result = scan(cache, alice["booking_number"])
    assert result.answer.result is CheckInResult.ALREADY_CHECKED_IN
    assert result.answer.message == "Already checked in at 14:02 by Alex."
    assert result.action_id is None


def test_not_today_gives_the_date(cache: Cache, venue: Venue) -> None:
    result = scan(cache, venue.bookings["Carol"]["booking_number"])
    day = venue.today + timedelta(days=2)
    assert result.answer.result is CheckInResult.NOT_TODAY
    assert result.answer.message == f"Booking is for {describe_day(day, venue.today)}."


def test_cancelled_and_expired(cache: Cache, venue: Venue) -> None:
    alice, carol = venue.bookings["Alice"], venue.bookings["Carol"]
    apply(cache, [
        rows.change("booking", {**alice, "status": "cancelled"}),
        rows.change("booking", {**carol, "status": "expired"}),
    ])  # fmt: skip
    assert scan(cache, alice["booking_number"]).answer.result is CheckInResult.CANCELLED
    expired = scan(cache, carol["booking_number"]).answer
    assert expired.result is CheckInResult.EXPIRED
    assert expired.message == "This booking was never paid and expired."


def test_unpaid_gives_the_balance_and_can_be_overridden(cache: Cache, venue: Venue) -> None:
    bob = venue.bookings["Bob"]
    refused = scan(cache, bob["booking_number"])
    assert refused.answer.result is CheckInResult.UNPAID
    assert refused.answer.message == "Unpaid: $90.00 due."
    allowed = scan(cache, bob["booking_number"], override_unpaid=True, guests_arrived=2)
    assert allowed.answer.result is CheckInResult.OK
    assert allowed.booking is not None and allowed.booking["guests_arrived"] == 2


def test_unknown_numbers_and_text(cache: Cache, venue: Venue) -> None:
    for text in ("BK-222222-2222", "hello"):
        result = scan(cache, text)
        assert result.answer.result is CheckInResult.UNKNOWN
        assert result.answer.message == "No booking with that number."
        assert result.booking is None
