"""Money in integer minor units with its currency."""

from __future__ import annotations

from dataclasses import dataclass

# ISO 4217 exponents that differ from 2; everything else has cents.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "UYI": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip
# Currencies shown with a symbol; every other one is shown with its code ("JPY 4,000").
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def normalize_currency(currency: str) -> str:
    """``currency`` upper-cased, or :class:`ValueError` unless it is three ASCII letters."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return code


def exponent(currency: str) -> int:
    """Number of decimal places of ``currency`` (USD 2, JPY 0, KWD 3)."""
    return _EXPONENTS.get(normalize_currency(currency), 2)


def format_amount(minor: int, currency: str) -> str:
    """``4000, "USD"`` → ``"$40.00"``; ``4000, "JPY"`` → ``"JPY 4,000"``."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"amounts are integers in minor units, not {type(minor).__name__}")
    code = normalize_currency(currency)
    places = exponent(code)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    number = f"{whole:,}" + (f".{frac:0{places}d}" if places else "")
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}"


def parse_amount(text: str, currency: str) -> int:
    """Parse a typed amount ("40", "40.5", "$1,040.50") into minor units, exactly."""
    cleaned = text.strip().replace(",", "")
    # Longest first, so "CA$" is not read as "CA" + "$".
    for symbol in sorted(_SYMBOLS.values(), key=len, reverse=True):
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.replace(normalize_currency(currency), "").strip()
    places = exponent(currency)
    negative = cleaned.startswith("-")
    cleaned = cleaned.removeprefix("-").strip()
    whole, _, frac = cleaned.partition(".")
    if not whole.isdigit() and not (whole == "" and frac.isdigit()):
        raise ValueError(f"{text!r} is not an amount")
    if frac and (not frac.isdigit() or len(frac) > places):
        raise ValueError(f"{text!r} has more than {places} decimal places")
    minor = int(whole or "0") * 10**places + int((frac or "0").ljust(places, "0") or "0")
    return -minor if negative else minor


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in minor units (cents) of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money amounts are integers in minor units")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, times: int) -> Money:
        return Money(self.amount * times, self.currency)

    def percent(self, basis_points: int) -> Money:
        """``basis_points``/10,000 of this amount, rounded half up to the minor unit."""
        return Money((self.amount * basis_points + 5_000) // 10_000, self.currency)

    def __str__(self) -> str:
        return format_amount(self.amount, self.currency)
