"""The feed under concurrent writers: a change committed late with a lower cursor is held
back for, never jumped over."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.server.db.models import ActivitySession, Booking
from app.server.sync.feed import read_page
from tests.server.helpers import booked
from tests.server.sync.conftest import Replica, writer

NOTES = "UPDATE bookings SET notes = %s WHERE id = %s"


def page_dict(page) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(page.to_json())


async def test_a_lower_cursor_committed_later_is_waited_for_not_skipped(
    client, db, database_url, org
):
    first = await booked(client, org, db, email="first@example.com")
    second = await booked(client, org, db, email="second@example.com")
    desk = Replica()
    await desk.catch_up(client, org.front_desk)

    async with writer(database_url, org.id) as slow, writer(database_url, org.id) as fast:
        await slow.begin()
        low = await slow.execute(NOTES, ["slow", first["id"]])
        await fast.begin()
        high = await fast.execute(NOTES, ["fast", second["id"]])
        await fast.commit()
        assert low < high

        # The later change is committed, but handing out its cursor would jump over ``low``.
        held = page_dict(await read_page(db, org.id, desk.cursor, 1000, wait_seconds=0))
        assert held["changes"] == [] and held["has_more"]
        assert held["next_cursor"] < low
        desk.apply(held)

        # Given time, the read waits for the slow writer and then hands out both, in order.
        sleeps = []

        async def slow_commits_meanwhile(seconds: float) -> None:
            sleeps.append(seconds)
            await slow.commit()

        page = page_dict(
            await read_page(
                db, org.id, desk.cursor, 1000, wait_seconds=30, sleep=slow_commits_meanwhile
            )
        )
    assert len(sleeps) == 1
    assert [c["cursor"] for c in page["changes"]] == [low, high]
    desk.apply(page)
    assert desk.rows["booking"][first["id"]]["notes"] == "slow"
    assert desk.rows["booking"][second["id"]]["notes"] == "fast"
    assert not page["has_more"]


async def test_another_organizations_writer_in_flight_holds_nobody_back(
    client, db, database_url, org, other_org
):
    ours = await booked(client, org, db)
    theirs = await booked(client, other_org, db)
    desk = Replica()
    await desk.catch_up(client, org.front_desk)
    async with writer(database_url, other_org.id) as slow, writer(database_url, org.id) as fast:
        await slow.begin()
        low = await slow.execute(NOTES, ["theirs, slow", theirs["id"]])
        await fast.begin()
        high = await fast.execute(NOTES, ["ours", ours["id"]])
        await fast.commit()
        assert low < high

        async def must_not_wait(_: float) -> None:
            raise AssertionError("waited for another organization's writer")

        page = page_dict(await read_page(db, org.id, desk.cursor, 1000, sleep=must_not_wait))
        await slow.rollback()
    assert [(c["cursor"], c["row"]["notes"]) for c in page["changes"]] == [(high, "ours")]
    assert not page["has_more"]


async def test_a_rolled_back_writer_releases_the_feed(client, db, database_url, org):
    desk = Replica()
    await desk.catch_up(client, org.front_desk)
    b = await booked(client, org, db)
    async with writer(database_url, org.id) as slow:
        await slow.begin()
        await slow.execute(NOTES, ["never", b["id"]])

        async def rolls_back(_: float) -> None:
            await slow.rollback()

        page = page_dict(await read_page(db, org.id, desk.cursor, 1000, sleep=rolls_back))
    desk.apply(page)
    assert desk.rows["booking"][b["id"]]["notes"] == ""


async def test_many_overlapping_writers_and_a_polling_desk_lose_nothing(
    client, db, database_url, org
):
    bookings = [await booked(client, org, db, email=f"w{i}@example.com") for i in range(4)]
    desk = Replica()
    await desk.catch_up(client, org.front_desk)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    rng = random.Random(5)
    plans = [[rng.random() for _ in range(25)] for _ in range(4)]
    done = asyncio.Event()

    async def write(n: int) -> None:
        async with writer(database_url, org.id) as w:
            for i, pause in enumerate(plans[n]):
                await w.begin()
                await w.execute(NOTES, [f"{n}-{i}", bookings[n]["id"]])
                begins = start + timedelta(minutes=n * 100 + i)
                await w.execute(
                    "INSERT INTO activity_sessions (organization_id, activity_id, starts_at,"
                    " ends_at, capacity, reserved, status) VALUES (%s, %s, %s, %s, 8, 0, 'open')",
                    [org.id, org.activity_id, begins, begins + timedelta(hours=1)],
                )
                # Keep the transaction open a little so commits land out of cursor order.
                await w.conn.execute("SELECT pg_sleep(%s)", [pause * 0.01])
                await w.commit()

    async def poll() -> None:
        while not done.is_set():
            desk.apply(page_dict(await read_page(db, org.id, desk.cursor, 7, wait_seconds=0)))

    poller = asyncio.create_task(poll())
    await asyncio.gather(*(write(n) for n in range(4)))
    done.set()
    await poller
    await desk.catch_up(client, org.front_desk)

    async with db.tenant(org.id) as s:
        sessions = {str(i) for i in await s.scalars(select(ActivitySession.id))}
        notes = dict((str(i), n) for i, n in await s.execute(select(Booking.id, Booking.notes)))
    assert desk.ids("session") == sessions
    assert {i: r["notes"] for i, r in desk.rows["booking"].items()} == notes
    assert desk.pages > 10


async def test_a_writer_that_rolled_back_a_savepoint_is_still_waited_for(
    client, db, database_url, org
):
    first = await booked(client, org, db, email="first@example.com")
    second = await booked(client, org, db, email="second@example.com")
    desk = Replica()
    await desk.catch_up(client, org.front_desk)
    async with writer(database_url, org.id) as slow, writer(database_url, org.id) as fast:
        await slow.begin()
        await slow.conn.execute("SAVEPOINT attempt")
        await slow.execute(NOTES, ["discarded", first["id"]])
        await slow.conn.execute("ROLLBACK TO SAVEPOINT attempt")
        low = await slow.execute(NOTES, ["kept", first["id"]])
        await fast.begin()
        high = await fast.execute(NOTES, ["fast", second["id"]])
        await fast.commit()
        held = page_dict(await read_page(db, org.id, desk.cursor, 1000, wait_seconds=0))
        assert held["changes"] == [] and held["next_cursor"] < low < high
        await slow.commit()
    page = page_dict(await read_page(db, org.id, desk.cursor, 1000))
    assert [c["cursor"] for c in page["changes"]] == [low, high]
