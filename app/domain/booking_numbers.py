"""Booking numbers: ``BK-XXXXXX-XXXX`` from an alphabet people can read aloud and type.

No 0/O, 1/I/L or U: staff read numbers over the phone and scanners are sometimes replaced
by typing. Uniqueness per organization is the database's job (a unique index); the caller
draws again on the rare collision.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_PATTERN = re.compile(rf"BK-[{ALPHABET}]{{6}}-[{ALPHABET}]{{4}}")


def new_booking_number() -> str:
    """A fresh random booking number (about 2^49 possibilities)."""
    head = "".join(secrets.choice(ALPHABET) for _ in range(6))
    tail = "".join(secrets.choice(ALPHABET) for _ in range(4))
    return f"BK-{head}-{tail}"


def is_booking_number(text: str) -> bool:
    """Whether ``text`` is exactly a well-formed booking number."""
    return bool(_PATTERN.fullmatch(text))


def normalize_booking_number(text: str) -> str | None:
    """Read what a person typed or a scanner sent as a booking number, or ``None``.

    Accepts lower case, spaces, missing dashes, and a leading "BK"; maps nothing silently
    into the alphabet (a typo stays a non-match rather than matching someone else's booking).
    """
    if not text.isascii():
        return None
    compact = re.sub(r"[\s\-_]", "", text.strip().upper())
    # "BK" is a prefix only when it is extra: B and K are also in the alphabet.
    if len(compact) == 12 and compact.startswith("BK"):
        compact = compact[2:]
    if len(compact) != 10 or any(c not in ALPHABET for c in compact):
        return None
    return f"BK-{compact[:6]}-{compact[6:]}"
