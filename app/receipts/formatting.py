"""Locale-independent formatting of money and dates for receipts.

Month and weekday names come from fixed English tables rather than
``strftime`` so the output does not depend on the process locale (a Qt
application may change it).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

# ISO 4217 minor-unit exponents that differ from the default of 2.
_ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
        "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_FOUR_DECIMAL = frozenset({"CLF", "UYW"})

# Currencies printed with a symbol; every other currency is printed with its code.
_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "CAD": "CA$",
    "AUD": "A$",
}

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

EN_DASH = "\u2013"


def normalize_currency(currency: str) -> str:
    """Return ``currency`` upper-cased, raising :class:`ValueError` unless it is 3 letters."""
    code = currency.strip().upper()
    if not _CURRENCY_RE.match(code):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return code


def currency_exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (0 for JPY, 3 for KWD, ...)."""
    code = normalize_currency(currency)
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    if code in _FOUR_DECIMAL:
        return 4
    return 2


def format_money(minor: int, currency: str) -> str:
    """Format an amount in minor units for display.

    >>> format_money(4000, "USD")
    '$40.00'
    >>> format_money(-123456, "EUR")
    '-€1,234.56'
    >>> format_money(4000, "JPY")
    'JPY 4,000'
    >>> format_money(1500, "KWD")
    'KWD 1.500'

    USD, EUR, GBP, CAD (``CA$``) and AUD (``A$``) use a symbol; other currencies
    are prefixed with their ISO code. Negative amounts get a leading ``-``.
    """
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor must be an int, got {type(minor).__name__}")
    code = normalize_currency(currency)
    exponent = currency_exponent(code)
    sign = "-" if minor < 0 else ""
    major, frac = divmod(abs(minor), 10**exponent)
    number = f"{major:,}"
    if exponent:
        number += f".{frac:0{exponent}d}"
    symbol = _SYMBOLS.get(code)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{code} {number}"


def _local(moment: datetime, zone: tzinfo | str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return moment.astimezone(tz)


def format_date(moment: datetime, zone: tzinfo | str) -> str:
    """``moment``'s date in ``zone``, e.g. ``"Mon 30 Nov 2026"``."""
    local = _local(moment, zone)
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}"


def format_short_datetime(moment: datetime, zone: tzinfo | str) -> str:
    """Compact date and time in ``zone``, e.g. ``"30 Nov 2026 14:05"``."""
    local = _local(moment, zone)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H:%M}"


def format_datetime(moment: datetime, zone: tzinfo | str) -> str:
    """Date and time in ``zone``, e.g. ``"Mon 30 Nov 2026, 14:05"``."""
    return f"{format_date(moment, zone)}, {_local(moment, zone):%H:%M}"


def format_time_range(starts_at: datetime, ends_at: datetime, zone: str) -> str:
    """A session's date and times in the IANA zone ``zone``, naming the zone.

    Same local day: ``"Mon 30 Nov 2026, 14:00-15:00 (America/New_York)"``.
    Across midnight: ``"Mon 30 Nov 2026, 23:00 - Tue 1 Dec 2026, 01:00 (...)"``.
    (The dashes are en dashes, U+2013, in the actual output.)
    """
    start = _local(starts_at, zone)
    end = _local(ends_at, zone)
    if start.date() == end.date():
        text = f"{format_date(start, zone)}, {start:%H:%M}{EN_DASH}{end:%H:%M}"
    else:
        text = f"{format_datetime(start, zone)} {EN_DASH} {format_datetime(end, zone)}"
    return f"{text} ({zone})"
