"""The service's change feed: a desk's first full pull of 100,000 bookings and 50,000
customers over HTTP, measured at the client (request → JSON parsed), page size by page size.

The demo venue is seeded (``app.server.seed_demo``, in a child process) into a scratch
database and served by ``bookingtms server`` in its own process; the client pages through
``GET /api/v1/sync/changes`` as the desk does and parses every page, storing nothing (the
desk's cache writes are bench/sync.py's business).

    .venv/bin/python -m bench.sync_feed [--bookings 100000] [--customers 50000]
        [--limits 1000 5000] [--database-url URL (an already seeded database)]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter
from contextlib import ExitStack

import httpx

from app.server.core.runtime import scratch_database
from bench.common import machine, ms, percentile, print_table, quiet_logs, service_process
from bench.desk import seed


def full_pull(base: str, token: str, limit: int) -> list[tuple[str, str]]:
    """Page from cursor 0 until caught up; the figures of that pull."""
    headers = {"Authorization": f"Bearer {token}"}
    entities: Counter[str] = Counter()
    pages: list[float] = []
    received = 0
    cursor = 0
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        started = time.perf_counter()
        while True:
            asked = time.perf_counter()
            r = http.get("/api/v1/sync/changes", params={"since": cursor, "limit": limit})
            r.raise_for_status()
            page = r.json()
            pages.append(time.perf_counter() - asked)
            received += len(r.content)
            entities.update(change["entity"] for change in page["changes"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        seconds = time.perf_counter() - started
    rows = sum(entities.values())
    return [
        (f"limit={limit}: rows received", f"{rows:,}"),
        ("  bookings / customers", f"{entities['booking']:,} / {entities['customer']:,}"),
        ("  sessions / activities", f"{entities['session']:,} / {entities['activity']:,}"),
        ("  pages", f"{len(pages):,}"),
        ("  total (s)", f"{seconds:.2f}"),
        ("  rows per second", f"{rows / seconds:,.0f}"),
        ("  page p50 (ms)", ms(percentile(pages, 50))),
        ("  page p95 (ms)", ms(percentile(pages, 95))),
        ("  MiB received", f"{received / 2**20:.1f}"),
        ("", ""),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--limits", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--database-url", help="use this seeded database instead of a new one")
    args = parser.parse_args(argv)
    quiet_logs()

    from app.server.demo_data import DEMO_MANAGER

    with ExitStack() as stack:
        url = args.database_url or stack.enter_context(scratch_database("syncfeed"))
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            password = pool.apply(seed, (url, args.customers, args.bookings))
        base, _ = stack.enter_context(service_process(url, 1, run_jobs="false"))
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": DEMO_MANAGER, "password": password},
            timeout=30,
        )
        login.raise_for_status()
        token = login.json()["token"]
        rows: list[tuple[str, str]] = []
        for limit in args.limits:
            rows += full_pull(base, token, limit)
    print_table(
        f"Change feed, a desk's first pull over HTTP ({args.bookings:,} bookings, "
        f"{args.customers:,} customers; {machine()})",
        rows[:-1],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
