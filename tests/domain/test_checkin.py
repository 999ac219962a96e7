"""The check-in decision at the door: every answer and the sentence staff read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.domain.checkin import BookingAtDoor, CheckInAnswer, CheckInResult, decide
from app.domain.lifecycle import BookingStatus

S = BookingStatus
R = CheckInResult
NY = "America/New_York"
TODAY = date(2024, 11, 30)  # a Saturday


def booking(**changes: object) -> BookingAtDoor:
    base = BookingAtDoor(
        booking_number="BK-234567-89AB",
        status=S.CONFIRMED,
        booking_date=TODAY,
        balance_due=0,
        currency="USD",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_unknown_booking() -> None:
    answer = decide(None, TODAY, NY)
    assert answer == CheckInAnswer(R.UNKNOWN, "No booking with that number.")
    assert not answer.admits


def test_confirmed_paid_today_is_admitted() -> None:
    answer = decide(booking(), TODAY, NY)
    assert answer == CheckInAnswer(R.OK, "Checked in.")
    assert answer.admits


def test_negative_balance_is_not_unpaid() -> None:
    assert decide(booking(balance_due=-500), TODAY, NY).result is R.OK


@pytest.mark.parametrize("status", [S.CHECKED_IN, S.COMPLETED], ids=str)
def test_already_checked_in_names_the_local_time_and_who(status: BookingStatus) -> None:
    checked_in_at = datetime(2024, 11, 30, 23, 15, tzinfo=UTC)  # 18:15 in New York
    answer = decide(
        booking(status=status, checked_in_at=checked_in_at, checked_in_by_name="Dana"),
        TODAY,
        NY,
    )
    assert answer.result is R.ALREADY_CHECKED_IN
    assert answer.message == "Already checked in at 18:15 by Dana."
    assert not answer.admits


def test_already_checked_in_time_is_in_the_venue_zone() -> None:
    checked_in_at = datetime(2024, 11, 30, 9, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    b = booking(status=S.CHECKED_IN, checked_in_at=checked_in_at, checked_in_by_name="Sam")
    assert decide(b, TODAY, NY).message == "Already checked in at 03:05 by Sam."
    assert decide(b, TODAY, "Asia/Tokyo").message == "Already checked in at 17:05 by Sam."


def test_already_checked_in_without_time_or_name() -> None:
    # Older records may lack the time: the sentence must still read as English.
    answer = decide(booking(status=S.CHECKED_IN), TODAY, NY)
    assert answer.result is R.ALREADY_CHECKED_IN
    assert "earlier" in answer.message
    assert "at earlier" not in answer.message
    assert " by" not in answer.message


def test_already_checked_in_without_name() -> None:
    b = booking(status=S.CHECKED_IN, checked_in_at=datetime(2024, 11, 30, 15, 0, tzinfo=UTC))
    assert decide(b, TODAY, NY).message == "Already checked in at 10:00."


def test_already_checked_in_wins_over_override_and_date() -> None:
    b = booking(status=S.CHECKED_IN, booking_date=date(2024, 11, 29), balance_due=4_000)
    assert decide(b, TODAY, NY, override_unpaid=True).result is R.ALREADY_CHECKED_IN


@pytest.mark.parametrize(
    ("booking_date", "today", "text"),
    [
        (date(2024, 11, 30), date(2024, 11, 29), "Booking is for Sat 30 Nov."),
        (date(2024, 12, 1), date(2024, 11, 30), "Booking is for Sun 1 Dec."),
        (date(2024, 11, 29), date(2024, 11, 30), "Booking is for Fri 29 Nov."),
        (date(2025, 1, 4), date(2024, 12, 31), "Booking is for Sat 4 Jan 2025."),
        (date(2024, 11, 30), date(2025, 1, 2), "Booking is for Sat 30 Nov 2024."),
    ],
)
def test_not_today(booking_date: date, today: date, text: str) -> None:
    answer = decide(booking(booking_date=booking_date), today, NY)
    assert answer == CheckInAnswer(R.NOT_TODAY, text)
    assert not answer.admits


def test_not_today_comes_before_unpaid_and_ignores_override() -> None:
    b = booking(booking_date=date(2024, 12, 7), balance_due=4_000)
    assert decide(b, TODAY, NY).result is R.NOT_TODAY
    assert decide(b, TODAY, NY, override_unpaid=True).result is R.NOT_TODAY


def test_no_show_is_reported_with_its_date() -> None:
    answer = decide(booking(status=S.NO_SHOW, booking_date=date(2024, 11, 23)), TODAY, NY)
    assert answer == CheckInAnswer(R.NOT_TODAY, "Marked as a no-show for Sat 23 Nov.")
    assert not decide(booking(status=S.NO_SHOW), TODAY, NY, override_unpaid=True).admits


def test_cancelled() -> None:
    answer = decide(booking(status=S.CANCELLED), TODAY, NY, override_unpaid=True)
    assert answer == CheckInAnswer(R.CANCELLED, "This booking was cancelled.")
    assert not answer.admits


@pytest.mark.parametrize("status", [S.EXPIRED, S.PAYMENT_FAILED], ids=str)
def test_expired_and_payment_failed(status: BookingStatus) -> None:
    answer = decide(booking(status=status, balance_due=4_000), TODAY, NY, override_unpaid=True)
    assert answer == CheckInAnswer(R.EXPIRED, "This booking was never paid and expired.")
    assert not answer.admits


@pytest.mark.parametrize(
    ("balance", "currency", "text"),
    [
        (4_000, "USD", "Unpaid: $40.00 due."),
        (1, "USD", "Unpaid: $0.01 due."),
        (123_456, "USD", "Unpaid: $1,234.56 due."),
        (4_050, "EUR", "Unpaid: €40.50 due."),
        (4_000, "JPY", "Unpaid: JPY 4,000 due."),
        (1_500, "KWD", "Unpaid: KWD 1.500 due."),
    ],
)
def test_unpaid_states_the_exact_amount(balance: int, currency: str, text: str) -> None:
    answer = decide(booking(balance_due=balance, currency=currency), TODAY, NY)
    assert answer == CheckInAnswer(R.UNPAID, text)
    assert not answer.admits


def test_override_unpaid_admits() -> None:
    answer = decide(booking(balance_due=4_000), TODAY, NY, override_unpaid=True)
    assert answer == CheckInAnswer(R.OK, "Checked in.")
    assert answer.admits


def test_pending_payment_is_unpaid_and_cannot_be_overridden() -> None:
    b = booking(status=S.PENDING_PAYMENT, balance_due=4_000)
    expected = CheckInAnswer(R.UNPAID, "Payment still pending: $40.00 due.")
    assert decide(b, TODAY, NY) == expected
    # pending_payment -> checked_in is not a lifecycle transition, so the override does not help.
    assert decide(b, TODAY, NY, override_unpaid=True) == expected


@pytest.mark.parametrize("status", list(BookingStatus), ids=str)
@pytest.mark.parametrize("override", [False, True])
def test_only_a_confirmed_booking_for_today_is_ever_admitted(
    status: BookingStatus, override: bool
) -> None:
    answer = decide(booking(status=status, balance_due=4_000), TODAY, NY, override_unpaid=override)
    assert answer.admits is (status is S.CONFIRMED and override)
    assert answer.message.strip()
    assert "BookingStatus" not in answer.message


def test_result_vocabulary() -> None:
    assert {r.value for r in CheckInResult} == {
        "ok",
        "already_checked_in",
        "not_today",
        "cancelled",
        "expired",
        "unpaid",
        "unknown",
    }
