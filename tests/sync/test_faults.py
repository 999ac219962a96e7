"""Faults between desks and the service, with the real service and real PostgreSQL: the
service stopped mid-burst, a network that drops and stalls, PostgreSQL restarted, two
desks on one booking, a cancellation the offline desk missed, a desk killed with a queue.

Whatever happens, every action is applied once: nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import func, select

from app.domain.checkin import CheckInResult
from app.domain.roles import Role
from app.server.core.db import Database
from app.server.core.embedded_postgres import EmbeddedPostgres
from app.server.db.migrate import upgrade
from app.server.db.models import Booking, BookingEvent, ClientAction
from app.sync import conflicts, queries
from app.sync.cache import Cache
from app.sync.engine import SyncEngine
from app.sync.remote import SyncApi
from tests.factories import Org, make_org
from tests.live_server import free_port
from tests.sync.conftest import FAST, QUICK_TIMEOUTS, DeskFactory, make_bookings, until
from tests.sync.proxy import Chaos, ChaosProxy
from tests.sync.service import ServiceProcess


async def applied_once(
    db: Database, org: Org, bookings: list[Booking], *, sent: int | None = None
) -> None:
    """Every booking is checked in on the service, by exactly one check-in, and the service
    received ``sent`` actions (default: one per booking)."""
    ids = [b.id for b in bookings]
    async with db.tenant(org.id) as s:
        statuses = set((await s.scalars(select(Booking.status).where(Booking.id.in_(ids)))).all())
        per_booking = (
            await s.execute(
                select(BookingEvent.booking_id, func.count())
                .where(BookingEvent.booking_id.in_(ids), BookingEvent.kind == "check_in")
                .group_by(BookingEvent.booking_id)
            )
        ).all()
        received = await s.scalar(select(func.count()).select_from(ClientAction))
    assert statuses == {"checked_in"}
    assert len(per_booking) == len(ids)
    assert {count for _, count in per_booking} == {1}, "a check-in was applied twice"
    assert received == (len(ids) if sent is None else sent)


def checked_in_locally(desk: SyncEngine, bookings: list[Booking]) -> bool:
    with desk.cache.read() as conn:
        return all(
            (queries.booking(conn, str(b.id)) or {}).get("status") == "checked_in" for b in bookings
        )


def entries(desk: SyncEngine) -> list[conflicts.Conflict]:
    with desk.cache.read() as conn:
        return conflicts.open_entries(conn)


async def scan_all(desk: SyncEngine, bookings: list[Booking]) -> None:
    for booking in bookings:
        result = await desk.scan(booking.booking_number, staff_name="Front", staff_id=None)
        assert result.answer.result is CheckInResult.OK, result.answer.message


@pytest.fixture
def service_process(database_url: str) -> Iterator[ServiceProcess]:
    service = ServiceProcess(database_url).start()
    yield service
    service.stop()


async def test_service_stopped_in_the_middle_of_a_burst(
    db: Database, service_process: ServiceProcess, desks: DeskFactory
) -> None:
    org = await make_org(db)
    bookings = await make_bookings(db, org, 200)
    desk = desks(service_process.url, org.front_desk)
    await until(lambda: desk.status.first_sync_done, "the first sync")

    await scan_all(desk, bookings[:100])
    service_process.stop(signal.SIGKILL)  # whatever batch was on its way
    await scan_all(desk, bookings[100:])  # answered from the cache meanwhile
    await until(lambda: desk.status.online is False, "the desk to notice")
    assert desk.status.waiting > 0
    service_process.start()

    await until(lambda: desk.status.waiting == 0, "the queue to be sent", within=60)
    await applied_once(db, org, bookings)
    assert entries(desk) == []
    assert checked_in_locally(desk, bookings)


async def test_a_network_that_drops_and_stalls_loses_and_doubles_nothing(
    db: Database, service_url: str, desks: DeskFactory
) -> None:
    org = await make_org(db)
    bookings = await make_bookings(db, org, 200)
    target = urlparse(service_url)
    assert target.hostname and target.port
    proxy = await ChaosProxy(
        target.hostname, target.port,
        Chaos(drop=0.08, stall=0.05, stall_seconds=(0.2, 7.0)),
    ).start()  # fmt: skip
    try:
        desk = desks(proxy.url, org.front_desk, options=replace(FAST, page_size=100))
        await until(lambda: desk.status.first_sync_done, "the first sync", within=90)
        await scan_all(desk, bookings)
        await until(lambda: desk.status.waiting == 0, "the queue to be sent", within=120)
        await until(lambda: checked_in_locally(desk, bookings), "the feed", within=60)
    finally:
        await proxy.close()
    assert proxy.dropped > 0 and proxy.stalled > 0  # the network did misbehave
    await applied_once(db, org, bookings)
    assert entries(desk) == []


@pytest.fixture
def own_postgres() -> Iterator[tuple[EmbeddedPostgres, str]]:
    """A PostgreSQL of this test's own (the shared server is never restarted).

    Not under pytest's tmp_path: PostgreSQL runs as pgserver's own user, which must be
    able to reach the directory (as in ``scratch_database``).
    """
    with tempfile.TemporaryDirectory(prefix="bookingtms-sync-pg-") as scratch:
        server = EmbeddedPostgres(Path(scratch) / "pgdata")
        url = server.start()
        try:
            upgrade(url)
            yield server, url
        finally:
            server.stop()


def pg_ctl(server: EmbeddedPostgres, *args: str) -> None:
    import pgserver

    # pgserver runs PostgreSQL as its own user when started as root.
    user = getattr(server._server, "system_user", None)
    pgserver.pg_ctl(["-w", *args], pgdata=server.pgdata, user=user, timeout=60)


async def test_desks_recover_by_themselves_when_postgres_restarts(
    own_postgres: tuple[EmbeddedPostgres, str], desks: DeskFactory
) -> None:
    server, url = own_postgres
    db = Database(url, pool_size=2)
    service = ServiceProcess(url)
    try:
        org = await make_org(db)
        bookings = await make_bookings(db, org, 20)
        service.start()
        front = desks(service.url, org.front_desk, name="front")
        side = desks(service.url, org.manager, name="side")
        await until(lambda: front.status.first_sync_done and side.status.first_sync_done,
                    "both desks' first sync")  # fmt: skip

        await db.dispose()
        pg_ctl(server, "-m", "fast", "stop")
        await scan_all(front, bookings[:10])
        await until(lambda: front.status.online is False, "the desk to notice")
        pg_ctl(server, "restart")  # starts it again with the options it had

        await until(lambda: front.status.waiting == 0, "the queue to be sent", within=60)
        await until(lambda: checked_in_locally(side, bookings[:10]), "the other desk", within=60)
        await scan_all(side, bookings[10:])
        await until(lambda: checked_in_locally(front, bookings), "the first desk", within=60)
        await until(lambda: side.status.waiting == 0, "the second queue", within=60)
        await applied_once(db, org, bookings)
        assert entries(front) == entries(side) == []
    finally:
        service.stop()
        await db.dispose()


@pytest.fixture
async def cut_off(service_url: str) -> Any:
    """A desk's own network link to the service, which a test can pull out."""
    target = urlparse(service_url)
    assert target.hostname and target.port
    proxy = await ChaosProxy(target.hostname, target.port).start()
    yield proxy
    await proxy.close()


async def test_two_desks_check_in_one_booking_while_one_is_offline(
    db: Database, service_url: str, desks: DeskFactory, cut_off: ChaosProxy
) -> None:
    org = await make_org(db)
    (booking,) = await make_bookings(db, org, 1)
    offline = desks(cut_off.url, org.front_desk, name="offline")
    online = desks(service_url, org.manager, name="online")
    await until(lambda: offline.status.first_sync_done and online.status.first_sync_done,
                "both desks' first sync")  # fmt: skip
    cut_off.block()
    await until(lambda: offline.status.online is False, "the desk to go offline")

    await scan_all(offline, [booking])
    await scan_all(online, [booking])
    await until(lambda: online.status.waiting == 0, "the online desk's check-in")
    cut_off.unblock()
    await until(lambda: offline.status.conflicts == 1, "the offline desk's answer")

    manager = f"{Role.MANAGER.label} {org.slug[-3:]}"
    (entry,) = entries(offline)
    assert entry.outcome == "already_done"
    assert entry.sentence.startswith("Checked in offline at ")
    assert entry.sentence.endswith(f"by {manager}.")
    assert " at " in entry.sentence.split(", but ")[1]  # when the other desk did it
    assert entries(online) == []
    await applied_once(db, org, [booking], sent=2)
    await until(lambda: checked_in_locally(offline, [booking]), "the offline desk's copy")
    with offline.cache.read() as conn:
        row = queries.booking(conn, str(booking.id))
    assert row is not None and row["checked_in_by_name"] == manager


async def test_a_booking_cancelled_while_the_desk_was_offline_becomes_a_conflict(
    db: Database, service_url: str, desks: DeskFactory, cut_off: ChaosProxy
) -> None:
    org = await make_org(db)
    (booking,) = await make_bookings(db, org, 1)
    desk = desks(cut_off.url, org.front_desk)
    await until(lambda: desk.status.first_sync_done, "the first sync")
    cut_off.block()
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        r = await http.post(
            f"/bookings/{booking.id}/cancel",
            headers=org.manager.headers,
            json={"reason": "Storm warning"},
        )
        assert r.status_code == 200, r.text

    await scan_all(desk, [booking])  # the desk does not know yet
    cut_off.unblock()
    await until(lambda: desk.status.conflicts == 1, "the refusal")
    (entry,) = entries(desk)
    manager = f"{Role.MANAGER.label} {org.slug[-3:]}"
    assert entry.outcome == "rejected" and entry.code == "cancelled"
    assert entry.sentence.startswith("Checked in offline at ")
    assert ", but the booking was cancelled at " in entry.sentence
    assert entry.sentence.endswith(f"by {manager}.")

    def corrected() -> bool:
        with desk.cache.read() as conn:
            return (queries.booking(conn, str(booking.id)) or {}).get("status") == "cancelled"

    await until(corrected, "the cache to be corrected")


async def test_a_desk_killed_with_50_actions_queued_sends_them_after_restart(
    db: Database, service_url: str, desks: DeskFactory, tmp_path: Path
) -> None:
    org = await make_org(db)
    bookings = await make_bookings(db, org, 50)
    first = desks(service_url, org.front_desk, name="killed")
    await until(lambda: first.status.first_sync_done, "the first sync")
    await first.stop()
    path = tmp_path / "killed.sqlite3"

    nowhere = f"http://127.0.0.1:{free_port()}"
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, read in a thread
        [sys.executable, "-m", "tests.sync.desk_process", str(path), nowhere,
         org.front_desk.token, *(b.booking_number for b in bookings)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
        assert line.strip() == "queued 50 answers ok"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    again = SyncEngine(
        Cache(path), SyncApi(service_url, lambda: org.front_desk.token, timeouts=QUICK_TIMEOUTS),
        timezone=org.timezone, options=FAST,
    )  # fmt: skip
    assert again.status.waiting == 50
    again.start()
    try:
        await until(lambda: again.status.waiting == 0, "the queue to be sent")
        await applied_once(db, org, bookings)
        assert entries(again) == []
    finally:
        await again.stop()
