"""The service gets over PostgreSQL closing its pooled connections (a restart, a terminate).

The pool does not ping before each transaction: a connection the server closed while it
sat idle is noticed at checkout and replaced; one that dies after that fails its own
request with a clear 503, and the next request works. PostgreSQL cannot be restarted in
CI, so the server's side of a restart is played with ``pg_terminate_backend``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_

from app.server.core.app import create_app
from app.server.core.db import Database
from app.server.core.settings import Settings
from tests.factories import Org


async def _terminate(db: Database, pids: set[int]) -> None:
    """End these backends as a restart would, and wait until they are gone."""
    async with db.system() as s:
        await s.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) pid"),
            {"pids": sorted(pids)},
        )
    async with asyncio.timeout(10):
        while True:
            async with db.system() as s:
                alive = await s.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                    {"pids": sorted(pids)},
                )
            if not alive:
                return
            await asyncio.sleep(0.02)


class Service:
    """The real app with its own small pool, and the backends that pool has opened."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app, self.client = app, client
        self.backends: set[int] = set()
        event.listen(self.db.app_engine.sync_engine, "connect", self._connected)

    @property
    def db(self) -> Database:
        database: Database = self.app.state.db
        return database

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        self.backends.add(dbapi_connection.driver_connection.info.backend_pid)

    async def activities(self, org: Org) -> httpx.Response:
        return await self.client.get(f"/api/v1/public/{org.slug}/activities")


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    settings = Settings(database_url=database_url, run_jobs=False, db_pool_size=3)
    app = create_app(settings, database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield Service(app, client)


async def _busy_pool(service: Service, org: Org) -> None:
    """Open every connection of the pool by answering requests at the same time."""
    answers = await asyncio.gather(*(service.activities(org) for _ in range(3)))
    assert {r.status_code for r in answers} == {200}


async def test_requests_after_the_server_closed_every_idle_connection_just_work(db, org, service):
    await _busy_pool(service, org)
    before = set(service.backends)
    assert before
    await _terminate(db, before)

    answers = [await service.activities(org) for _ in range(5)]

    assert [r.status_code for r in answers] == [200] * 5
    assert answers[0].json()[0]["name"] == "Mystery Room"
    assert service.backends - before  # served by new connections


async def test_a_connection_lost_mid_request_fails_that_request_clearly_and_the_next_works(
    db, org, service
):
    await _busy_pool(service, org)
    lost: list[int] = []

    def server_goes_away(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # Right after the pool's own check: the request has the connection, then loses it.
        if not lost:
            lost.append(dbapi_connection.driver_connection.info.backend_pid)
            await_(_terminate(db, set(lost)))

    engine = service.db.app_engine.sync_engine
    event.listen(engine, "checkout", server_goes_away)
    try:
        failed = await service.activities(org)
    finally:
        event.remove(engine, "checkout", server_goes_away)

    assert failed.status_code == 503
    assert failed.json()["error"]["message"] == "The database could not complete the request."
    assert "Traceback" not in failed.text
    again = await service.activities(org)
    assert again.status_code == 200 and again.json()[0]["name"] == "Mystery Room"


async def test_a_transaction_on_a_lost_connection_raises_and_the_pool_recovers(db, org):
    with pytest.raises(DBAPIError) as lost:
        async with db.tenant(org.id) as s:
            pid = await s.scalar(text("SELECT pg_backend_pid()"))
            await _terminate(db, {pid})
            await s.execute(text("SELECT 1"))
    assert lost.value.connection_invalidated

    async with db.tenant(org.id) as s:
        assert await s.scalar(text("SELECT pg_backend_pid()")) != pid
        assert await s.scalar(text("SELECT current_setting('app.org_id')")) == str(org.id)
