"""Seeding an organization: sessions, rooms if needed, then the planned rows, written fast.

Three steps. A first transaction makes sure the window has sessions (and, when the
bookings would not fit the venue's rooms, adds copies of the rooms with the same weekly
schedules). The planner then decides everything in memory. Last, the rows are written by
two transactions at once, each with half of the customers and their bookings: every tenant
row fires a trigger writing ``change_log``, so the database's CPU is what a large seed
waits for, and a second connection puts the second core to work. Both commit only once both
have written everything, so a failure while writing leaves no bookings behind (the
sessions and rooms of the first step stay: they are what the schedules call for anyway).
"""

from __future__ import annotations

import asyncio
import json
import re
import time as clock
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import sql
from sqlalchemy import exists, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import local_today
from app.server.bookings.events import Actor
from app.server.core.db import Database
from app.server.core.errors import Invalid
from app.server.db.models import (
    Activity,
    ActivitySchedule,
    ActivitySession,
    Booking,
    Customer,
    Organization,
    PromoCode,
    StaffUser,
    Venue,
)
from app.server.demo_data import DEMO_SLUG, ensure_demo_organization
from app.server.seed_demo.planner import (
    LOST_SHARE,
    MEAN_PARTY,
    TARGET_FILL,
    ActivityFacts,
    Planner,
    Rows,
    Slot,
)
from app.server.seed_demo.vocabulary import PROMOS
from app.server.sessions.repository import organization_timezone
from app.server.sessions.service import MAX_GENERATE_DAYS, generate_sessions

DEFAULT_SEED = 20261124
BATCH = 5_000
ROOM_COPY = re.compile(r" \(room (\d+)\)$")


@dataclass
class SeedReport:
    """What a seed run found or created."""

    organization: str
    slug: str
    skipped: bool = False
    sessions: int = 0
    rooms_added: int = 0
    customers: int = 0
    bookings: int = 0
    payments: int = 0
    refunds: int = 0
    events: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    password: str | None = None  # of the demo staff, when this run created the demo venue

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> list[str]:
        """A summary for people, one fact per line."""
        head = f"{self.organization} ({self.slug})"
        if self.skipped:
            return [f"{head} already has bookings; nothing seeded."]

        def counts(c: dict[str, int]) -> str:
            return ", ".join(f"{k} {v:,}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]))

        rooms = f", {self.rooms_added} rooms added to seat the bookings" if self.rooms_added else ""
        return [
            f"Seeded {head} in {self.seconds:.1f} s:",
            f"  sessions   {self.sessions:,} new{rooms}",
            f"  customers  {self.customers:,} ({counts(self.segments)})",
            f"  bookings   {self.bookings:,} ({counts(self.statuses)})",
            f"  payments   {self.payments:,}, refunds {self.refunds:,}, "
            f"timeline events {self.events:,}",
        ]


ANALYZED_TABLES = (
    "customers",
    "bookings",
    "booking_events",
    "payments",
    "refunds",
    "activity_sessions",
)


async def seed_demo(
    db: Database,
    *,
    customers: int = 300,
    bookings: int = 3000,
    past_days: int = 90,
    future_days: int = 30,
    seed: int = DEFAULT_SEED,
    organization_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> SeedReport:
    """Seed ``organization_id`` (default: the demo venue, created if missing) once.

    Sessions cover ``past_days`` back and ``future_days`` from today on; when they cannot
    seat the bookings, the venue gets copies of its rooms with the same schedules. The same
    ``seed`` and ``now`` give the same data. An organization with bookings is left alone.
    """
    if customers < 1 or bookings < 0 or past_days < 0 or future_days < 1:
        raise Invalid("Seed at least one customer, over a window that reaches today.")
    if past_days + future_days > MAX_GENERATE_DAYS:
        raise Invalid(f"The seed window is at most {MAX_GENERATE_DAYS} days.")
    started = clock.perf_counter()
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    password = None
    if organization_id is None:
        organization_id = await _demo_id(db)
        if organization_id is None:
            password = await ensure_demo_organization(db)
            organization_id = await _demo_id(db)
        assert organization_id is not None

    async with db.tenant(organization_id) as session:
        org = await session.get_one(Organization, organization_id)
        report = SeedReport(org.name, org.slug, password=password)
        if not await _claim(session, organization_id):
            report.skipped = True
            return report
        timezone = await organization_timezone(session)
        today = local_today(timezone, now)
        window = (past_days, future_days)
        slots, report.sessions, report.rooms_added = await _sessions(
            session, organization_id, today, window, bookings
        )
        staff = [
            Actor("staff", staff_id, name)
            for staff_id, name in await session.execute(
                select(StaffUser.id, StaffUser.name)
                .where(StaffUser.active)
                .order_by(StaffUser.email)
            )
        ] or [Actor("staff", None, "Front desk")]
        taken_codes = set(await session.scalars(select(func.upper(PromoCode.code))))
        taken_emails = set(await session.scalars(select(func.lower(Customer.email))))

    planner = Planner(
        Random(seed), organization_id, now, today, ZoneInfo(timezone), slots, staff, window,
        [p for p in PROMOS if p[0] not in taken_codes], taken_emails,
    )  # fmt: skip
    await asyncio.to_thread(planner.run, customers, bookings)

    async with db.tenant(organization_id) as first, db.tenant(organization_id) as second:
        if not await _claim(first, organization_id):
            report.skipped = True
            return report
        promo_codes = planner.promo_codes(org.currency)
        async with asyncio.TaskGroup() as writers:
            writers.create_task(_write(first, {"promo_codes": promo_codes, **planner.parts[0]}))
            writers.create_task(_write(second, planner.parts[1]))
        await _hold_seats(first, slots)
    async with db.system() as session:
        # Tables that just grew by thousands of rows: plan the desk's first queries on
        # real statistics rather than wait for autovacuum to notice.
        await session.execute(text(f"ANALYZE {', '.join(ANALYZED_TABLES)}"))

    parts = planner.parts
    report.customers = sum(len(p["customers"]) for p in parts)
    report.bookings = sum(len(p["bookings"]) for p in parts)
    report.payments = sum(len(p["payments"]) for p in parts)
    report.refunds = sum(len(p["refunds"]) for p in parts)
    report.events = sum(len(p["booking_events"]) for p in parts)
    report.statuses = dict(Counter(b["status"] for p in parts for b in p["bookings"]))
    report.segments = dict(Counter(c["segment"] for p in parts for c in p["customers"]))
    report.seconds = clock.perf_counter() - started
    return report


async def _demo_id(db: Database) -> uuid.UUID | None:
    async with db.system() as session:
        return await session.scalar(select(Organization.id).where(Organization.slug == DEMO_SLUG))


async def _claim(session: AsyncSession, org_id: uuid.UUID) -> bool:
    """Whether the organization is still unseeded; holds off other seeds until commit."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"seed-demo:{org_id}"},
    )
    return not await session.scalar(select(exists().where(Booking.organization_id == org_id)))


async def _sessions(
    session: AsyncSession, org_id: uuid.UUID, today: date, window: tuple[int, int], bookings: int
) -> tuple[list[Slot], int, int]:
    """The window's open sessions, generated from the schedules, with rooms added if needed.

    Returns the sessions, how many were new, and how many rooms were added.
    """
    first, days = today - timedelta(days=window[0]), window[0] + window[1]
    created = await generate_sessions(session, org_id, first, days)
    slots = await _load_slots(session, today, window)
    seats = sum(s.room for s in slots)
    if not seats:
        raise Invalid("The organization has no open sessions to seed: add weekly schedules.")
    copies = int(bookings * (1 - LOST_SHARE) * MEAN_PARTY / TARGET_FILL // seats)
    if not copies:
        return slots, created, 0
    twins = await _add_rooms(session, org_id, copies)
    # A copied room's sessions are its original's (same schedule): copy them rather than
    # generate them, which would cost far more for tens of thousands of sessions.
    copied = [
        Slot(uuid.uuid4(), twin, s.starts_at, s.ends_at, s.day, s.capacity, 0, s.capacity)
        for s in slots
        for twin in twins.get(s.activity.id, ())
    ]
    await _insert(session, "activity_sessions", [
        {"id": s.id, "organization_id": org_id, "activity_id": s.activity.id,
         "starts_at": s.starts_at, "ends_at": s.ends_at, "capacity": s.capacity,
         "reserved": 0, "status": "open"}
        for s in copied
    ])  # fmt: skip
    added = sum(len(t) for t in twins.values())
    return sorted(slots + copied, key=lambda s: s.starts_at), created + len(copied), added


async def _load_slots(session: AsyncSession, today: date, window: tuple[int, int]) -> list[Slot]:
    """The open sessions of the window, in a stable order (ids are random, names are not)."""
    lo = datetime.combine(today - timedelta(days=window[0] + 1), time(0), UTC)
    hi = datetime.combine(today + timedelta(days=window[1] + 1), time(0), UTC)
    zones = dict((await session.execute(select(Venue.id, Venue.timezone))).all())
    facts = {
        a.id: ActivityFacts(a.id, a.venue_id, ZoneInfo(zones[a.venue_id]), a.currency,
                            a.adult_price, a.child_price)
        for a in (await session.scalars(select(Activity).where(Activity.active))).all()
    }  # fmt: skip
    rows = await session.execute(
        select(
            ActivitySession.id,
            ActivitySession.activity_id,
            ActivitySession.starts_at,
            ActivitySession.ends_at,
            ActivitySession.capacity,
            ActivitySession.reserved,
        )
        .join(Activity, Activity.id == ActivitySession.activity_id)
        .where(
            ActivitySession.starts_at >= lo,
            ActivitySession.starts_at < hi,
            ActivitySession.status == "open",
            ActivitySession.capacity > 0,
            Activity.active,
        )
        .order_by(ActivitySession.starts_at, Activity.name)
    )
    slots = []
    for slot_id, activity_id, starts_at, ends_at, capacity, reserved in rows:
        act = facts[activity_id]
        day = (starts_at.astimezone(act.zone).date() - today).days
        if -window[0] <= day < window[1]:
            slots.append(Slot(slot_id, act, starts_at, ends_at, day, capacity, reserved,
                              capacity - reserved))  # fmt: skip
    return slots


async def _add_rooms(
    session: AsyncSession, org_id: uuid.UUID, copies: int
) -> dict[uuid.UUID, list[ActivityFacts]]:
    """``copies`` more of every room, with its weekly schedule: "Heist (room 2)" and on.

    Returns the new rooms by the id of the room they copy.
    """
    activities = (await session.scalars(select(Activity).where(Activity.active))).all()
    numbers = [int(m[1]) for a in activities if (m := ROOM_COPY.search(a.name))]
    first = max(numbers, default=1) + 1
    rules = (await session.scalars(select(ActivitySchedule))).all()
    zones = dict((await session.execute(select(Venue.id, Venue.timezone))).all())
    rows: list[dict[str, Any]] = []
    schedules: list[dict[str, Any]] = []
    twins: dict[uuid.UUID, list[ActivityFacts]] = {}
    for activity in sorted(activities, key=lambda a: a.name):
        if ROOM_COPY.search(activity.name):
            continue
        for n in range(first, first + copies):
            row = {
                c: getattr(activity, c)
                for c in ("venue_id", "description", "what_to_bring", "duration_minutes",
                          "capacity", "currency", "adult_price", "child_price", "min_adults")
            }  # fmt: skip
            row.update(id=uuid.uuid4(), organization_id=org_id, active=True,
                       name=f"{activity.name} (room {n})")  # fmt: skip
            rows.append(row)
            twins.setdefault(activity.id, []).append(
                ActivityFacts(row["id"], activity.venue_id, ZoneInfo(zones[activity.venue_id]),
                              activity.currency, activity.adult_price, activity.child_price)
            )  # fmt: skip
            schedules += [
                {"organization_id": org_id, "activity_id": row["id"], "weekday": r.weekday,
                 "start_time": r.start_time, "capacity": r.capacity,
                 "valid_from": r.valid_from, "valid_until": r.valid_until}
                for r in rules if r.activity_id == activity.id
            ]  # fmt: skip
    if rows:
        await session.execute(insert(Activity), rows)
    if schedules:
        await session.execute(insert(ActivitySchedule), schedules)
    return twins


async def _write(session: AsyncSession, rows: Rows) -> None:
    """Insert rows table by table, in the order of the dict (parents first)."""
    for table, batch in rows.items():
        await _insert(session, table, batch)


async def _hold_seats(session: AsyncSession, slots: list[Slot]) -> None:
    """Set each session's reserved seats to what its bookings now hold."""
    held = [{"id": s.id, "reserved": s.reserved + s.held} for s in slots if s.held]
    if held:
        await session.execute(
            text(
                "UPDATE activity_sessions AS s SET reserved = v.reserved"
                " FROM jsonb_to_recordset(CAST(:held AS jsonb)) AS v(id uuid, reserved int)"
                " WHERE s.id = v.id"
            ),
            {"held": _encode(held)},
        )


async def _insert(session: AsyncSession, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` in the session's transaction, a batch per statement.

    Each batch travels as one JSON document, encoded in a worker thread while the database
    works on the previous one: per-row statements, or SQLAlchemy's per-row parameter
    processing, would spend more CPU than the database itself on this machine's two cores.
    """
    if not rows:
        return
    columns = sql.SQL(", ").join(map(sql.Identifier, rows[0]))
    stmt = sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {columns}"
        " FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb)"
    ).format(table=sql.Identifier(table), columns=columns)
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert driver is not None
    async with driver.cursor() as cursor:
        batches = [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]
        document = asyncio.create_task(asyncio.to_thread(_encode, batches[0]))
        for following in [*batches[1:], None]:
            current = await document
            if following is not None:
                document = asyncio.create_task(asyncio.to_thread(_encode, following))
            await cursor.execute(stmt, [current])


def _encode(rows: list[dict[str, Any]]) -> str:
    # ids, dates and times all read back from their str() form
    return json.dumps(rows, default=str)
