"""``POST /auth/login``, ``POST /auth/logout``, ``GET /auth/me``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.server.auth import service
from app.server.auth.principal import Principal
from app.server.auth.schemas import (
    LoginRequest,
    LoginResponse,
    MeResponse,
    OrganizationRead,
    StaffRead,
)
from app.server.core.db import Database
from app.server.core.deps import DbDep, SettingsDep, StaffUser
from app.server.sessions.repository import organization_timezone

router = APIRouter(prefix="/auth", tags=["auth"])


async def _organization(db: Database, principal: Principal) -> OrganizationRead:
    async with db.tenant(principal.organization_id) as session:
        org = await service.organization_of(session, principal.organization_id)
        tz = await organization_timezone(session)
        return OrganizationRead(
            id=org.id, name=org.name, slug=org.slug, currency=org.currency, timezone=tz
        )


def _user(principal: Principal) -> StaffRead:
    return StaffRead(
        id=principal.staff_user_id,
        email=principal.email,
        name=principal.name,
        role=principal.role,
    )


@router.post("/login")
async def login(
    body: LoginRequest, request: Request, db: DbDep, settings: SettingsDep
) -> LoginResponse:
    """Exchange e-mail and password for a bearer token."""
    client = body.client or request.headers.get("user-agent")
    result = await service.login(db, settings, body.email, body.password, client)
    return LoginResponse(
        token=result.token,
        expires_at=result.expires_at,
        user=_user(result.principal),
        organization=await _organization(db, result.principal),
    )


@router.post("/logout", status_code=204)
async def logout(principal: StaffUser, db: DbDep) -> None:
    """Revoke the token of this request."""
    async with db.tenant(principal.organization_id) as session:
        await service.logout(session, principal)


@router.get("/me")
async def me(principal: StaffUser, db: DbDep) -> MeResponse:
    """Who the token belongs to."""
    return MeResponse(user=_user(principal), organization=await _organization(db, principal))
