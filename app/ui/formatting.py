"""How dates, times and people are written on screen (venue time, day names)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from app.domain.checkin import describe_day


def day_and_time(day: date, start: time, today: date) -> str:
    """``Sat 30 Nov 14:00``, or ``Today 14:00``."""
    label = "Today" if day == today else describe_day(day, today)
    return f"{label} {start:%H:%M}"


def local_datetime(moment: datetime | None, timezone: str, today: date) -> str:
    """A UTC instant as the venue's clock shows it: ``Sat 30 Nov 14:02``; ``–`` for none."""
    if moment is None:
        return "–"
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{describe_day(local.date(), today)} {local:%H:%M}"


def short_date(day: date | None, today: date) -> str:
    """``Sat 30 Nov`` (with the year when not this year); ``–`` for none."""
    return describe_day(day, today) if day else "–"
