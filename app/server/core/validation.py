"""Input checks shared by request bodies."""

from __future__ import annotations

from datetime import date

import phonenumbers

from app.server.core.errors import Invalid


def normalise_phone(value: str, region: str = "US") -> str:
    """A phone number in E.164 (+14155550123), or ValueError with a readable reason."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{value!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


EARLIEST_DATE = date(2000, 1, 1)
YEARS_AHEAD = 5


def check_reasonable_date(value: date | None, name: str) -> date | None:
    """Refuse dates no venue could mean (year 9999, 1900) with a readable message."""
    if value is None:
        return None
    latest = date.today().replace(month=1, day=1).replace(year=date.today().year + YEARS_AHEAD)
    if not EARLIEST_DATE <= value <= latest:
        raise Invalid(f"{name} must be between {EARLIEST_DATE} and {latest}.")
    return value
