"""FastAPI dependencies as Annotated aliases: the database, settings, and who is asking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from app.domain.roles import Role
from app.server.auth.principal import Principal
from app.server.auth.service import resolve_token
from app.server.core.db import Database
from app.server.core.errors import Forbidden, Invalid, Unauthorized
from app.server.core.settings import Settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_principal(
    db: DbDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The staff user behind the ``Authorization: Bearer …`` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Not signed in.", code="not_signed_in")
    return await resolve_token(db, token.strip())


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through ``role`` and the roles above it."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.can(role):
            raise Forbidden(f"This needs the {role.label.lower()} role or higher.")
        return principal

    return check


StaffUser = Annotated[Principal, Depends(get_principal)]
ManagerUser = Annotated[Principal, Depends(require(Role.MANAGER))]
AdminUser = Annotated[Principal, Depends(require(Role.ADMIN))]


def idempotency_key(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    """The client's ``Idempotency-Key`` header, checked for a sane shape."""
    if idempotency_key is None:
        return None
    key = idempotency_key.strip()
    if not 8 <= len(key) <= 255 or not key.isprintable():
        raise Invalid("Idempotency-Key must be 8 to 255 printable characters.")
    return key


IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]
