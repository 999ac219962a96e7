"""``GET /activities``, ``GET /sessions``, ``POST /sessions/generate``."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from app.domain.lifecycle import local_today
from app.server.core.deps import DbDep, ManagerUser, StaffUser
from app.server.core.errors import Invalid
from app.server.sessions import repository, service
from app.server.sessions.schemas import (
    ActivityRead,
    GenerateSessionsRequest,
    GenerateSessionsResponse,
    SessionRead,
)

router = APIRouter(tags=["sessions"])

MAX_RANGE_DAYS = 62


@router.get("/activities")
async def list_activities(principal: StaffUser, db: DbDep) -> list[ActivityRead]:
    """The organization's active activities."""
    async with db.tenant(principal.organization_id) as session:
        return [ActivityRead.model_validate(a) for a in await repository.list_activities(session)]


@router.get("/sessions")
async def list_sessions(
    principal: StaffUser,
    db: DbDep,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    activity_id: uuid.UUID | None = None,
) -> list[SessionRead]:
    """Sessions starting between ``from`` and ``to`` (venue dates, inclusive)."""
    async with db.tenant(principal.organization_id) as session:
        zone = ZoneInfo(await repository.organization_timezone(session))
        first = date_from or local_today(zone.key)
        last = date_to or first
        if last < first:
            raise Invalid("'to' must not be before 'from'.")
        if (last - first).days > MAX_RANGE_DAYS:
            raise Invalid(f"Ask for at most {MAX_RANGE_DAYS} days of sessions at once.")
        rows = await repository.list_sessions(
            session,
            starts_from=datetime.combine(first, datetime.min.time(), tzinfo=zone),
            starts_before=datetime.combine(
                last + timedelta(days=1), datetime.min.time(), tzinfo=zone
            ),
            activity_id=activity_id,
        )
        return [
            SessionRead(
                id=s.id,
                activity_id=s.activity_id,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                capacity=s.capacity,
                reserved=s.reserved,
                remaining=s.capacity - s.reserved,
                status=s.status,
            )
            for s in rows
        ]


@router.post("/sessions/generate")
async def generate_sessions(
    body: GenerateSessionsRequest, principal: ManagerUser, db: DbDep
) -> GenerateSessionsResponse:
    """Create the next ``days`` days of sessions from the weekly schedules (idempotent)."""
    async with db.tenant(principal.organization_id) as session:
        zone = ZoneInfo(await repository.organization_timezone(session))
        today = local_today(zone.key)
        created = await service.generate_sessions(
            session, principal.organization_id, today, body.days
        )
    return GenerateSessionsResponse(created=created)
