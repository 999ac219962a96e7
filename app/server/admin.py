"""Operator tasks run from the command line: organizations, staff users, sessions."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text

from app.domain.lifecycle import local_today
from app.domain.roles import Role
from app.server.auth.passwords import hash_password, password_problem
from app.server.core.db import Database
from app.server.core.errors import Conflict, Invalid, NotFound
from app.server.db.models import Organization, StaffUser, Venue
from app.server.sessions import repository as sessions_repository
from app.server.sessions.service import generate_sessions


async def create_organization(
    db: Database,
    *,
    name: str,
    slug: str,
    timezone: str,
    currency: str = "USD",
    venue_name: str | None = None,
    address: str = "",
) -> Organization:
    """A new organization with its first venue."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"{timezone!r} is not a time zone (try Europe/London).") from exc
    async with db.system() as session:
        if await session.scalar(select(Organization.id).where(Organization.slug == slug)):
            raise Conflict(f"An organization with slug {slug!r} exists already.")
        org = Organization(
            name=name, slug=slug.lower(), currency=currency.upper(), platform_fee_bps=0
        )
        session.add(org)
        await session.flush()
        session.add(
            Venue(
                organization_id=org.id, name=venue_name or name, timezone=timezone, address=address
            )
        )
        return org


async def organization_id(db: Database, slug: str) -> uuid.UUID:
    """The id of the organization with ``slug``."""
    async with db.anonymous() as session:
        org_id = await session.scalar(text("SELECT app_org_by_slug(:s)"), {"s": slug})
    if org_id is None:
        raise NotFound(f"No organization with slug {slug!r}.")
    return uuid.UUID(str(org_id))


async def create_staff_user(
    db: Database, *, org_slug: str, email: str, name: str, role: Role, password: str
) -> StaffUser:
    """A staff account in the organization ``org_slug``."""
    problem = password_problem(password)
    if problem:
        raise Invalid(problem)
    org_id = await organization_id(db, org_slug)
    async with db.anonymous() as lookup:
        taken = (
            await lookup.execute(text("SELECT id FROM app_staff_for_login(:e)"), {"e": email})
        ).first()
    if taken:
        raise Conflict(f"{email} already has a staff account.")
    async with db.tenant(org_id) as session:
        user = StaffUser(
            organization_id=org_id,
            email=email.strip().lower(),
            name=name,
            role=role.value,
            password_hash=hash_password(password),
            active=True,
        )
        session.add(user)
        await session.flush()
        return user


async def generate_all_sessions(db: Database, days: int) -> dict[str, int]:
    """Generate sessions for every organization; returns new sessions per slug."""
    async with db.system() as session:
        orgs = (await session.execute(select(Organization.id, Organization.slug))).all()
    created = {}
    for org_id, slug in orgs:
        async with db.tenant(org_id) as session:
            tz = await sessions_repository.organization_timezone(session)
            today = local_today(tz)
            created[slug] = await generate_sessions(session, org_id, today, days)
    return created
