"""GET /bookings/stats: today's and this week's visits and the money kept, at the venue."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.domain.booking_numbers import new_booking_number
from app.domain.lifecycle import STATUS_RULES, BookingStatus, local_today
from app.server.db.models import ActivitySession, Booking
from tests.factories import Org, make_org, make_session
from tests.server.helpers import booked

_minutes = itertools.count()


async def dated(
    db, org: Org, day: date, status: str = "confirmed", *, paid: int = 0, refunded: int = 0
) -> None:
    """A booking of two at noon on ``day`` (venue time) that has reached ``status``.

    It holds its seats when its status does, as a real one would (the hold-expiry job is
    global and releases the seats of every pending booking it finds).
    """
    start = datetime.combine(day, time(12), ZoneInfo(org.timezone)) + timedelta(
        minutes=next(_minutes) % 600)
    session_id = await make_session(db, org, starts_at=start)
    payment_status = ("failed" if status == "payment_failed" else "unpaid" if not paid
                      else "paid" if not refunded else "refunded" if refunded == paid
                      else "partially_refunded")
    async with db.tenant(org.id) as s:
        if STATUS_RULES[BookingStatus(status)].holds_capacity:
            await s.execute(update(ActivitySession).where(ActivitySession.id == session_id)
                            .values(reserved=2))
        s.add(Booking(
            organization_id=org.id, booking_number=new_booking_number(), venue_id=org.venue_id,
            activity_id=org.activity_id, session_id=session_id, booking_date=day,
            start_time=start.time(), end_time=(start + timedelta(hours=1)).time(),
            party_size=2, adult_count=2, child_count=0, guests_arrived=0, currency="USD",
            adult_unit_amount=3000, child_unit_amount=1500, subtotal_amount=6000,
            discount_amount=0, total_amount=6000, amount_paid=paid, refunded_amount=refunded,
            status=status, payment_status=payment_status, source="widget",
            special_requests="", notes="",
            expires_at=datetime.now(UTC) + timedelta(minutes=10)
            if status == "pending_payment" else None))


async def stats(client, org: Org, **params) -> dict:
    r = await client.get("/api/v1/bookings/stats", headers=org.front_desk.headers,
                         params=params)
    assert r.status_code == 200, r.text
    return r.json()


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@pytest.fixture
async def far_org(db) -> Org:
    """A venue whose calendar day differs from UTC's right now (+14 h or −11 h)."""
    utc_today = datetime.now(UTC).date()
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        if local_today(zone) != utc_today:
            return await make_org(db, timezone=zone)
    raise AssertionError("one of the two zones is always on another day than UTC")


@pytest.fixture
async def daytime_org(db) -> Org:
    """A venue where it is now between 01:00 and 20:00, so a session in an hour is today."""
    for zone in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        if 1 <= datetime.now(ZoneInfo(zone)).hour < 20:
            return await make_org(db, timezone=zone)
    raise AssertionError("the three zones are 8 hours apart: one is always in its day")


class TestToday:
    async def test_counts_the_venues_today_not_the_servers(self, client, db, far_org):
        today = local_today(far_org.timezone)
        for status in ("confirmed", "checked_in", "completed"):
            await dated(db, far_org, today, status, paid=6000)
        await dated(db, far_org, datetime.now(UTC).date())  # another day at the venue
        assert (await stats(client, far_org))["today"] == 3

    async def test_only_visits_count(self, client, db, org):
        today = local_today(org.timezone)
        for status in ("confirmed", "checked_in", "completed", "no_show"):
            await dated(db, org, today, status)
        for status in ("cancelled", "expired", "payment_failed", "pending_payment"):
            await dated(db, org, today, status)
        figures = await stats(client, org)
        assert (figures["today"], figures["this_week"]) == (4, 4)

    async def test_a_cancelled_desk_booking_stops_counting(self, client, db, daytime_org):
        org = daytime_org
        b = await booked(client, org, db)
        assert b["booking_date"] == local_today(org.timezone).isoformat()
        assert (await stats(client, org))["today"] == 1
        r = await client.post(f"/api/v1/bookings/{b['id']}/cancel",
                              headers=org.manager.headers, json={"reason": "ill"})
        assert r.status_code == 200, r.text
        assert (await stats(client, org))["today"] == 0


class TestThisWeek:
    async def test_monday_to_sunday_at_the_venue(self, client, db, far_org):
        first = monday(local_today(far_org.timezone))
        for day in (first, first + timedelta(days=3), first + timedelta(days=6)):
            await dated(db, far_org, day, "completed")
        await dated(db, far_org, first - timedelta(days=1), "completed")
        await dated(db, far_org, first + timedelta(days=7))
        assert (await stats(client, far_org))["this_week"] == 3


class TestRevenue:
    async def test_money_kept_on_the_weeks_bookings_by_default(self, client, db, org):
        first = monday(local_today(org.timezone))
        await dated(db, org, first, "completed", paid=6000)
        await dated(db, org, first + timedelta(days=6), "no_show", paid=6000)
        await dated(db, org, first + timedelta(days=1), "cancelled", paid=6000, refunded=3000)
        await dated(db, org, first + timedelta(days=2), "cancelled", paid=6000, refunded=6000)
        await dated(db, org, first + timedelta(days=2), "confirmed")  # pay at the desk
        await dated(db, org, first - timedelta(days=1), "completed", paid=6000)
        figures = await stats(client, org)
        assert figures["revenue"] == 6000 + 6000 + 3000
        assert figures["currency"] == "USD"
        assert (figures["revenue_from"], figures["revenue_to"]) == (
            first.isoformat(), (first + timedelta(days=6)).isoformat())

    async def test_a_chosen_range_includes_both_ends(self, client, db, org):
        start = date(2026, 3, 1)
        await dated(db, org, start, "completed", paid=1000)
        await dated(db, org, start + timedelta(days=30), "completed", paid=2000)
        await dated(db, org, start + timedelta(days=31), "completed", paid=4000)
        await dated(db, org, start - timedelta(days=1), "completed", paid=8000)
        figures = await stats(client, org, **{"from": "2026-03-01", "to": "2026-03-31"})
        assert figures["revenue"] == 3000
        assert (figures["revenue_from"], figures["revenue_to"]) == ("2026-03-01", "2026-03-31")

    async def test_a_refund_lowers_revenue(self, client, db, org):
        today = local_today(org.timezone)
        await dated(db, org, today, "completed", paid=6000)
        assert (await stats(client, org))["revenue"] == 6000
        async with db.tenant(org.id) as s:
            await s.execute(update(Booking).values(refunded_amount=1500,
                                                   payment_status="partially_refunded"))
        assert (await stats(client, org))["revenue"] == 4500


async def test_other_organizations_do_not_count(client, db, org, other_org):
    today = local_today(other_org.timezone)
    await dated(db, other_org, today, "completed", paid=6000)
    figures = await stats(client, org)
    assert (figures["today"], figures["this_week"], figures["revenue"]) == (0, 0, 0)


@pytest.mark.parametrize(("params", "words"), [
    ({"from": "2026-03-31", "to": "2026-03-01"}, "ends before it starts"),
    ({"from": "9999-01-01"}, "from must be between"),
    ({"to": "2026-02-30"}, "date"),
])
async def test_nonsense_ranges_are_refused(client, org, params, words):
    r = await client.get("/api/v1/bookings/stats", headers=org.front_desk.headers,
                         params=params)
    assert r.status_code == 422
    assert words in r.json()["error"]["message"]


async def test_stats_need_a_login(client):
    r = await client.get("/api/v1/bookings/stats")
    assert r.status_code == 401
