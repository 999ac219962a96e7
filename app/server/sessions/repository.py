"""SQL for venues, activities and sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.db.models import Activity, ActivitySchedule, ActivitySession, Venue

DEFAULT_TIMEZONE = "UTC"


async def organization_timezone(session: AsyncSession) -> str:
    """The time zone of the organization's first venue: its "today" for stats and filters."""
    tz = await session.scalar(select(Venue.timezone).order_by(Venue.created_at).limit(1))
    return tz or DEFAULT_TIMEZONE


async def list_activities(session: AsyncSession, *, only_active: bool = True) -> list[Activity]:
    stmt = select(Activity).order_by(Activity.name)
    if only_active:
        stmt = stmt.where(Activity.active)
    return list((await session.scalars(stmt)).all())


async def venues_by_id(session: AsyncSession) -> dict[uuid.UUID, Venue]:
    return {v.id: v for v in (await session.scalars(select(Venue))).all()}


async def schedules(session: AsyncSession) -> list[ActivitySchedule]:
    return list((await session.scalars(select(ActivitySchedule))).all())


async def list_sessions(
    session: AsyncSession,
    *,
    starts_from: datetime,
    starts_before: datetime,
    activity_id: uuid.UUID | None = None,
) -> list[ActivitySession]:
    stmt = (
        select(ActivitySession)
        .where(ActivitySession.starts_at >= starts_from, ActivitySession.starts_at < starts_before)
        .order_by(ActivitySession.starts_at, ActivitySession.id)
    )
    if activity_id is not None:
        stmt = stmt.where(ActivitySession.activity_id == activity_id)
    return list((await session.scalars(stmt)).all())


async def insert_sessions(session: AsyncSession, rows: list[dict[str, object]]) -> int:
    """Insert sessions, skipping those that exist (same activity and start); count new ones."""
    if not rows:
        return 0
    stmt = (
        insert(ActivitySession)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["activity_id", "starts_at"])
        .returning(ActivitySession.id)
    )
    return len((await session.execute(stmt)).all())
