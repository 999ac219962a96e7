"""What the benchmarks share: test data in bulk, Postgres ceilings, figures and the table.

Each bench runs in ``app.server.core.runtime.scratch_database`` (on ``DATABASE_URL`` when
set, else an embedded server), as the tests do.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import insert

from app.server.core.db import Database
from app.server.db.models import ActivitySession
from app.server.jobs import conninfo as libpq
from tests.factories import Org

Row = tuple[str, str]


async def make_sessions(
    db: Database, org: Org, count: int, capacity: int, *, starts_in: timedelta = timedelta(hours=2)
) -> list[uuid.UUID]:
    """``count`` open sessions of the org's activity in one statement, in start order."""
    # One second apart keeps (activity, starts_at) unique; factories' make_session is one
    # transaction per session, too slow for thousands.
    start = (datetime.now(UTC) + starts_in).replace(microsecond=0)
    rows = [
        {
            "organization_id": org.id,
            "activity_id": org.activity_id,
            "starts_at": start + timedelta(seconds=i),
            "ends_at": start + timedelta(seconds=i, minutes=60),
            "capacity": capacity,
            "reserved": 0,
            "status": "open",
        }
        for i in range(count)
    ]
    async with db.tenant(org.id) as session:
        ids = await session.scalars(insert(ActivitySession).returning(ActivitySession.id), rows)
        return list(ids.all())


async def select_ceiling(url: str, clients: int, seconds: float, rows: int = 1000) -> float:
    """A ``pgbench -S``-style ceiling: primary-key SELECTs by ``clients`` connections, tx/s.

    Each client has its own connection in autocommit (one statement is one transaction, as
    pgbench's select-only script), so the figure is what this server and this client
    library can do at best on this machine.
    """
    conninfo = libpq(url)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE bench_accounts (aid int PRIMARY KEY, abalance int NOT NULL, "
            "filler char(84))"
        )
        await conn.execute(
            "INSERT INTO bench_accounts SELECT g, 0, '' FROM generate_series(1, %s) g", (rows,)
        )
        await conn.execute("ANALYZE bench_accounts")
    counts = [0] * clients
    deadline = time.perf_counter() + seconds
    ids = [1 + (i * 7919) % rows for i in range(rows)]

    async def client(n: int) -> None:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            i = n
            while time.perf_counter() < deadline:
                cur = await conn.execute(
                    "SELECT abalance FROM bench_accounts WHERE aid = %s", (ids[i % rows],)
                )
                await cur.fetchone()
                counts[n] += 1
                i += 1

    begun = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - begun
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("DROP TABLE bench_accounts")
    return sum(counts) / elapsed


async def hot_row_ceiling(url: str, clients: int, seconds: float, *, one_statement: bool) -> float:
    """Conditional seat UPDATEs of one row by ``clients`` connections, committed, per second.

    The row lock is held until the commit is durable, so every update of one row waits for
    the previous one's WAL flush: this is the most any design can take from one session
    on this server. ``one_statement`` sends each UPDATE as its own (autocommit)
    transaction; otherwise UPDATE and COMMIT are two round trips, as in the service.
    """
    conninfo = libpq(url)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_hot "
            "(id int PRIMARY KEY, reserved int NOT NULL, capacity int NOT NULL)"
        )
        await conn.execute("TRUNCATE bench_hot")
        await conn.execute("INSERT INTO bench_hot VALUES (1, 0, 2000000000)")
    update = (
        "UPDATE bench_hot SET reserved = reserved + %s "
        "WHERE id = 1 AND reserved + %s <= capacity RETURNING reserved"
    )
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        async with await psycopg.AsyncConnection.connect(
            conninfo, autocommit=one_statement
        ) as conn:
            while time.perf_counter() < deadline:
                cur = await conn.execute(update, (1, 1))
                await cur.fetchone()
                if not one_statement:
                    await conn.commit()
                done += 1

    begun = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - begun
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("DROP TABLE bench_hot")
    return done / elapsed


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    """Seconds as milliseconds for the table."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def rate(count: int, seconds: float) -> str:
    """Events per second for the table."""
    return f"{count / seconds:.0f}" if seconds > 0 else "-"


def machine() -> str:
    """A line saying where the figures come from."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, load average {load}"
    )


def print_table(title: str, rows: Sequence[Row]) -> None:
    """A plain two-column table."""
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 14))
    for name, value in rows:
        if not name:
            print()
            continue
        print(f"{name:<{width}}  {value:>10}")
    print("-" * (width + 14))


def report_checks(failures: Sequence[str]) -> int:
    """Print the verdict; the exit status of the bench (1 when a correctness check failed)."""
    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        return 1
    print("correctness: OK")
    return 0


def quiet_logs() -> None:
    """Keep the service's warnings off the table (the bench counts refusals itself)."""
    import logging

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    for name in ("procrastinate", "uvicorn", "uvicorn.error", "app", "aiohttp"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def service_process(url: str, workers: int, **settings: str) -> Iterator[tuple[str, int]]:
    """``bookingtms server --workers N`` on ``url`` as production runs it: (base URL, pid).

    ``settings`` become ``BOOKINGTMS_<NAME>`` variables. Stopped (SIGTERM) on exit.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "BOOKINGTMS_LOG_LEVEL": "warning"}
    env.update({f"BOOKINGTMS_{name.upper()}": value for name, value in settings.items()})
    command = Path(sys.executable).with_name("bookingtms")
    argv = [str(command), "server", "--workers", str(workers), "--port", str(port)]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.25)
        else:
            raise RuntimeError("the service did not start")
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(60)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its living children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total
