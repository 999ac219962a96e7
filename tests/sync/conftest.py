"""The cache on disk, filled with a small venue through the feed's own page format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.booking_numbers import new_booking_number
from app.domain.pricing import quote
from app.server.bookings.service import load_session, new_booking
from app.server.core.db import Database
from app.server.core.settings import Settings
from app.server.db.models import Booking
from app.sync import feed
from app.sync.cache import Cache
from app.sync.engine import SyncEngine, SyncOptions
from app.sync.remote import SyncApi, Timeouts
from tests.factories import Org, Staff, local_today_session_start, make_session
from tests.live_server import live_server
from tests.sync import rows

ZONE = ZoneInfo("America/New_York")


@dataclass
class Venue:
    """An activity, today's and a later session, customers and bookings, by first name."""

    today: date
    activity: dict[str, Any]
    session: dict[str, Any]
    later: dict[str, Any]
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    bookings: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    opened = Cache(tmp_path / "cache.sqlite3")
    yield opened
    opened.close()


def apply(
    cache: Cache, changes: list[dict[str, Any]], cursor: int | None = None
) -> feed.PageApplied:
    """Write one page as the puller does."""
    with cache.write() as conn:
        return feed.apply_page(conn, changes, cursor or max(c["cursor"] for c in changes))


@pytest.fixture
def venue(cache: Cache) -> Venue:
    now = datetime.now(ZONE)
    today = now.date()
    activity = rows.activity()
    # Later today (or in the day's last minute, late in the evening).
    start = min(now + timedelta(hours=1), now.replace(hour=23, minute=59, second=0))
    session = rows.session(activity["id"], start)
    later = rows.session(activity["id"], now + timedelta(days=2))
    v = Venue(today, activity, session, later)
    for first, last, phone in (
        ("Alice", "Anders", "+12125550101"),
        ("Bob", "Brown", "+12125550202"),
        ("Carol", "Chen", None),
    ):
        v.customers[first] = rows.customer(first, last, phone=phone)
    v.bookings["Alice"] = rows.booking(activity, session, v.customers["Alice"], today)
    v.bookings["Bob"] = rows.booking(
        activity, session, v.customers["Bob"], today, adult_count=3, amount_paid=0,
        payment_status="unpaid", total_amount=9000, subtotal_amount=9000,
    )  # fmt: skip
    v.bookings["Carol"] = rows.booking(
        activity, later, v.customers["Carol"], today + timedelta(days=2)
    )
    v.bookings["Walk"] = rows.booking(
        activity, session, None, today, contact_name="Wanda Walker",
        contact_email="wanda@example.org", contact_phone="+13125550303",
    )  # fmt: skip
    page = [rows.change("activity", activity), rows.change("session", session),
            rows.change("session", later)]  # fmt: skip
    page += [rows.change("customer", c) for c in v.customers.values()]
    page += [rows.change("booking", b) for b in v.bookings.values()]
    apply(cache, page)
    return v


# The engine against the real service --------------------------------------------------------

FAST = SyncOptions(page_size=500, batch_size=50, poll_seconds=1.0, backoff_first=0.05,
                   backoff_max=1.0)  # fmt: skip
QUICK_TIMEOUTS = Timeouts(connect=2.0, request=5.0, stream=5.0)


async def until(condition: Callable[[], Any], what: str, within: float = 30.0) -> None:
    """Wait (polling, as there is no event for "the service has it") until ``condition()``."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture(scope="session")
def service_url(database_url: str) -> Iterator[str]:
    settings = Settings(database_url=database_url, run_jobs=False)
    with live_server(settings, database_url) as url:
        yield url


DeskFactory = Callable[..., SyncEngine]


@pytest.fixture
async def desks(tmp_path: Path) -> AsyncIterator[DeskFactory]:
    """Start desks (sync engines with a cache file each) against a service URL."""
    made: list[SyncEngine] = []

    def desk(
        url: str, staff: Staff, *, name: str = "desk", timezone: str = "America/New_York",
        options: SyncOptions = FAST, timeouts: Timeouts = QUICK_TIMEOUTS,
    ) -> SyncEngine:  # fmt: skip
        cache = Cache(tmp_path / f"{name}.sqlite3")
        engine = SyncEngine(
            cache, SyncApi(url, lambda: staff.token, timeouts=timeouts),
            timezone=timezone, options=options,
        )  # fmt: skip
        engine.start()
        made.append(engine)
        return engine

    yield desk
    for engine in made:
        await engine.stop()


async def make_bookings(
    db: Database, org: Org, count: int, *, paid: bool = True, day_offset: int = 0
) -> list[Booking]:
    """``count`` confirmed bookings of two in one session today (or ``day_offset`` days on),
    written in one transaction: the feed sees them as it sees any other change."""
    start = local_today_session_start(org) + timedelta(days=day_offset)
    session_id = await make_session(db, org, starts_at=start, capacity=1000)
    made = []
    async with db.tenant(org.id) as s:
        slot, activity, venue = await load_session(s, session_id)
        for i in range(count):
            price = quote(2, 0, activity.adult_price, activity.child_price, activity.currency)
            booking = new_booking(
                org.id, slot, activity, venue, price, booking_number=new_booking_number(),
                status="confirmed", payment_status="paid" if paid else "unpaid",
                source="admin", special_requests="", contact_name=f"Guest {i:03}",
                confirmed_at=datetime.now(ZONE),
            )  # fmt: skip
            booking.amount_paid = price.total_amount if paid else 0
            s.add(booking)
            made.append(booking)
        slot.reserved = 2 * count
        await s.flush()
    return made
