"""Money in minor units: formatting, parsing, arithmetic."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.money import CurrencyMismatch, Money, exponent, format_amount, parse_amount

SYMBOL_CURRENCIES = ["USD", "EUR", "GBP", "CAD", "AUD", "JPY"]
SOME_CURRENCIES = [*SYMBOL_CURRENCIES, "KWD", "BHD", "KRW", "CHF", "XYZ"]


# --- exponent -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "places"),
    [("USD", 2), ("usd", 2), ("EUR", 2), ("JPY", 0), ("jpy", 0), ("KRW", 0), ("KWD", 3)],
)
def test_exponent(currency: str, places: int) -> None:
    assert exponent(currency) == places


def test_unknown_currency_has_two_places() -> None:
    assert exponent("XYZ") == 2


# --- format_amount --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (4_000, "USD", "$40.00"),
        (0, "USD", "$0.00"),
        (5, "USD", "$0.05"),
        (99, "USD", "$0.99"),
        (100_000, "USD", "$1,000.00"),
        (123_456_789, "USD", "$1,234,567.89"),
        (4_000, "usd", "$40.00"),
        (4_050, "EUR", "€40.50"),
        (104_050, "GBP", "£1,040.50"),
        (4_000, "CAD", "CA$40.00"),
        (4_000, "AUD", "A$40.00"),
        (4_000, "JPY", "JPY 4,000"),
        (5, "JPY", "JPY 5"),
        (1_234, "KWD", "KWD 1.234"),
        (1_234_567, "KWD", "KWD 1,234.567"),
        (5, "KWD", "KWD 0.005"),
        (100, "XYZ", "XYZ 1.00"),
        (100, "xyz", "XYZ 1.00"),
        (123_456, "CHF", "CHF 1,234.56"),
    ],
)
def test_format_amount(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (-4_000, "USD", "-$40.00"),
        (-5, "USD", "-$0.05"),
        (-123_456_789, "USD", "-$1,234,567.89"),
        (-4_000, "JPY", "-JPY 4,000"),
        (-1_234, "KWD", "-KWD 1.234"),
        (-100, "XYZ", "-XYZ 1.00"),
    ],
)
def test_format_negative_amounts(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text


def test_money_str_is_the_formatted_amount() -> None:
    assert str(Money(4_000, "usd")) == "$40.00"
    assert str(Money(-1_234, "KWD")) == "-KWD 1.234"


# --- parse_amount -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("40", "USD", 4_000),
        ("40.5", "USD", 4_050),
        ("40.50", "USD", 4_050),
        ("40.05", "USD", 4_005),
        ("0.5", "USD", 50),
        (".5", "USD", 50),
        ("40.", "USD", 4_000),
        ("$1,040.50", "USD", 104_050),
        ("  $40 ", "USD", 4_000),
        ("-40.00", "USD", -4_000),
        ("-$40.00", "USD", -4_000),
        ("€12.34", "EUR", 1_234),
        ("£1,000", "GBP", 100_000),
        ("JPY 4,000", "JPY", 4_000),
        ("4000", "JPY", 4_000),
        ("1.5", "KWD", 1_500),
        ("KWD 1.234", "KWD", 1_234),
        ("XYZ 1.00", "XYZ", 100),
        ("XYZ 1.00", "xyz", 100),
        ("0", "USD", 0),
    ],
)
def test_parse_amount(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("40.505", "USD"),  # too many decimals
        ("0.001", "USD"),
        ("40.5", "JPY"),  # JPY has none
        ("1.2345", "KWD"),
        ("abc", "USD"),
        ("40abc", "USD"),
        ("4o", "USD"),
        ("40.5x", "USD"),
        ("1.2.3", "USD"),
        ("4 0", "USD"),
        ("", "USD"),
        ("   ", "USD"),
        (".", "USD"),
        ("-", "USD"),
        ("$", "USD"),
        ("1e3", "USD"),
    ],
)
def test_parse_amount_refuses(text: str, currency: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text, currency)


def test_parse_amount_refusal_message_quotes_the_input() -> None:
    with pytest.raises(ValueError, match=r"'40\.505'.*2 decimal places"):
        parse_amount("40.505", "USD")
    with pytest.raises(ValueError, match="'abc' is not an amount"):
        parse_amount("abc", "USD")


def test_parse_amount_refuses_a_doubled_minus_sign() -> None:
    # "--40" is a typo, not minus forty dollars.
    with pytest.raises(ValueError):
        parse_amount("--40", "USD")


@pytest.mark.parametrize("currency", SOME_CURRENCIES)
def test_format_then_parse_round_trips_every_currency(currency: str) -> None:
    for minor in [0, 1, -1, 4_000, -4_000, 104_050, 123_456_789]:
        text = format_amount(minor, currency)
        assert parse_amount(text, currency) == minor, text


@given(st.integers(-(10**12), 10**12), st.sampled_from(SOME_CURRENCIES))
def test_format_then_parse_round_trips(minor: int, currency: str) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor


@given(
    st.integers(0, 10**9),
    st.sampled_from(["USD", "EUR", "JPY", "KWD"]),
    st.booleans(),
)
def test_plain_typed_numbers_parse_exactly(whole: int, currency: str, with_fraction: bool) -> None:
    places = exponent(currency)
    if with_fraction and places:
        frac = whole % 10**places
        text = f"{whole}.{frac:0{places}d}"
        expected = whole * 10**places + frac
    else:
        text = str(whole)
        expected = whole * 10**places
    assert parse_amount(text, currency) == expected


# --- Money ----------------------------------------------------------------------------------


def test_money_normalises_the_currency_code() -> None:
    assert Money(100, "usd").currency == "USD"
    assert Money(100, "usd") == Money(100, "USD")


@pytest.mark.parametrize("amount", [1.5, 40.0, Decimal("1.00"), "100", None, True, False])
def test_money_refuses_non_integer_amounts(amount: object) -> None:
    with pytest.raises(TypeError):
        Money(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["US", "USDD", "", "U$D", "12A", "US "])
def test_money_refuses_malformed_currency_codes(currency: str) -> None:
    with pytest.raises(ValueError):
        Money(100, currency)


def test_money_is_immutable() -> None:
    money = Money(100, "USD")
    with pytest.raises(AttributeError):
        money.amount = 5  # type: ignore[misc]


def test_money_arithmetic() -> None:
    a, b = Money(4_000, "USD"), Money(1_550, "usd")
    assert a + b == Money(5_550, "USD")
    assert a - b == Money(2_450, "USD")
    assert b - a == Money(-2_450, "USD")
    assert a * 3 == Money(12_000, "USD")
    assert a * 0 == Money(0, "USD")
    assert a * -1 == Money(-4_000, "USD")


def test_money_multiplication_by_a_fraction_is_refused() -> None:
    with pytest.raises(TypeError):
        Money(4_000, "USD") * 1.5  # type: ignore[operator]


@pytest.mark.parametrize("operation", ["add", "sub"])
def test_currency_mismatch(operation: str) -> None:
    usd, eur = Money(100, "USD"), Money(100, "EUR")
    with pytest.raises(CurrencyMismatch, match=r"USD.*EUR"):
        usd + eur if operation == "add" else usd - eur


def test_currency_mismatch_is_a_value_error() -> None:
    assert issubclass(CurrencyMismatch, ValueError)


def test_same_currency_amounts_compare_by_amount() -> None:
    assert Money(100, "USD") < Money(200, "USD")
    assert max(Money(5, "USD"), Money(7, "USD"), Money(6, "USD")) == Money(7, "USD")


@pytest.mark.parametrize(
    ("amount", "basis_points", "expected"),
    [
        (10_000, 1_000, 1_000),  # 10% of $100
        (4_000, 2_500, 1_000),  # 25% of $40
        (5, 1_000, 1),  # 0.5 cent rounds up
        (15, 1_000, 2),  # 1.5 cents rounds up
        (14, 1_000, 1),  # 1.4 cents rounds down
        (1_999, 875, 175),  # 174.9125 -> 175
        (1_000, 1_250, 125),
        (3, 5_000, 2),  # 1.5 -> 2
        (1, 4_999, 0),  # 0.4999 -> 0
        (1, 5_000, 1),  # 0.5 -> 1
        (4_000, 10_000, 4_000),  # 100%
        (4_000, 0, 0),
    ],
)
def test_percent_rounds_half_up(amount: int, basis_points: int, expected: int) -> None:
    assert Money(amount, "USD").percent(basis_points) == Money(expected, "USD")


def test_percent_keeps_the_currency() -> None:
    assert Money(1_000, "JPY").percent(1_000) == Money(100, "JPY")


@given(st.integers(0, 10**12), st.integers(0, 20_000))
def test_percent_matches_decimal_half_up(amount: int, basis_points: int) -> None:
    exact = Decimal(amount) * Decimal(basis_points) / Decimal(10_000)
    expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert Money(amount, "USD").percent(basis_points).amount == expected
