"""Locale-independent formatting of money and dates for receipts.

Month and weekday names come from fixed English tables rather than
``strftime`` so the output does not depend on the process locale (a Qt
application may change it).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from app.domain.money import exponent as currency_exponent
from app.domain.money import format_amount as format_money
from app.domain.money import normalize_currency

__all__ = ["currency_exponent", "format_money", "normalize_currency"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

EN_DASH = "\u2013"


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
