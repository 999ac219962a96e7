"""The demo seed: every status and segment, capacity, money and timelines that add up."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.domain.lifecycle import STATUS_RULES, BookingStatus, PaymentStatus, local_today
from app.domain.segmentation import Segment
from app.server.core.errors import Invalid
from app.server.customers.service import refresh_analytics
from app.server.db.models import (
    Activity,
    ActivitySchedule,
    ActivitySession,
    Booking,
    BookingEvent,
    Customer,
    Payment,
    Refund,
)
from app.server.seed_demo import SeedReport, seed_demo
from app.server.sessions.service import generate_sessions
from tests.factories import Org, make_org, make_schedule

TIMEZONE = "America/Chicago"
SEED = 7


@dataclass
class Seeded:
    org: Org
    now: datetime
    report: SeedReport


async def small_venue(db) -> Org:
    """A venue with two rooms playing every evening (8 and 6 seats)."""
    org = await make_org(db, timezone=TIMEZONE, capacity=8)
    async with db.tenant(org.id) as s:
        cellar = Activity(
            organization_id=org.id, venue_id=org.venue_id, name="Alchemist's Cellar",
            description="", what_to_bring="", duration_minutes=60, capacity=6, currency="USD",
            adult_price=3000, child_price=2000, min_adults=1, active=True)
        s.add(cellar)
        await s.flush()
        s.add_all(
            ActivitySchedule(organization_id=org.id, activity_id=activity, weekday=day,
                             start_time=at)
            for day in range(7)
            for activity, at in ((org.activity_id, time(17)), (org.activity_id, time(19, 30)),
                                 (cellar.id, time(18))))
    return org


def evening(org: Org) -> datetime:
    """Today at 18:15 at the venue: one game over, one playing, one to come."""
    today = local_today(org.timezone)
    return datetime.combine(today, time(18, 15), ZoneInfo(org.timezone)).astimezone(UTC)


@pytest.fixture(scope="module")
async def seeded(db) -> Seeded:
    org = await small_venue(db)
    now = evening(org)
    report = await seed_demo(db, customers=60, bookings=400, organization_id=org.id, now=now,
                             seed=SEED)
    return Seeded(org, now, report)


async def rows(db, org: Org, model):
    async with db.tenant(org.id) as s:
        return (await s.scalars(select(model))).all()


async def test_every_status_and_segment_has_members(db, seeded):
    assert not seeded.report.skipped
    bookings = await rows(db, seeded.org, Booking)
    customers = await rows(db, seeded.org, Customer)
    assert len(bookings) == seeded.report.bookings == 400
    assert len(customers) == seeded.report.customers == 60
    assert Counter(b.status for b in bookings) == Counter(seeded.report.statuses)
    assert {b.status for b in bookings} == set(BookingStatus)
    assert {c.segment for c in customers} == set(Segment)
    assert {b.payment_status for b in bookings} == set(PaymentStatus)
    assert {b.source for b in bookings} >= {"widget", "phone", "admin", "walk_in"}
    assert all(b.customer_id is not None for b in bookings)
    assert len({c.email.lower() for c in customers}) == 60
    assert all(c.phone is None or (c.phone.startswith("+1") and len(c.phone) == 12)
               for c in customers)


async def test_sessions_hold_exactly_their_bookings_seats(db, seeded):
    bookings = await rows(db, seeded.org, Booking)
    sessions = {s.id: s for s in await rows(db, seeded.org, ActivitySession)}
    held, seated = defaultdict(int), defaultdict(int)
    for b in bookings:
        if STATUS_RULES[BookingStatus(b.status)].holds_capacity:
            held[b.session_id] += b.party_size
        if b.status not in ("cancelled", "expired", "payment_failed"):
            seated[b.session_id] += b.party_size
    assert held  # today's and coming bookings hold seats
    for session in sessions.values():
        assert session.reserved == held[session.id] <= session.capacity
        assert seated[session.id] <= session.capacity  # nor were past games overbooked
    local = ZoneInfo(TIMEZONE)
    for b in bookings:
        start = sessions[b.session_id].starts_at.astimezone(local)
        assert (b.booking_date, b.start_time) == (start.date(), start.time())
        assert 1 <= b.adult_count <= 6 and b.party_size == b.adult_count + b.child_count


async def test_money_adds_up(db, seeded):
    bookings = await rows(db, seeded.org, Booking)
    payments = await rows(db, seeded.org, Payment)
    refunds = await rows(db, seeded.org, Refund)
    paid, refunded, by_payment = defaultdict(int), defaultdict(int), defaultdict(int)
    for p in payments:
        if p.status == "succeeded":
            paid[p.booking_id] += p.amount
    for r in refunds:
        refunded[r.booking_id] += r.amount
        by_payment[r.payment_id] += r.amount
    assert all(p.refunded_amount == by_payment[p.id] <= p.amount for p in payments)
    discounted = 0
    for b in bookings:
        assert b.subtotal_amount == (b.adult_count * b.adult_unit_amount
                                     + b.child_count * b.child_unit_amount)
        assert b.total_amount == b.subtotal_amount - b.discount_amount
        discounted += b.discount_amount > 0
        assert (b.amount_paid, b.refunded_amount) == (paid[b.id], refunded[b.id])
        assert b.refunded_amount <= b.amount_paid
        rule = STATUS_RULES[BookingStatus(b.status)]
        assert PaymentStatus(b.payment_status) in rule.payment_states
        if b.payment_status == "refunded":
            assert b.refunded_amount == b.amount_paid > 0
        if b.payment_status == "partially_refunded":
            assert 0 < b.refunded_amount < b.amount_paid
        if b.status == "pending_payment":
            assert seeded.now < b.expires_at <= seeded.now + (b.expires_at - b.created_at)
    assert discounted


async def test_timelines_lead_to_each_status(db, seeded):
    bookings = {b.id: b for b in await rows(db, seeded.org, Booking)}
    events = defaultdict(list)
    for e in sorted(await rows(db, seeded.org, BookingEvent), key=lambda e: (e.at, e.id)):
        events[e.booking_id].append(e)
    assert events.keys() == bookings.keys()
    for booking_id, timeline in events.items():
        b = bookings[booking_id]
        assert timeline[0].kind == "created" and timeline[0].at == b.created_at
        assert timeline[0].to_status == ("pending_payment" if b.source == "widget"
                                         else "confirmed")
        moves = [e for e in timeline if e.to_status]
        assert all(m.from_status == prev.to_status for prev, m in pairwise(moves))
        assert moves[-1].to_status == b.status
        assert all(e.at <= seeded.now for e in timeline)
        assert b.updated_at == timeline[-1].at and b.version == len(timeline)


async def test_analytics_are_what_the_service_computes(db, seeded):
    today = local_today(TIMEZONE, seeded.now)
    fields = ("total_bookings", "total_spent", "average_booking_value", "lifetime_value",
              "first_booking_date", "last_booking_date", "last_activity_date", "segment")
    async with db.tenant(seeded.org.id) as s:
        for customer_id in (await s.scalars(select(Customer.id))).all():
            stored = await s.get_one(Customer, customer_id)
            seed_figures = tuple(getattr(stored, f) for f in fields)
            computed = await refresh_analytics(s, customer_id, today, TIMEZONE)
            assert tuple(getattr(computed, f) for f in fields) == seed_figures


async def test_a_second_run_adds_nothing(db, seeded):
    again = await seed_demo(db, customers=60, bookings=400, organization_id=seeded.org.id,
                            now=seeded.now, seed=SEED)
    assert again.skipped and again.bookings == 0
    assert "nothing seeded" in again.lines()[0]
    assert len(await rows(db, seeded.org, Booking)) == 400


async def test_the_same_seed_gives_the_same_data(db, seeded):
    twin = await small_venue(db)
    await seed_demo(db, customers=60, bookings=400, organization_id=twin.id, now=seeded.now,
                    seed=SEED)

    async def content(org: Org) -> list[tuple]:
        async with db.tenant(org.id) as s:
            result = await s.execute(
                select(Booking.booking_number, Booking.status, Booking.payment_status,
                       Booking.party_size, Booking.total_amount, Booking.refunded_amount,
                       Booking.created_at, Booking.booking_date, Booking.start_time,
                       Customer.email, Customer.segment)
                .join(Customer, Customer.id == Booking.customer_id))
            return sorted(tuple(r) for r in result)

    assert await content(twin) == await content(seeded.org)


async def test_nonsense_sizes_are_refused(db):
    with pytest.raises(Invalid, match="at least one customer"):
        await seed_demo(db, customers=0, organization_id=uuid.uuid4())


async def test_a_venue_too_small_gets_copies_of_its_rooms(db):
    org = await make_org(db, timezone=TIMEZONE, capacity=6)
    for day in range(7):
        await make_schedule(db, org, weekday=day, at=time(18))
    now = evening(org)
    report = await seed_demo(db, customers=50, bookings=600, organization_id=org.id, now=now)
    assert report.rooms_added == 2
    async with db.tenant(org.id) as s:
        names = sorted((await s.scalars(select(Activity.name))).all())
        rules = Counter((await s.scalars(select(ActivitySchedule.activity_id))).all())
        first = local_today(TIMEZONE, now) - timedelta(days=90)
        # The copies' sessions are exactly what their copied schedules call for.
        assert await generate_sessions(s, org.id, first, 120) == 0
    assert names == ["Mystery Room", "Mystery Room (room 2)", "Mystery Room (room 3)"]
    assert sorted(rules.values()) == [7, 7, 7]
    sessions = await rows(db, org, ActivitySession)
    assert Counter(s.activity_id for s in sessions).most_common(1)[0][1] == 120
    assert len({s.starts_at for s in sessions}) == 120
    bookings = await rows(db, org, Booking)
    assert len(bookings) == 600 and {b.activity_id for b in bookings} == set(rules)
