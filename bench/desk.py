"""The desk's Bookings page with 100,000 bookings and 50,000 customers, over its cache.

A scratch database is seeded with ``app.server.seed_demo`` (in a child process) and served
by ``bookingtms server`` (another process), so the figures are the desk's alone. The desk's
cache (a fresh SQLite file) is filled through the sync feed first, as on a desk's first
start; the real main window is then opened offscreen, signed in as the demo manager, and
measured:

- first paint: the window created → the first page of rows painted in the table;
- search: a search sent → the table's rows replaced, over all dates, answered from the
  local cache (p50/p95/max; typing adds the pause the search field waits for first);
- scrolling the whole table: every page fetched as the view reaches the bottom, with the
  worst stall of the GUI loop (how late a 5 ms timer fired) while doing so;
- memory: resident set size before the window opened and after the scroll.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.desk [--bookings 100000]
        [--customers 50000] [--searches 40]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app.server.core.runtime import scratch_database
from bench.common import Row, machine, ms, percentile, print_table, quiet_logs
from bench.desk_start import rss_mb

SEARCHES = (
    "smith", "garc", "nguyen", "olivia", "lee", "patel", "mart", "example.org", "555 01",
    "kim", "rossi", "BK-2", "noah", "sant", "cohen", "adams", "ji-woo", "walsh", "chen", "ava",
)  # fmt: skip


STUCK_SECONDS = 10
GIVE_UP_SECONDS = 300


def seed(url: str, customers: int, bookings: int) -> str:
    """Seed the demo venue (run in a child process); returns the demo password."""
    from sqlalchemy import text

    from app.server.core.db import Database
    from app.server.demo_data import ensure_demo_organization
    from app.server.seed_demo import seed_demo

    async def work() -> str:
        db = Database(url, pool_size=2)
        try:
            password = await ensure_demo_organization(db)
            report = await seed_demo(db, customers=customers, bookings=bookings)
            # Autovacuum would get there in time; without statistics the planner reads the
            # freshly filled tables as empty and picks nested loops over 100,000 rows.
            async with db.system() as session:
                await session.execute(text("ANALYZE"))
            print(f"seeded {report.bookings:,} bookings, {report.customers:,} customers "
                  f"in {report.seconds:.0f} s", flush=True)  # fmt: skip
            return password
        finally:
            await db.dispose()

    return asyncio.run(work())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(url: str) -> tuple[subprocess.Popen[bytes], str]:
    """``bookingtms server`` on a free port, in its own process; waits until it is ready."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "BOOKINGTMS_LOG_LEVEL": "warning",
           "BOOKINGTMS_RUN_JOBS": "false"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "server", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the service did not start")


class Stalls:
    """How late a 5 ms timer fires on the GUI loop: the longest the GUI could not react."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - before - 0.005)

    def start(self) -> None:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return self.worst


async def until(condition: Callable[[], Any]) -> None:
    """Wait until ``condition()`` holds (two minutes at most)."""
    async with asyncio.timeout(120):
        while not condition():  # noqa: ASYNC110 - polls widget state, which has no event
            await asyncio.sleep(0.001)


async def measure(base: str, password: str, searches: int, work: Path) -> list[Row]:
    from PySide6.QtCore import QEvent, QObject, QSettings, Qt
    from PySide6.QtTest import QTest

    from app.server.demo_data import DEMO_MANAGER
    from app.services.api_client import ApiClient
    from app.services.auth import sign_in
    from app.services.desk import DeskServices
    from app.ui.main_window import MainWindow
    from app.ui.settings import DeskSettings
    from app.ui.tasks import TaskRunner

    class PaintWatch(QObject):
        """Notes when the table viewport paints with rows in it."""

        def __init__(self, has_rows: Callable[[], bool]) -> None:
            super().__init__()
            self.at: float | None = None
            self._has_rows = has_rows

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and self.at is None and self._has_rows():
                self.at = time.perf_counter()
            return False

    loop = asyncio.get_running_loop()
    client = ApiClient(base)
    identity, _ = await sign_in(client, DEMO_MANAGER, password)
    errors: list[BaseException] = []
    # A settings file of its own: QSettings saves by replacing its file.
    settings = DeskSettings(QSettings(str(work / "desk.ini"), QSettings.Format.IniFormat))
    services = DeskServices.over(client, identity, data_dir=work)
    services.start(loop)
    synced_from = time.perf_counter()
    if not await services.sync.pull_now(GIVE_UP_SECONDS):
        raise RuntimeError("the first sync did not finish")
    first_sync = time.perf_counter() - synced_from
    rss_before = rss_mb()

    started = time.perf_counter()
    window = MainWindow(services, settings, TaskRunner(loop, errors.append))
    window.runner.on_error = errors.append  # fail the bench rather than show a banner
    page = window.pages["bookings"]
    watch = PaintWatch(lambda: page.model.rowCount() > 0)
    page.table.viewport().installEventFilter(watch)
    window.resize(1440, 900)
    window.show()
    await until(lambda: watch.at is not None)
    first_paint = watch.at - started if watch.at else float("nan")
    today_rows = page.model.rowCount()

    page.filters.range_buttons["all"].click()
    await until(lambda: page.model.rowCount() > 0 and not page.model.loading)
    stamps: list[float] = []
    page.model.modelReset.connect(lambda: stamps.append(time.perf_counter()))
    latencies: list[float] = []
    field = page.filters.search
    for i in range(searches):
        text = SEARCHES[i % len(SEARCHES)]
        stamps.clear()
        field.setText(text)
        sent = time.perf_counter()
        QTest.keyClick(field, Qt.Key.Key_Return)
        await until(lambda: stamps and not page.model.loading)
        latencies.append(stamps[-1] - sent)
    stamps.clear()
    field.setText("")
    QTest.keyClick(field, Qt.Key.Key_Return)
    await until(lambda: stamps and not page.model.loading)

    stalls = Stalls()
    stalls.start()
    pages: list[float] = []
    scroll_started = time.perf_counter()
    stuck = 0
    while page.model.has_more:
        asked = time.perf_counter()
        before = page.model.rowCount()
        reported = False
        async with asyncio.timeout(GIVE_UP_SECONDS):
            # As a person would: keep at the bottom until the next rows are there (the
            # view only asks for more once its scroll range has grown to the last rows).
            while page.model.rowCount() == before and page.model.has_more and not errors:
                page.table.scrollToBottom()
                await asyncio.sleep(0.002)
                if not reported and time.perf_counter() - asked > STUCK_SECONDS:
                    reported = True
                    stuck += 1
                    print(f"page after row {before:,} is late; tasks:", file=sys.stderr)
                    for task in asyncio.all_tasks():
                        task.print_stack(file=sys.stderr)
        if errors:
            raise RuntimeError(f"the desk reported: {errors[0]}")
        pages.append(time.perf_counter() - asked)
    scrolled = time.perf_counter() - scroll_started
    worst_stall = stalls.stop()
    total_rows = page.model.rowCount()
    rss_after = rss_mb()
    page.table.viewport().removeEventFilter(watch)
    window.close()
    window.deleteLater()
    await services.aclose()
    await asyncio.sleep(0.05)  # lets Qt delete the window before Python's teardown
    if errors:
        raise RuntimeError(f"the desk reported: {errors[0]}")

    return [
        ("first sync of the cache through the feed (s)", f"{first_sync:.1f}"),
        ("first paint of the Bookings page (ms)", ms(first_paint)),
        ("  rows in the first page (today)", f"{today_rows:,}"),
        ("", ""),
        (f"search → rows updated, {searches} searches, p50 (ms)", ms(percentile(latencies, 50))),
        ("search → rows updated, p95 (ms) (target ≤ 30)", ms(percentile(latencies, 95))),
        ("search → rows updated, max (ms)", ms(max(latencies))),
        ("", ""),
        ("scroll the whole table: rows", f"{total_rows:,}"),
        ("scroll the whole table: pages fetched", f"{len(pages):,}"),
        ("scroll the whole table: total (s)", f"{scrolled:.1f}"),
        ("  page fetched and shown, p95 (ms)", ms(percentile(pages, 95))),
        ("  worst GUI stall while scrolling (ms)", ms(worst_stall)),
        (f"  pages later than {STUCK_SECONDS} s", str(stuck)),
        ("", ""),
        ("RSS with the cache synced, before the window (MiB)", f"{rss_before:.0f}"),
        ("RSS after scrolling everything (MiB)", f"{rss_after:.0f}"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--searches", type=int, default=40)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    quiet_logs()

    from PySide6.QtWidgets import QApplication

    from app.ui.main import qt_event_loop

    with scratch_database("desk") as url:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            password = pool.apply(seed, (url, args.customers, args.bookings))
        service, base = start_service(url)
        try:
            loop = qt_event_loop()
            QApplication.setQuitOnLastWindowClosed(False)  # the bench closes its window
            with tempfile.TemporaryDirectory(prefix="bench-desk-") as work:
                rows = loop.run_until_complete(measure(base, password, args.searches, Path(work)))
            loop.close()
        finally:
            service.terminate()
            try:
                service.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.kill()
    print_table(
        f"Desk, Bookings page over its cache ({args.bookings:,} bookings, "
        f"{args.customers:,} customers; {machine()})",
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
