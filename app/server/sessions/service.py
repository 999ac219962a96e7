"""Generating dated sessions from weekly schedules, idempotently."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.server.sessions import repository

MAX_GENERATE_DAYS = 366


async def generate_sessions(
    session: AsyncSession, organization_id: uuid.UUID, start: date, days: int
) -> int:
    """Create the sessions of the next ``days`` days from ``start``; return how many are new.

    Running it twice creates nothing the second time (unique activity and start time).
    Local start times are read in the venue's zone, so 19:00 stays 19:00 across DST.
    """
    activities = {a.id: a for a in await repository.list_activities(session)}
    venues = await repository.venues_by_id(session)
    rows: list[dict[str, object]] = []
    for rule in await repository.schedules(session):
        activity = activities.get(rule.activity_id)
        if activity is None:
            continue
        zone = ZoneInfo(venues[activity.venue_id].timezone)
        for offset in range(days):
            day = start + timedelta(days=offset)
            if day.weekday() != rule.weekday:
                continue
            if rule.valid_from is not None and day < rule.valid_from:
                continue
            if rule.valid_until is not None and day > rule.valid_until:
                continue
            starts_at = datetime.combine(day, rule.start_time, tzinfo=zone)
            rows.append(
                {
                    "organization_id": organization_id,
                    "activity_id": activity.id,
                    "starts_at": starts_at,
                    "ends_at": starts_at + timedelta(minutes=activity.duration_minutes),
                    "capacity": rule.capacity or activity.capacity,
                    "reserved": 0,
                    "status": "open",
                }
            )
    created = 0
    for chunk in range(0, len(rows), 1000):
        created += await repository.insert_sessions(session, rows[chunk : chunk + 1000])
    return created
