"""The demo venue: an escape-room business with weekly schedules and staff to sign in as."""

from __future__ import annotations

import secrets
from datetime import time

from sqlalchemy import select, update

from app.domain.lifecycle import local_today
from app.domain.roles import Role
from app.server.admin import create_organization, create_staff_user
from app.server.auth.passwords import hash_password
from app.server.core.db import Database
from app.server.db.models import Activity, ActivitySchedule, Organization, StaffUser, Venue
from app.server.sessions.service import generate_sessions

DEMO_SLUG = "lantern-escapes"
DEMO_TIMEZONE = "America/Chicago"
DEMO_MANAGER = "manager@lantern-escapes.demo"
DEMO_FRONT_DESK = "desk@lantern-escapes.demo"

# name, minutes, capacity, adult price, child price, weekly start times (Mon..Sun)
ACTIVITIES = (
    ("The Lighthouse Keeper", 60, 8, 3200, 2200, ("17:00", "19:00", "21:00")),
    ("Heist at the Grand Hotel", 75, 10, 3600, 2600, ("16:30", "18:30", "20:30")),
    ("Alchemist's Cellar", 60, 6, 3000, 2000, ("18:00", "20:00")),
    ("Haunted Riverboat Tour", 90, 24, 2800, 1500, ("19:30",)),
)


async def ensure_demo_organization(db: Database, days: int = 30) -> str:
    """Create the demo venue once (later runs keep it) and its coming sessions.

    Returns a fresh random password, set on both demo staff accounts for this run, so no
    password lives in the repository.
    """
    async with db.system() as session:
        org_id = await session.scalar(select(Organization.id).where(Organization.slug == DEMO_SLUG))
    password = secrets.token_urlsafe(12)
    if org_id is None:
        org = await create_organization(
            db,
            name="Lantern Escape Rooms",
            slug=DEMO_SLUG,
            timezone=DEMO_TIMEZONE,
            address="214 Lantern Row\nChicago, IL 60607",
        )
        org_id = org.id
        await create_staff_user(
            db,
            org_slug=DEMO_SLUG,
            email=DEMO_MANAGER,
            name="Morgan Reyes",
            role=Role.MANAGER,
            password=password,
        )
        await create_staff_user(
            db,
            org_slug=DEMO_SLUG,
            email=DEMO_FRONT_DESK,
            name="Sam Ortiz",
            role=Role.FRONT_DESK,
            password=password,
        )
        async with db.tenant(org_id) as session:
            venue_id = (await session.scalars(select(Venue.id))).one()
            for name, minutes, capacity, adult, child, starts in ACTIVITIES:
                activity = Activity(
                    organization_id=org_id,
                    venue_id=venue_id,
                    name=name,
                    description="",
                    what_to_bring="Closed shoes; arrive 15 minutes early.",
                    duration_minutes=minutes,
                    capacity=capacity,
                    currency="USD",
                    adult_price=adult,
                    child_price=child,
                    min_adults=1,
                    active=True,
                )
                session.add(activity)
                await session.flush()
                for weekday in range(7):
                    for start in starts:
                        session.add(
                            ActivitySchedule(
                                organization_id=org_id,
                                activity_id=activity.id,
                                weekday=weekday,
                                start_time=time.fromisoformat(start),
                            )
                        )
    else:
        async with db.tenant(org_id) as session:
            await session.execute(
                update(StaffUser)
                .values(password_hash=hash_password(password))
                .where(StaffUser.email.in_((DEMO_MANAGER, DEMO_FRONT_DESK)))
            )
    async with db.tenant(org_id) as session:
        today = local_today(DEMO_TIMEZONE)
        await generate_sessions(session, org_id, today, days)
    return password
