"""Contended reservations: many clients reserving seats of one session until it is full.

C asyncio clients reserve parties of 1-4 on the same session (never more seats than the
last refusal said were left, as the widget shows them); when a refusal says no seat is
left they all move on to the next fresh session. Each attempt is the database work of a
checkout exactly as the service does it — ``reserve_hold`` inside ``db.tenant`` (load the
session, write the ``pending_payment`` booking and its event, commit; PostgreSQL takes the
seats under the session's row lock inside the commit) — without the Stripe call. The
clients are spread over ``--processes`` processes (default 2, each with its own pool, on
uvloop), as ``bookingtms server --workers 2`` spreads checkouts; they share the session
they are on. With ``--http`` the same load also goes through the real endpoint of
``bookingtms server --workers N`` (with the Stripe emulator) for end-to-end checkouts/s.

The table gives the CPU per attempt of the load processes and of their PostgreSQL
backends (read from /proc: the server must be local), steadier than the rate on a shared
machine. Afterwards every session is checked: seats reserved == sum of its held bookings'
parties, and never above capacity. A ``pgbench -S``-style ceiling of the same server is
measured in the same run for the ratio, and the ceiling of one hot row (conditional UPDATE
+ COMMIT of one row by the same clients, raw psycopg): what any design could take from one
session.

By default it runs twice: capacity 500, a popular session where most attempts reserve (the
target is judged there), and capacity 40, where 50 clients race for the ~16 reservations
of each session and most attempts are refused (each refusal is a transaction too).

    .venv/bin/python -m bench.reservations [--clients 50] [--duration 15] [--capacity 500,40]
        [--processes 2] [--http]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import random
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableSequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvloop
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from app.server.core.db import Database
from app.server.core.errors import Conflict
from app.server.core.runtime import scratch_database
from app.server.core.settings import Settings
from app.server.payments.checkout import CheckoutRequest, reserve_hold, seats_gone_refusal
from bench.common import (
    Row,
    hot_row_ceiling,
    machine,
    make_sessions,
    ms,
    percentile,
    print_table,
    process_tree_cpu,
    quiet_logs,
    rate,
    report_checks,
    select_ceiling,
    service_process,
)
from tests.factories import Org, make_org

BUSY_SQLSTATES = ("55P03", "40001", "40P01")  # lock timeout, serialization, deadlock
HELD = ("pending_payment", "confirmed")

# (outcome, seats remaining when refused, seats taken)
Outcome = tuple[str, int | None, int]
# (random source, session, largest party worth asking for) -> outcome
Attempt = Callable[[random.Random, uuid.UUID, int], Awaitable[Outcome]]
MAX_PARTY = 4


@dataclass
class Tally:
    """What the clients of one phase saw."""

    reserved: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seats: int = 0
    sessions_filled: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0
    ran_out: bool = False
    warmup: Tally | None = None

    @property
    def all_reserved(self) -> int:
        """Reservations including the warm-up's."""
        return len(self.reserved) + (len(self.warmup.reserved) if self.warmup else 0)

    @property
    def all_errors(self) -> list[str]:
        return self.errors + (self.warmup.errors if self.warmup else [])

    @property
    def attempts(self) -> int:
        return len(self.reserved) + len(self.refused) + len(self.busy) + len(self.errors)


class Probe:
    """Counts the SQL statements sent and times each commit.

    The seats are taken by PostgreSQL inside the COMMIT (migration 0008), so the session's
    row lock is held at most for the commit: one session cannot take more than
    1 / (mean commit) reservations/s.
    """

    def __init__(self, db: Database) -> None:
        self.statements = 0
        self.holds: list[float] = []
        self.backends: set[int] = set()
        self.closed_cpu = 0.0
        engine = db.app_engine.sync_engine
        event.listen(engine, "after_cursor_execute", self._executed)
        event.listen(engine, "connect", self._connected)
        event.listen(engine, "close", self._closing)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        self.backends.add(dbapi_connection.driver_connection.info.backend_pid)

    def _closing(self, dbapi_connection: Any, _record: Any) -> None:
        # The pool closes overflow connections as it goes: count what their backend used.
        pid = dbapi_connection.driver_connection.info.backend_pid
        if pid in self.backends:
            self.backends.discard(pid)
            self.closed_cpu += process_tree_cpu(pid)

    def backend_cpu(self) -> float:
        """CPU seconds used so far by the PostgreSQL backends of this pool (local server)."""
        return self.closed_cpu + sum(process_tree_cpu(pid) for pid in self.backends)

    def _executed(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements += 1
        conn.info["last_statement_at"] = time.perf_counter()

    def committed(self, info: dict[str, Any]) -> None:
        sent_at = info.pop("last_statement_at", None)
        if sent_at is not None:
            self.holds.append(time.perf_counter() - sent_at)


class Sessions:
    """The session every client is on, the seats it is known to have left, and the move to
    a fresh one once it is full.

    Like the widget, which shows the seats left, nobody asks for more seats than the last
    refusal said remained (the figure may be stale, so refusals still happen). ``state``
    (index, seats known left) may be shared memory, so the clients of several processes
    move on together.
    """

    def __init__(self, ids: list[uuid.UUID], state: MutableSequence[int] | None = None) -> None:
        self.ids = ids
        self.state = state if state is not None else [0, MAX_PARTY]

    @property
    def index(self) -> int:
        return self.state[0]

    def current(self) -> tuple[int, uuid.UUID, int] | None:
        index, known_left = self.state[0], self.state[1]
        if index >= len(self.ids):
            return None
        return index, self.ids[index], known_left

    def refused(self, index: int, remaining: int | None) -> None:
        if self.state[0] != index or remaining is None:
            return
        if remaining > 0:
            self.state[1] = min(self.state[1], remaining)
            return
        # The first client to see it full moves everyone on.
        self.state[0] = index + 1
        self.state[1] = MAX_PARTY


def party(rng: random.Random, largest: int) -> tuple[int, int]:
    """(adults, children) for a party of 1 to ``largest`` with at least one adult."""
    size = rng.randint(1, largest)
    adults = rng.randint(1, size)
    return adults, size - adults


async def run_load(
    attempt: Attempt, sessions: Sessions, clients: int, seconds: float, seed: int
) -> Tally:
    """Drive ``attempt`` from ``clients`` tasks for ``seconds``."""
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        while time.perf_counter() < deadline:
            at = sessions.current()
            if at is None:
                tally.ran_out = True
                return
            index, session_id, largest = at
            began = time.perf_counter()
            outcome, remaining, seats = await attempt(rng, session_id, largest)
            took = time.perf_counter() - began
            if outcome == "reserved":
                tally.reserved.append(took)
                tally.seats += seats
            elif outcome == "refused":
                tally.refused.append(took)
                sessions.refused(index, remaining)
            elif outcome == "busy":
                tally.busy.append(took)
            else:
                tally.errors.append(outcome)

    begun, cpu, first = time.perf_counter(), time.process_time(), sessions.index
    await asyncio.gather(*(client(n) for n in range(clients)))
    tally.elapsed = time.perf_counter() - begun
    tally.cpu = time.process_time() - cpu
    tally.sessions_filled = sessions.index - first
    return tally


def direct_attempt(
    db: Database, organization_id: uuid.UUID, hold_minutes: int, probe: Probe
) -> Attempt:
    """One reservation as the service's checkout does it, minus the Stripe call."""

    async def attempt(rng: random.Random, session_id: uuid.UUID, largest: int) -> Outcome:
        adults, children = party(rng, largest)
        request = CheckoutRequest(
            session_id=session_id,
            adult_count=adults,
            child_count=children,
            name="Ada Lovelace",
            email=f"ada+{rng.getrandbits(32)}@example.com",
            phone="+13125550142",
            promo_code=None,
            special_requests="",
        )
        try:
            try:
                async with db.tenant(organization_id) as session:
                    await reserve_hold(
                        session, organization_id, request, datetime.now(UTC), hold_minutes
                    )
                    info = (await session.connection()).info
            except DBAPIError as exc:
                raise seats_gone_refusal(exc) or exc from exc
            probe.committed(info)
        except Conflict as exc:
            return "refused", exc.details.get("remaining"), 0
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in BUSY_SQLSTATES:
                return "busy", None, 0
            return f"database error: {exc.orig!r}"[:200], None, 0
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:200], None, 0
        return "reserved", None, adults + children

    return attempt


def http_attempt(client: httpx.AsyncClient, org: Org) -> Attempt:
    """One checkout through the public endpoint (seats, booking and the Stripe session)."""

    async def attempt(rng: random.Random, session_id: uuid.UUID, largest: int) -> Outcome:
        adults, children = party(rng, largest)
        body = {
            "session_id": str(session_id),
            "adults": adults,
            "children": children,
            "customer": {
                "name": "Ada Lovelace",
                "email": f"ada+{rng.getrandbits(32)}@example.com",
                "phone": "(312) 555-0142",
            },
        }
        try:
            r = await client.post(f"/api/v1/public/{org.slug}/checkout-sessions", json=body)
        except httpx.HTTPError as exc:
            return f"http error: {exc!r}"[:200], None, 0
        if r.status_code == 201:
            return "reserved", None, adults + children
        error = r.json().get("error", {})
        if r.status_code == 409:
            return "refused", error.get("remaining"), 0
        if r.status_code == 503 and error.get("code") == "busy":
            return "busy", None, 0
        return f"HTTP {r.status_code} {error.get('code')}", None, 0

    return attempt


async def check_sessions(db: Database) -> tuple[list[str], dict[str, int]]:
    """Every session's seats against its held bookings; (failures, totals)."""
    async with db.system() as session:
        rows = (
            await session.execute(
                text(
                    """
                    SELECT s.id, s.capacity, s.reserved,
                           COALESCE(SUM(b.party_size) FILTER (WHERE b.status = ANY(:held)), 0),
                           COUNT(b.id) FILTER (WHERE b.status = ANY(:held))
                    FROM activity_sessions s LEFT JOIN bookings b ON b.session_id = s.id
                    GROUP BY s.id
                    """
                ),
                {"held": list(HELD)},
            )
        ).all()
        events = await session.scalar(
            text("SELECT count(*) FROM booking_events WHERE kind = 'created'")
        )
    failures = []
    overbooked = mismatched = 0
    for sid, capacity, reserved, parties, _ in rows:
        if reserved > capacity:
            overbooked += 1
            failures.append(f"session {sid} holds {reserved} seats of {capacity}")
        if reserved != parties:
            mismatched += 1
            failures.append(f"session {sid}: reserved {reserved} but bookings hold {parties}")
    totals = {
        "sessions": len(rows),
        "overbooked": overbooked,
        "mismatched": mismatched,
        "bookings": sum(r[4] for r in rows),
        "seats": sum(r[2] for r in rows),
        "created_events": int(events or 0),
    }
    return failures[:20], totals


def tally_rows(label: str, t: Tally) -> list[Row]:
    return [
        (f"{label}: reservations/s", rate(len(t.reserved), t.elapsed)),
        (f"{label}: refusals/s (409 full)", rate(len(t.refused), t.elapsed)),
        (f"{label}: busy/s (lock timeout)", rate(len(t.busy), t.elapsed)),
        (f"{label}: other errors", str(len(t.errors))),
        (f"{label}: attempts", str(t.attempts)),
        (f"{label}: reservations", str(len(t.reserved))),
        (f"{label}: seats reserved", str(t.seats)),
        (f"{label}: sessions filled", str(t.sessions_filled)),
        (f"{label}: reservation p50 ms", ms(percentile(t.reserved, 50))),
        (f"{label}: reservation p95 ms", ms(percentile(t.reserved, 95))),
        (f"{label}: reservation p99 ms", ms(percentile(t.reserved, 99))),
        (f"{label}: refusal p50 ms", ms(percentile(t.refused, 50))),
        (f"{label}: refusal p99 ms", ms(percentile(t.refused, 99))),
        (f"{label}: elapsed s", f"{t.elapsed:.1f}"),
        (f"{label}: load CPU ms per attempt", f"{t.cpu / max(t.attempts, 1) * 1000:.1f}"),
    ]


# Shared by the load processes (set by ``_join_load``): the session everyone is on, and
# a barrier so that warm-up and measurement start together in every process.
_shared: MutableSequence[int] | None = None
_barrier: Any = None


def _join_load(state: MutableSequence[int], barrier: Any) -> None:
    global _shared, _barrier
    _shared, _barrier = state, barrier


@dataclass
class Measured:
    """What one load process brings back."""

    tally: Tally
    statements: int
    holds: list[float]
    backend_cpu: float = 0.0  # seconds, the load's PostgreSQL backends


def direct_process(
    url: str,
    organization_id: uuid.UUID,
    ids: list[uuid.UUID],
    clients: int,
    seed: int,
    args: argparse.Namespace,
) -> Measured:
    """One load process: its own pool, ``clients`` of the clients, the shared sessions."""
    quiet_logs()

    async def go() -> Measured:
        db = Database(url, pool_size=args.pool, lock_timeout_ms=args.lock_timeout_ms)
        try:
            probe = Probe(db)
            attempt = direct_attempt(db, organization_id, args.hold_minutes, probe)
            sessions = Sessions(ids, _shared)
            await asyncio.to_thread(_barrier.wait)
            warm = await run_load(attempt, sessions, clients, args.warmup, seed=seed)
            probe.statements, probe.holds = 0, []
            await asyncio.to_thread(_barrier.wait)
            backend_cpu = probe.backend_cpu()
            tally = await run_load(attempt, sessions, clients, args.duration, seed=seed + 1)
            tally.warmup = warm
            backend_cpu = probe.backend_cpu() - backend_cpu
            return Measured(tally, probe.statements, probe.holds, backend_cpu)
        finally:
            await db.dispose()

    # The service runs checkouts in uvicorn's event loop, which is uvloop.
    return uvloop.run(go())


def merged(tallies: list[Tally]) -> Tally:
    """The tallies of the load processes as one (elapsed: the longest; CPU: the sum)."""
    total = Tally()
    for t in tallies:
        total.reserved += t.reserved
        total.refused += t.refused
        total.busy += t.busy
        total.errors += t.errors
        total.seats += t.seats
        total.sessions_filled = max(total.sessions_filled, t.sessions_filled)
        total.elapsed = max(total.elapsed, t.elapsed)
        total.cpu += t.cpu
        total.ran_out = total.ran_out or t.ran_out
    warmups = [t.warmup for t in tallies if t.warmup is not None]
    if warmups:
        total.warmup = merged(warmups)
    return total


def run_direct(
    url: str, organization_id: uuid.UUID, ids: list[uuid.UUID], args: argparse.Namespace
) -> Measured:
    """The direct load from ``--processes`` processes, as ``server --workers N`` spreads
    checkouts over N processes, each with its own pool; the clients split between them."""
    context = multiprocessing.get_context("spawn")
    state = context.RawArray("i", [0, MAX_PARTY])
    barrier = context.Barrier(args.processes)
    shares = [
        args.clients // args.processes + (1 if n < args.clients % args.processes else 0)
        for n in range(args.processes)
    ]
    with concurrent.futures.ProcessPoolExecutor(
        args.processes, mp_context=context, initializer=_join_load, initargs=(state, barrier)
    ) as pool:
        futures = [
            pool.submit(direct_process, url, organization_id, ids, share, 10 * (n + 1), args)
            for n, share in enumerate(shares)
        ]
        parts = [f.result() for f in futures]
    return Measured(
        merged([p.tally for p in parts]),
        sum(p.statements for p in parts),
        [h for p in parts for h in p.holds],
        sum(p.backend_cpu for p in parts),
    )


async def bench(url: str, args: argparse.Namespace, *, judged: bool) -> int:
    # Sessions for the whole run: generous, at ~2,000 reservations/s of 2.5 seats.
    per_second = 2000 * 2.5 / args.capacity
    count = int(per_second * (args.duration + args.warmup)) + 50
    db = Database(url, pool_size=4, lock_timeout_ms=args.lock_timeout_ms)
    failures: list[str] = []
    try:
        org = await make_org(db, capacity=args.capacity)
        ids = await make_sessions(db, org, count, args.capacity)
        measured = await asyncio.to_thread(run_direct, url, org.id, ids, args)
        direct, statements, holds = measured.tally, measured.statements, measured.holds
        http = None
        if args.http:
            http_ids = await make_sessions(
                db, org, count, args.capacity, starts_in=timedelta(hours=4)
            )
            http = await asyncio.to_thread(run_http, url, org, http_ids, args)
        ceiling = await select_ceiling(url, args.clients, args.ceiling_seconds)
        hot_two = await hot_row_ceiling(url, args.clients, args.hot_seconds, one_statement=False)
        hot_one = await hot_row_ceiling(url, args.clients, args.hot_seconds, one_statement=True)
        problems, totals = await check_sessions(db)
    finally:
        await db.dispose()
    failures += problems
    counted = 0
    for label, t in (("direct", direct), ("http", http)):
        if t is None:
            continue
        counted += t.all_reserved
        if t.all_errors:
            failures.append(
                f"{label}: {len(t.all_errors)} unexpected errors, first: {t.all_errors[0]}"
            )
        if t.ran_out:
            failures.append(f"{label}: ran out of sessions; raise --capacity or lower --duration")
    if counted != totals["bookings"]:
        failures.append(f"{counted} reservations answered but {totals['bookings']} bookings held")
    if totals["created_events"] != totals["bookings"]:
        failures.append(
            f"{totals['bookings']} held bookings but {totals['created_events']} 'created' events"
        )

    res_rate = len(direct.reserved) / direct.elapsed
    rows: list[Row] = [
        ("clients", str(args.clients)),
        ("load processes (direct)", str(args.processes)),
        ("pool per process (size+overflow)", f"{args.pool}+{args.pool}"),
        ("session capacity", str(args.capacity)),
        ("", ""),
        *tally_rows("direct", direct),
        ("direct: SQL statements per attempt", f"{statements / max(direct.attempts, 1):.1f}"),
        (
            "direct: PostgreSQL backend CPU ms per attempt",
            f"{measured.backend_cpu / max(direct.attempts, 1) * 1000:.1f}",
        ),
        ("direct: commit (seat lock within) p50 ms", ms(percentile(holds, 50))),
        ("direct: commit (seat lock within) p99 ms", ms(percentile(holds, 99))),
        ("direct: 1 / mean commit (per session)", rate(len(holds), sum(holds))),
        ("", ""),
    ]
    if http is not None:
        rows += [*tally_rows("http", http), ("", "")]
    rows += [
        (f"ceiling: PK SELECT tx/s ({args.clients} conns)", f"{ceiling:.0f}"),
        ("ratio reservations/s ÷ ceiling", f"{res_rate / ceiling:.3f}"),
        ("hot row: UPDATE, COMMIT (2 round trips) tx/s", f"{hot_two:.0f}"),
        ("hot row: one autocommit UPDATE tx/s", f"{hot_one:.0f}"),
        ("ratio reservations/s ÷ hot row (2 trips)", f"{res_rate / hot_two:.3f}"),
        ("", ""),
        ("sessions checked", str(totals["sessions"])),
        ("held bookings", str(totals["bookings"])),
        ("seats held", str(totals["seats"])),
        ("mismatched sessions", str(totals["mismatched"])),
        ("overbooked sessions", str(totals["overbooked"])),
    ]
    print_table(
        f"Contended reservations — {machine()}\n"
        "direct = reserve_hold in db.tenant: the DB work of a checkout, without the Stripe call"
        + (
            "\nhttp = POST checkout-sessions to bookingtms server --workers N, Stripe emulator"
            if http is not None
            else ""
        ),
        rows,
    )
    if judged:
        print(
            f"target: >= 400 reservations/s on 2 cores (capacity {args.capacity}) -> "
            f"{res_rate:.0f}/s {'met' if res_rate >= 400 else 'MISSED'}"
        )
    else:
        attempts = direct.attempts / direct.elapsed
        print(
            f"capacity {args.capacity}: {res_rate:.0f} reservations/s of {attempts:.0f} "
            f"attempts/s ({len(direct.refused) / max(direct.attempts, 1):.0%} refused: "
            f"{args.clients} clients race for each session's last seats); the target is "
            "judged on the first capacity"
        )
    return report_checks(failures)


def run_http(url: str, org: Org, ids: list[uuid.UUID], args: argparse.Namespace) -> Tally:
    """The same load through the real endpoint of ``bookingtms server --workers N`` (N =
    ``--processes``), with the emulator as Stripe (in a thread here)."""
    from app.stripe_emulator import run_emulator_in_thread

    key = "sk_test_" + secrets.token_hex(12)
    with run_emulator_in_thread(webhook_delay=0) as emulator:
        settings = {
            "stripe_secret_key": key,
            "stripe_api_base": emulator.url,
            "public_url": "http://widget.example",
            "run_jobs": "false",
            "db_pool_size": str(args.pool),
            "lock_timeout_ms": str(args.lock_timeout_ms),
        }
        with service_process(url, args.processes, **settings) as (base, _):

            async def go() -> Tally:
                limits = httpx.Limits(max_connections=args.clients)
                async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
                    attempt = http_attempt(client, org)
                    sessions = Sessions(ids)
                    warm = await run_load(attempt, sessions, args.clients, args.warmup, seed=3)
                    tally = await run_load(attempt, sessions, args.clients, args.duration, seed=4)
                    tally.warmup = warm
                    return tally

            return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of measured load")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument(
        "--capacity",
        type=_capacities,
        default=[500, 40],
        help="seats per session; a comma-separated list runs the bench for each, and the "
        "target is judged on the first (a popular session with room for many reservations)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="processes driving the direct load (the service runs server --workers 2)",
    )
    defaults = Settings()
    parser.add_argument(
        "--pool",
        type=int,
        default=defaults.db_pool_size,
        help="SQLAlchemy pool size (overflow as many again), as the service's",
    )
    parser.add_argument("--lock-timeout-ms", type=int, default=defaults.lock_timeout_ms)
    parser.add_argument("--hold-minutes", type=int, default=defaults.hold_minutes)
    parser.add_argument("--ceiling-seconds", type=float, default=5.0)
    parser.add_argument(
        "--hot-seconds", type=float, default=3.0, help="seconds of each one-row UPDATE ceiling"
    )
    parser.add_argument(
        "--http",
        action="store_true",
        help="also run the load through the HTTP endpoint with the emulator",
    )
    args = parser.parse_args(argv)
    quiet_logs()
    outcome = 0
    for n, capacity in enumerate(args.capacity):
        with scratch_database("bench_res") as url:
            one = argparse.Namespace(**{**vars(args), "capacity": capacity})
            outcome |= asyncio.run(bench(url, one, judged=n == 0))
    return outcome


def _capacities(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("a list of seat counts such as 500,40") from None
    if not values or min(values) < MAX_PARTY:
        raise argparse.ArgumentTypeError(f"each capacity must be at least {MAX_PARTY}")
    return values


if __name__ == "__main__":
    sys.exit(main())
