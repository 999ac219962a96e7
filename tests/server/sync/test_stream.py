"""GET /sync/stream over real HTTP: two service instances on one database, LISTEN/NOTIFY,
and the listener coming back after Postgres drops its connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.server.core.settings import Settings
from app.server.sync.notifier import APPLICATION_NAME
from tests.factories import Org, Staff
from tests.live_server import live_server
from tests.server.helpers import book
from tests.server.sync.conftest import Replica, writer

NOTES = "UPDATE bookings SET notes = %s WHERE id = %s"
WITHIN = 20.0  # generous bound for a notice to cross Postgres and HTTP on a busy machine


@pytest.fixture(scope="module")
def instances(database_url: str) -> Iterator[tuple[str, str]]:
    """Two service instances (uvicorn, each with its own listener) on the test database."""
    settings = Settings(database_url=database_url, run_jobs=False, db_pool_size=4)
    with ExitStack() as stack:
        first = stack.enter_context(live_server(settings, database_url))
        second = stack.enter_context(live_server(settings, database_url))
        yield first, second


class EventStream:
    """The ``cursor`` events of an open stream, read one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next_cursor(self) -> int:
        event, data = None, None
        async with asyncio.timeout(WITHIN):
            async for line in self._lines:
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data = line.removeprefix("data:").strip()
                elif line == "" and data is not None:
                    assert event == "cursor"
                    return int(json.loads(data)["cursor"])
        raise AssertionError("the stream ended")

    async def cursor_reaching(self, wanted: int) -> int:
        while (cursor := await self.next_cursor()) < wanted:
            pass
        return cursor


@asynccontextmanager
async def stream(base_url: str, staff: Staff) -> AsyncIterator[EventStream]:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=WITHIN) as http,
        http.stream("GET", "/api/v1/sync/stream", headers=staff.headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)


async def newest(base_url: str, staff: Staff) -> int:
    async with httpx.AsyncClient(base_url=base_url) as http:
        desk = Replica()
        await desk.catch_up(http, staff)
        return desk.cursor


async def booking_via(base_url: str, org: Org, db: Any) -> dict[str, Any]:
    from tests.factories import make_session

    session_id = await make_session(db, org)
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await book(http, org, session_id)
        assert r.status_code == 201, r.text
        return r.json()


async def test_a_stream_starts_at_the_newest_cursor_and_tells_each_commit(instances, db, org):
    first, _ = instances
    await booking_via(first, org, db)
    async with stream(first, org.front_desk) as events:
        assert await events.next_cursor() == await newest(first, org.front_desk)
        booking = await booking_via(first, org, db)
        cursor = await events.next_cursor()
        async with httpx.AsyncClient(base_url=first) as http:
            desk = Replica()
            desk.cursor = cursor - 1
            await desk.catch_up(http, org.front_desk)
        assert booking["id"] in desk.ids("booking")


async def test_a_change_through_one_instance_reaches_a_stream_on_the_other(
    instances, db, org, other_org
):
    first, second = instances
    async with stream(second, org.front_desk) as ours, stream(second, other_org.front_desk):
        start = await ours.next_cursor()
        booking = await booking_via(first, org, db)
        cursor = await ours.next_cursor()
        assert cursor > start
        async with httpx.AsyncClient(base_url=second) as http:
            desk = Replica()
            desk.cursor = start
            await desk.catch_up(http, org.front_desk)
        assert booking["id"] in desk.ids("booking")


async def test_a_rolled_back_change_is_never_announced(instances, db, database_url, org):
    first, _ = instances
    b = await booking_via(first, org, db)
    async with stream(first, org.front_desk) as events:
        await events.next_cursor()
        async with writer(database_url, org.id) as kept, writer(database_url, org.id) as undone:
            await kept.begin()
            committed = await kept.execute(NOTES, ["kept", b["id"]])
            await undone.begin()
            rolled_back = await undone.execute(
                "UPDATE customers SET notes = 'undone' WHERE id = %s", [b["customer_id"]]
            )
            await undone.rollback()
            await kept.commit()
        # Notices coalesce to the highest cursor, so the higher one rolled back would show.
        assert rolled_back > committed
        assert await events.next_cursor() == committed


async def test_another_organizations_commits_never_reach_a_stream(
    instances, db, database_url, org, other_org
):
    first, _ = instances
    ours = await booking_via(first, org, db)
    theirs = await booking_via(first, other_org, db)
    async with stream(first, org.front_desk) as events:
        await events.next_cursor()
        async with (
            writer(database_url, org.id) as us,
            writer(database_url, other_org.id) as them,
        ):
            await us.begin()
            our_cursor = await us.execute(NOTES, ["ours", ours["id"]])
            await them.begin()
            their_cursor = await them.execute(NOTES, ["theirs", theirs["id"]])
            await them.commit()
            await us.commit()
        assert their_cursor > our_cursor
        assert await events.next_cursor() == our_cursor


async def test_the_stream_keeps_working_after_postgres_drops_the_listener(instances, db, org):
    first, second = instances
    await booking_via(first, org, db)

    async def listeners() -> list[int]:
        async with db.system() as s:
            rows = await s.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
            return sorted(pid for (pid,) in rows)

    async with stream(first, org.front_desk) as on_first, stream(second, org.front_desk) as on_2:
        start = await on_first.next_cursor()
        await on_2.next_cursor()
        before = await listeners()
        assert len(before) >= 2  # these two instances (and any other app of this run)
        async with db.system() as s:
            await s.execute(
                text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) pid"),
                {"pids": before},
            )
        # Each instance reconnects on its own and tells its streams to look again.
        async with asyncio.timeout(WITHIN):
            # Polls Postgres, which has no event to wait on.
            while len(now := await listeners()) != len(before) or set(now) & set(before):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert await on_first.next_cursor() == start
        booking = await booking_via(second, org, db)
        assert await on_first.cursor_reaching(start + 1) > start
        assert await on_2.cursor_reaching(start + 1) > start
        async with httpx.AsyncClient(base_url=first) as http:
            desk = Replica()
            desk.cursor = start
            await desk.catch_up(http, org.front_desk)
        assert booking["id"] in desk.ids("booking")


async def test_a_stream_needs_a_token(instances):
    first, _ = instances
    async with httpx.AsyncClient(base_url=first) as http:
        r = await http.get("/api/v1/sync/stream")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"
