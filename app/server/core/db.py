"""Engines and transactions: every request runs as the app role inside its organization.

``Database.tenant(org_id)`` opens a transaction as ``bookingtms_app`` with the organization
set for row-level security; services never commit, the caller's ``async with`` does.
``Database.system()`` is the owner's connection for migrations, CLI commands and jobs that
look across organizations before choosing one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

APP_ROLE = "bookingtms_app"


def _act_as_app_role(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET ROLE {APP_ROLE}")
    cursor.close()
    # Without a commit the first rollback of the pool would undo the SET ROLE.
    dbapi_connection.commit()


class Database:
    """The service's two engines and the session factories over them."""

    def __init__(self, url: str, *, pool_size: int = 10, lock_timeout_ms: int = 2000) -> None:
        self.url = url
        connect_args = {"options": f"-c lock_timeout={lock_timeout_ms}"}
        self.app_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args=connect_args,
        )
        event.listen(self.app_engine.sync_engine, "connect", _act_as_app_role)
        self.owner_engine: AsyncEngine = create_async_engine(
            url, pool_size=2, max_overflow=4, pool_pre_ping=True, connect_args=connect_args
        )
        self._app_sessions = async_sessionmaker(self.app_engine, expire_on_commit=False)
        self._owner_sessions = async_sessionmaker(self.owner_engine, expire_on_commit=False)

    @asynccontextmanager
    async def anonymous(self) -> AsyncIterator[AsyncSession]:
        """A transaction as the app role with no organization: sees no tenant rows."""
        async with self._app_sessions() as session, session.begin():
            await set_organization(session, None)
            yield session

    @asynccontextmanager
    async def tenant(self, organization_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A transaction as the app role, isolated to ``organization_id`` by RLS."""
        async with self._app_sessions() as session, session.begin():
            await set_organization(session, organization_id)
            yield session

    @asynccontextmanager
    async def system(self) -> AsyncIterator[AsyncSession]:
        """A transaction as the database owner (migrations, CLI, cross-tenant jobs)."""
        async with self._owner_sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.app_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.app_engine.dispose()
        await self.owner_engine.dispose()


async def set_organization(session: AsyncSession, organization_id: uuid.UUID | None) -> None:
    """Scope the current transaction to the app role and one organization (or none).

    Both settings are transaction-local, so nothing carries over to the next user of the
    pooled connection, whatever state an earlier transaction left behind.
    """
    await session.execute(
        text("SELECT set_config('role', :role, true), set_config('app.org_id', :org, true)"),
        {"role": APP_ROLE, "org": str(organization_id) if organization_id else ""},
    )
