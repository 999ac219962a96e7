"""Factories for test data: an organization with a venue, activities, sessions and staff.

Every test makes its own organizations (random slugs), so tests never see each other's
rows: row-level security isolates them exactly as it isolates real venues.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from app.domain.roles import Role
from app.server.auth.passwords import hash_password
from app.server.auth.service import TOKEN_PREFIX, hash_token
from app.server.core.db import Database
from app.server.db.models import (
    Activity,
    ActivitySchedule,
    ActivitySession,
    AuthToken,
    Organization,
    StaffUser,
    Venue,
)

PASSWORD = "correct horse battery staple"
_session_offsets = itertools.count()


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class Staff:
    id: uuid.UUID
    email: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Org:
    id: uuid.UUID
    slug: str
    timezone: str
    venue_id: uuid.UUID
    activity_id: uuid.UUID
    staff: dict[Role, Staff] = field(default_factory=dict)

    @property
    def front_desk(self) -> Staff:
        return self.staff[Role.FRONT_DESK]

    @property
    def manager(self) -> Staff:
        return self.staff[Role.MANAGER]

    @property
    def admin(self) -> Staff:
        return self.staff[Role.ADMIN]

    def now_local(self) -> datetime:
        return datetime.now(UTC).astimezone(ZoneInfo(self.timezone))


DAYTIME_ZONES = ("America/New_York", "Europe/London", "Asia/Tokyo")


def daytime_zone() -> str:
    """A venue time zone where it is now between 06:00 and 18:00.

    Sessions a test makes "in two hours" then fall on the venue's today at whatever hour
    the suite runs, so door rules ("not today", "too early") never depend on the clock.
    The three zones' daytimes cover every hour of UTC.
    """
    for zone in DAYTIME_ZONES:
        if 6 <= datetime.now(ZoneInfo(zone)).hour < 18:
            return zone
    raise AssertionError("the three zones' daytimes cover every hour")


async def make_org(
    db: Database,
    *,
    timezone: str | None = None,
    capacity: int = 10,
    adult_price: int = 3000,
    child_price: int = 1500,
) -> Org:
    """An organization with one venue, one activity and one member of staff per role.

    The venue is in ``timezone``, by default one where it is daytime now.
    """
    timezone = timezone or daytime_zone()
    slug = f"org-{secrets.token_hex(5)}"
    async with db.system() as s:
        org = Organization(name=f"Venue {slug}", slug=slug, currency="USD", platform_fee_bps=0)
        s.add(org)
        await s.flush()
        venue = Venue(organization_id=org.id, name=f"Venue {slug}", timezone=timezone,
                      address="1 Main St\nSpringfield")
        s.add(venue)
        await s.flush()
        activity = Activity(
            organization_id=org.id, venue_id=venue.id, name="Mystery Room",
            description="", what_to_bring="", duration_minutes=60, capacity=capacity,
            currency="USD", adult_price=adult_price, child_price=child_price, min_adults=1,
            active=True,
        )
        s.add(activity)
        await s.flush()
        result = Org(org.id, slug, timezone, venue.id, activity.id)
        for role in Role:
            token = TOKEN_PREFIX + secrets.token_urlsafe(24)
            user = StaffUser(
                organization_id=org.id, email=f"{role.value}@{slug}.test",
                name=f"{role.label} {slug[-3:]}", role=role.value,
                password_hash=password_hash(), active=True,
            )
            s.add(user)
            await s.flush()
            s.add(AuthToken(organization_id=org.id, staff_user_id=user.id,
                            token_hash=hash_token(token),
                            expires_at=datetime.now(UTC) + timedelta(hours=1)))
            result.staff[role] = Staff(user.id, user.email, role, token)
    return result


async def make_session(
    db: Database, org: Org, *, starts_in: timedelta = timedelta(hours=2),
    starts_at: datetime | None = None, capacity: int | None = None,
) -> uuid.UUID:
    """A session of the org's activity, by default starting two hours from now."""
    # A distinct second per call keeps (activity, starts_at) unique within a test.
    start = starts_at or (datetime.now(UTC) + starts_in).replace(microsecond=0) + timedelta(
        seconds=next(_session_offsets)
    )
    async with db.tenant(org.id) as s:
        activity = await s.get_one(Activity, org.activity_id)
        row = ActivitySession(
            organization_id=org.id, activity_id=org.activity_id, starts_at=start,
            ends_at=start + timedelta(minutes=activity.duration_minutes),
            capacity=capacity if capacity is not None else activity.capacity,
            reserved=0, status="open",
        )
        s.add(row)
        await s.flush()
        return row.id


async def make_schedule(db: Database, org: Org, weekday: int, at: time) -> None:
    async with db.tenant(org.id) as s:
        s.add(ActivitySchedule(organization_id=org.id, activity_id=org.activity_id,
                               weekday=weekday, start_time=at))


def local_today_session_start(org: Org) -> datetime:
    """A start time later today in the venue's zone (or in an hour if that is tomorrow)."""
    now = org.now_local()
    start = now + timedelta(hours=1)
    if start.date() != now.date():
        start = now + timedelta(minutes=5)
    return start.replace(microsecond=0)


async def make_activity(
    db: Database, org: Org, *, name: str = "Laser Maze", adult_price: int = 4000,
    child_price: int = 2000, capacity: int = 10, min_adults: int = 1,
) -> uuid.UUID:
    """Another activity of the org's venue (a reschedule may move a booking to it)."""
    async with db.tenant(org.id) as s:
        activity = Activity(
            organization_id=org.id, venue_id=org.venue_id, name=name, description="",
            what_to_bring="", duration_minutes=60, capacity=capacity, currency="USD",
            adult_price=adult_price, child_price=child_price, min_adults=min_adults, active=True,
        )
        s.add(activity)
        await s.flush()
        return activity.id


async def make_activity_session(
    db: Database, org: Org, activity_id: uuid.UUID, *, starts_at: datetime,
    capacity: int = 10,
) -> uuid.UUID:
    """A session of ``activity_id`` starting at ``starts_at``."""
    async with db.tenant(org.id) as s:
        row = ActivitySession(
            organization_id=org.id, activity_id=activity_id, starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1), capacity=capacity, reserved=0, status="open",
        )
        s.add(row)
        await s.flush()
        return row.id


async def make_promo(
    db: Database, org: Org, code: str, *, kind: str = "percent", value: int = 1000,
    valid_until: datetime | None = None, usage_limit: int | None = None,
) -> uuid.UUID:
    """A promo code: ``value`` is basis points (percent) or minor units (fixed)."""
    from app.server.db.models import PromoCode

    async with db.tenant(org.id) as s:
        row = PromoCode(
            organization_id=org.id, code=code, kind=kind, value=value,
            currency="USD" if kind == "fixed" else None, valid_until=valid_until,
            usage_limit=usage_limit, times_used=0, active=True,
        )
        s.add(row)
        await s.flush()
        return row.id
