"""Logging in and out, resolving tokens, and slowing down password guessing."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.roles import Role
from app.server.auth.passwords import verify_password
from app.server.auth.principal import Principal
from app.server.core.db import Database
from app.server.core.errors import TooManyRequests, Unauthorized
from app.server.core.settings import Settings
from app.server.db.models import AuthToken, LoginThrottle, Organization, StaffUser

TOKEN_PREFIX = "btms_"  # noqa: S105 - a prefix, not a secret
FREE_ATTEMPTS = 3
_BAD_LOGIN = "Wrong e-mail or password."


def hash_token(token: str) -> str:
    """The stored form of a bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A fresh token and who it belongs to."""

    token: str
    expires_at: datetime
    principal: Principal
    organization_name: str
    organization_slug: str


def _throttle_delay(failures: int, settings: Settings) -> float:
    if failures < FREE_ATTEMPTS:
        return 0.0
    delay = settings.login_throttle_base_seconds * 2 ** (failures - FREE_ATTEMPTS)
    return min(delay, settings.login_throttle_max_seconds)


async def _check_throttle(session: AsyncSession, email: str, now: datetime) -> None:
    blocked_until = await session.scalar(
        select(LoginThrottle.blocked_until).where(LoginThrottle.email == email)
    )
    if blocked_until is not None and blocked_until > now:
        wait = max(1, int((blocked_until - now).total_seconds() + 0.999))
        raise TooManyRequests(
            f"Too many failed logins. Try again in {wait} seconds.", retry_after=wait
        )


async def _record_failure(
    session: AsyncSession, email: str, now: datetime, settings: Settings
) -> None:
    stmt = (
        insert(LoginThrottle)
        .values(email=email, failures=1, last_failure_at=now, blocked_until=now)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.email],
            set_={"failures": LoginThrottle.failures + 1, "last_failure_at": now},
        )
        .returning(LoginThrottle.failures)
    )
    failures = (await session.execute(stmt)).scalar_one()
    delay = _throttle_delay(failures, settings)
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.email == email)
        .values(blocked_until=now + timedelta(seconds=delay))
    )


async def login(
    db: Database, settings: Settings, email: str, password: str, client: str | None = None
) -> LoginResult:
    """Check the password and issue a token, or refuse with one message for every miss."""
    email = email.strip().lower()
    now = datetime.now(UTC)
    async with db.anonymous() as session:
        await _check_throttle(session, email, now)
        row = (
            await session.execute(text("SELECT * FROM app_staff_for_login(:e)"), {"e": email})
        ).first()
    password_hash = row.password_hash if row is not None and row.active else None
    ok = await asyncio.to_thread(verify_password, password_hash, password)
    if not ok or row is None:
        async with db.anonymous() as session:
            await _record_failure(session, email, now, settings)
        raise Unauthorized(_BAD_LOGIN, code="bad_credentials")

    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.token_ttl_hours)
    async with db.tenant(row.organization_id) as session:
        await session.execute(delete(LoginThrottle).where(LoginThrottle.email == email))
        user = await session.get_one(StaffUser, row.id)
        org = await session.get_one(Organization, row.organization_id)
        user.last_login_at = now
        token_row = AuthToken(
            organization_id=row.organization_id,
            staff_user_id=user.id,
            token_hash=hash_token(token),
            expires_at=expires_at,
            client=(client or "")[:200] or None,
        )
        session.add(token_row)
        await session.flush()
        principal = Principal(
            staff_user_id=user.id,
            organization_id=user.organization_id,
            role=Role(user.role),
            email=user.email,
            name=user.name,
            token_id=token_row.id,
        )
        return LoginResult(token, expires_at, principal, org.name, org.slug)


async def resolve_token(db: Database, token: str) -> Principal:
    """The principal behind a bearer token, or :class:`Unauthorized`."""
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("Not signed in.", code="invalid_token")
    async with db.anonymous() as session:
        row = (
            await session.execute(
                text("SELECT * FROM app_token_lookup(:h)"), {"h": hash_token(token)}
            )
        ).first()
    if row is None:
        raise Unauthorized("Your session has expired. Please sign in again.", code="invalid_token")
    return Principal(
        staff_user_id=row.staff_user_id,
        organization_id=row.organization_id,
        role=Role(row.role),
        email=row.email,
        name=row.name,
        token_id=row.token_id,
    )


async def logout(session: AsyncSession, principal: Principal) -> None:
    """Revoke the token the principal signed in with."""
    await session.execute(
        update(AuthToken)
        .where(AuthToken.id == principal.token_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def organization_of(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    """The principal's organization (the session is already scoped to it)."""
    return await session.get_one(Organization, organization_id)
