"""Engines and transactions: every request runs as the app role inside its organization.

``Database.tenant(org_id)`` opens a transaction as ``bookingtms_app`` with the organization
set for row-level security; services never commit, the caller's ``async with`` does.
``Database.system()`` is the owner's connection for migrations, CLI commands and jobs that
look across organizations before choosing one.
"""

from __future__ import annotations

import select
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.abc import PQGen
from psycopg.pq import TransactionStatus
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
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


def _drop_if_hung_up(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """On checkout, replace a pooled connection the server has closed (restart, terminate).

    An idle connection is sent nothing, so a readable socket means the server hung up (its
    goodbye, or end of file). Looking costs a system call where ``pool_pre_ping`` costs a
    round trip per transaction; a connection that dies later fails its request, which
    invalidates the pool, and the next request connects afresh.
    """
    try:
        fd = dbapi_connection.driver_connection.pgconn.socket
    except psycopg.OperationalError as exc:  # closed on our side: no socket to look at
        raise DisconnectionError("the connection is closed") from exc
    if _readable(fd):
        raise DisconnectionError("the server closed the connection")


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):  # unlike select(), poll() takes descriptors above 1023
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


class _AppConnection(psycopg.AsyncConnection[Any]):
    """psycopg's connection, keeping its prepared statements when a transaction rolls back."""

    def _rollback_gen(self) -> PQGen[None]:
        # psycopg forgets every prepared statement on ROLLBACK, in case the transaction
        # changed the schema they use. The app role changes no schema, and a refused
        # checkout (a rollback) would otherwise cost the next statements their plans.
        if self._pipeline or self._num_transactions or self._tpc:
            return (yield from super()._rollback_gen())
        if self.pgconn.transaction_status == TransactionStatus.IDLE:
            return None
        yield from self._exec_command(b"ROLLBACK")
        return None


class Database:
    """The service's two engines and the session factories over them."""

    def __init__(self, url: str, *, pool_size: int = 10, lock_timeout_ms: int = 2000) -> None:
        self.url = url
        connect_args: dict[str, Any] = {"options": f"-c lock_timeout={lock_timeout_ms}"}
        # The driver does not send BEGIN: ``_begin_as`` sends it with the transaction's
        # settings in one round trip (psycopg's own BEGIN would be a round trip of its own).
        self.app_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            isolation_level="AUTOCOMMIT",
            connect_args={**connect_args, "async_creator_fn": _AppConnection.connect},
        )
        event.listen(self.app_engine.sync_engine, "connect", _act_as_app_role)
        event.listen(self.app_engine.sync_engine, "checkout", _drop_if_hung_up)
        self.owner_engine: AsyncEngine = create_async_engine(
            url, pool_size=2, max_overflow=4, pool_pre_ping=True, connect_args=connect_args
        )
        self._app_sessions = async_sessionmaker(self.app_engine, expire_on_commit=False)
        self._owner_sessions = async_sessionmaker(self.owner_engine, expire_on_commit=False)

    @asynccontextmanager
    async def anonymous(self) -> AsyncIterator[AsyncSession]:
        """A transaction as the app role with no organization: sees no tenant rows."""
        async with self._app_sessions() as session, session.begin():
            await _begin_as(session, None)
            yield session

    @asynccontextmanager
    async def tenant(self, organization_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A transaction as the app role, isolated to ``organization_id`` by RLS."""
        async with self._app_sessions() as session, session.begin():
            await _begin_as(session, organization_id)
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


async def _begin_as(session: AsyncSession, organization_id: uuid.UUID | None) -> None:
    """Begin the transaction scoped as ``set_organization`` does, in one round trip.

    A statement without parameters goes by the simple query protocol, which takes several
    statements at once; the values are a constant and a UUID's canonical text.
    """
    org = str(uuid.UUID(str(organization_id))) if organization_id else ""
    conn = await session.connection()
    await conn.exec_driver_sql(
        f"BEGIN; SELECT set_config('role', '{APP_ROLE}', true), "
        f"set_config('app.org_id', '{org}', true)"
    )
