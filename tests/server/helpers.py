"""Small helpers for service tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from app.domain.roles import Role
from tests.factories import Org, make_session


async def book(
    client: httpx.AsyncClient, org: Org, session_id: uuid.UUID, *, adults: int = 2,
    children: int = 0, email: str = "guest@example.com", staff: str = "front_desk",
    **extra: Any,
) -> httpx.Response:
    """POST a desk booking as one of the org's staff."""
    return await client.post(
        "/api/v1/bookings",
        headers=org.staff[Role(staff)].headers,
        json={"session_id": str(session_id), "adult_count": adults, "child_count": children,
              "email": email, "first_name": "Guest", "last_name": "Person", **extra},
    )


async def booked(client: httpx.AsyncClient, org: Org, db: Any, **kwargs: Any) -> dict[str, Any]:
    """A fresh session and a confirmed desk booking in it; returns the booking."""
    session_args = {k: kwargs.pop(k) for k in ("starts_in", "starts_at", "capacity")
                    if k in kwargs}
    session_id = await make_session(db, org, **session_args)
    r = await book(client, org, session_id, **kwargs)
    assert r.status_code == 201, r.text
    return r.json()


async def reserved_seats(db: Any, org: Org, session_id: uuid.UUID | str) -> int:
    """The session's reserved count, read from the database."""
    from app.server.db.models import ActivitySession

    async with db.tenant(org.id) as s:
        row = await s.get_one(ActivitySession, uuid.UUID(str(session_id)))
        return row.reserved
