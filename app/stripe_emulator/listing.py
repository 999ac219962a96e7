"""Stripe list objects with cursor pagination (``limit``, ``starting_after``, ``ending_before``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.stripe_emulator.errors import StripeError, invalid_param
from app.stripe_emulator.params import as_int


def paginate(
    url: str,
    items: Sequence[dict[str, Any]],
    *,
    limit: Any = None,
    starting_after: Any = None,
    ending_before: Any = None,
    object_name: str = "object",
) -> dict[str, Any]:
    """Return ``{"object": "list", "data", "has_more", "url"}`` for already-sorted ``items``.

    ``items`` must be sorted the way Stripe lists them (newest first).
    """
    page_size = 10 if limit in (None, "") else as_int(limit, "limit", minimum=1, maximum=100)
    if starting_after not in (None, "") and ending_before not in (None, ""):
        raise invalid_param(
            "starting_after",
            "You may only specify one of these parameters: ending_before, starting_after.",
        )
    ids = [item["id"] for item in items]
    if starting_after not in (None, ""):
        start = _index(ids, starting_after, object_name, "starting_after") + 1
        page = list(items[start : start + page_size])
        has_more = start + page_size < len(items)
    elif ending_before not in (None, ""):
        end = _index(ids, ending_before, object_name, "ending_before")
        start = max(0, end - page_size)
        page = list(items[start:end])
        has_more = start > 0
    else:
        page = list(items[:page_size])
        has_more = len(items) > page_size
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def _index(ids: list[str], cursor: Any, object_name: str, param: str) -> int:
    try:
        return ids.index(str(cursor))
    except ValueError:
        raise StripeError(
            404,
            f"No such {object_name}: '{cursor}'",
            code="resource_missing",
            param=param,
        ) from None
