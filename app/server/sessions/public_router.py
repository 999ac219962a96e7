"""The booking widget's catalog: ``/public/{org_slug}/activities`` and ``…/availability``.

No login: the organization is named by its slug, and every query then runs under its
row-level security like any staff request.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy import select

from app.server.admin import organization_id
from app.server.core.deps import DbDep
from app.server.core.errors import NotFound
from app.server.core.schemas import ResponseBody
from app.server.core.validation import check_reasonable_date
from app.server.db.models import Activity, Venue
from app.server.sessions import repository

router = APIRouter(prefix="/public/{org_slug}", tags=["public"])


class PublicActivity(ResponseBody):
    id: uuid.UUID
    name: str
    description: str
    what_to_bring: str
    duration_minutes: int
    capacity: int
    currency: str
    adult_price: int
    child_price: int
    min_adults: int


class PublicSession(ResponseBody):
    id: uuid.UUID
    starts_at: datetime  # in the venue's time zone (with its offset)
    ends_at: datetime
    capacity: int
    remaining: int
    adult_price: int
    child_price: int
    currency: str
    bookable: bool


class Availability(ResponseBody):
    activity_id: uuid.UUID
    date: date
    timezone: str
    sessions: list[PublicSession]


async def venue_org(db: DbDep, org_slug: str) -> uuid.UUID:
    """The organization behind a public slug, with one message for any unknown slug."""
    try:
        return await organization_id(db, org_slug)
    except NotFound:
        raise NotFound("No venue here; check the booking link.", code="unknown_venue") from None


@router.get("/activities")
async def public_activities(org_slug: str, db: DbDep) -> list[PublicActivity]:
    """What the venue offers."""
    org_id = await venue_org(db, org_slug)
    async with db.tenant(org_id) as session:
        return [PublicActivity.model_validate(a) for a in await repository.list_activities(session)]


@router.get("/availability")
async def public_availability(
    org_slug: str, db: DbDep, activity_id: uuid.UUID, date: date
) -> Availability:
    """Every session of the activity on ``date`` (venue time), with seats left and prices."""
    check_reasonable_date(date, "date")
    org_id = await venue_org(db, org_slug)
    now = datetime.now(UTC)
    async with db.tenant(org_id) as session:
        row = (
            await session.execute(
                select(Activity, Venue.timezone)
                .join(Venue, Venue.id == Activity.venue_id)
                .where(Activity.id == activity_id, Activity.active)
            )
        ).first()
        if row is None:
            raise NotFound("No such activity.")
        activity, timezone = row
        zone = ZoneInfo(timezone)
        day_start = datetime.combine(date, time(0), zone)
        slots = await repository.list_sessions(
            session,
            starts_from=day_start,
            starts_before=datetime.combine(date + timedelta(days=1), time(0), zone),
            activity_id=activity.id,
        )
    return Availability(
        activity_id=activity.id,
        date=date,
        timezone=timezone,
        sessions=[
            PublicSession(
                id=s.id,
                starts_at=s.starts_at.astimezone(zone),
                ends_at=s.ends_at.astimezone(zone),
                capacity=s.capacity,
                remaining=max(s.capacity - s.reserved, 0),
                adult_price=activity.adult_price,
                child_price=activity.child_price,
                currency=activity.currency,
                bookable=s.status == "open" and s.starts_at > now and s.reserved < s.capacity,
            )
            for s in slots
        ],
    )
