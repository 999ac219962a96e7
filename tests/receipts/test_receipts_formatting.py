from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.receipts.formatting import (
    currency_exponent,
    format_date,
    format_money,
    format_short_datetime,
    format_time_range,
)


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (4000, "USD", "$40.00"),
        (0, "USD", "$0.00"),
        (5, "USD", "$0.05"),
        (123456789, "USD", "$1,234,567.89"),
        (-4000, "USD", "-$40.00"),
        (-5, "USD", "-$0.05"),
        (1550, "EUR", "€15.50"),
        (-123456, "EUR", "-€1,234.56"),
        (999, "GBP", "£9.99"),
        (2500, "CAD", "CA$25.00"),
        (2500, "AUD", "A$25.00"),
        (4000, "JPY", "JPY 4,000"),
        (-4000, "JPY", "-JPY 4,000"),
        (1234567, "KRW", "KRW 1,234,567"),
        (1500, "KWD", "KWD 1.500"),
        (1, "BHD", "BHD 0.001"),
        (-1234567, "KWD", "-KWD 1,234.567"),
        (1999, "CHF", "CHF 19.99"),
        (4000, "usd", "$40.00"),
    ],
)
def test_format_money(minor: int, currency: str, expected: str) -> None:
    assert format_money(minor, currency) == expected


def test_currency_exponent() -> None:
    assert currency_exponent("USD") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KRW") == 0
    assert currency_exponent("KWD") == 3
    assert currency_exponent("BHD") == 3


@pytest.mark.parametrize("bad", ["US", "USDX", "12A", ""])
def test_format_money_rejects_bad_currency(bad: str) -> None:
    with pytest.raises(ValueError):
        format_money(100, bad)


def test_format_money_rejects_non_int() -> None:
    with pytest.raises(TypeError):
        format_money(40.0, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_money(True, "USD")


def test_time_range_in_venue_zone_winter_and_summer() -> None:
    winter = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # EST, UTC-5
    assert (
        format_time_range(winter, winter + timedelta(hours=1), "America/New_York")
        == "Mon 30 Nov 2026, 14:00\u201315:00 (America/New_York)"
    )
    summer = datetime(2026, 7, 4, 19, 0, tzinfo=UTC)  # EDT, UTC-4
    assert (
        format_time_range(summer, summer + timedelta(minutes=90), "America/New_York")
        == "Sat 4 Jul 2026, 15:00\u201316:30 (America/New_York)"
    )


def test_time_range_across_midnight_names_both_dates() -> None:
    start = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 23:00 on 30 Nov in New York
    text = format_time_range(start, start + timedelta(hours=2), "America/New_York")
    assert text == "Mon 30 Nov 2026, 23:00 \u2013 Tue 1 Dec 2026, 01:00 (America/New_York)"


def test_dates_shown_in_zone() -> None:
    moment = datetime(2026, 1, 1, 3, 30, tzinfo=UTC)
    assert format_date(moment, "America/Los_Angeles") == "Wed 31 Dec 2025"
    assert format_short_datetime(moment, "Asia/Tokyo") == "1 Jan 2026 12:30"


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError):
        format_date(datetime(2026, 1, 1), "UTC")
