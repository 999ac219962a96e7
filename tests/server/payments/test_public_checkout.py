"""The widget's checkout refuses bad requests clearly and holds nothing when it does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.server.db.models import Activity, ActivitySession, Booking, BookingEvent
from app.server.payments.checkout import CheckoutRequest, reserve_hold
from app.server.payments.holds import expire_due_holds
from tests.factories import make_session


def _body(session_id, **overrides):
    body = {"session_id": str(session_id), "adults": 2, "children": 0,
            "customer": {"name": "Ada Lovelace", "email": "ada@example.com"}}
    body.update(overrides)
    return body


async def _bookings(db, org) -> int:
    async with db.tenant(org.id) as s:
        return await s.scalar(select(func.count()).select_from(Booking))


@pytest.mark.parametrize(("overrides", "status", "needle"), [
    ({"adults": 0}, 422, "at least 1 adult"),
    ({"adults": 11}, 422, "does not fit"),
    ({"adults": 10_000}, 422, "adults"),
    ({"customer": {"name": "A", "email": "not-an-email"}}, 422, "email"),
    ({"customer": {"name": "A", "email": "a@example.com", "phone": "12"}}, 422, "phone"),
    ({"customer": {"name": "", "email": "a@example.com"}}, 422, "name"),
    ({"seats": 2}, 422, "not a known field"),
])
async def test_bad_requests_are_refused_and_reserve_nothing(
    client, db, org, overrides, status, needle
):
    session_id = await make_session(db, org, capacity=10)
    r = await client.post(f"/api/v1/public/{org.slug}/checkout-sessions",
                          json=_body(session_id, **overrides))
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]["message"]
    assert await _bookings(db, org) == 0
    async with db.tenant(org.id) as s:
        assert (await s.get_one(ActivitySession, session_id)).reserved == 0


async def test_a_session_that_has_started_cannot_be_booked(client, db, org):
    session_id = await make_session(db, org, starts_in=timedelta(minutes=-5))
    r = await client.post(f"/api/v1/public/{org.slug}/checkout-sessions", json=_body(session_id))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "session_past"


async def test_another_venues_session_or_an_unknown_venue_is_not_found(client, db, org, other_org):
    theirs = await make_session(db, other_org)
    r = await client.post(f"/api/v1/public/{org.slug}/checkout-sessions", json=_body(theirs))
    assert r.status_code == 404
    r = await client.get(f"/api/v1/public/{org.slug}/availability",
                         params={"activity_id": str(other_org.activity_id), "date": "2026-12-01"})
    assert r.status_code == 404
    r = await client.get("/api/v1/public/no-such-venue/activities")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_venue"
    async with db.tenant(other_org.id) as s:
        assert (await s.get_one(ActivitySession, theirs)).reserved == 0


async def test_without_stripe_keys_checkout_says_so_and_gives_the_seats_back(client, db, org):
    session_id = await make_session(db, org, capacity=4)
    r = await client.post(f"/api/v1/public/{org.slug}/checkout-sessions", json=_body(session_id))
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "payments_not_configured"
    async with db.tenant(org.id) as s:
        assert (await s.get_one(ActivitySession, session_id)).reserved == 0
        booking = await s.scalar(select(Booking))
    assert booking.status == "cancelled"


async def test_a_free_activity_is_confirmed_without_stripe(client, db, org):
    async with db.tenant(org.id) as s:
        await s.execute(update(Activity).where(Activity.id == org.activity_id)
                        .values(adult_price=0, child_price=0))
    session_id = await make_session(db, org, capacity=4)
    r = await client.post(f"/api/v1/public/{org.slug}/checkout-sessions", json=_body(session_id))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed"
    assert r.json()["checkout_url"] is None
    booking = (await client.get(f"/api/v1/bookings/{r.json()['booking_id']}",
                                headers=org.manager.headers)).json()
    assert booking["customer_email"] == "ada@example.com"
    assert booking["customer_id"] is not None


async def test_hold_expiry_run_twice_at_once_expires_each_hold_once(db, org):
    session_id = await make_session(db, org, capacity=40)
    for i in range(12):
        async with db.tenant(org.id) as s:
            await reserve_hold(s, org.id, CheckoutRequest(
                session_id=session_id, adult_count=3, child_count=0, name="H",
                email=f"h{i}@example.com", phone=None, promo_code=None, special_requests=""),
                datetime.now(UTC), 10)
    later = datetime.now(UTC) + timedelta(minutes=11)
    counts = await asyncio.gather(expire_due_holds(db, None, later),
                                  expire_due_holds(db, None, later))
    assert sum(counts) >= 12  # other tests' stale holds expire too: the job is global
    async with db.tenant(org.id) as s:
        assert (await s.get_one(ActivitySession, session_id)).reserved == 0
        statuses = (await s.scalars(select(Booking.status))).all()
        expiries = await s.scalar(select(func.count()).select_from(BookingEvent)
                                  .where(BookingEvent.kind == "expired"))
    assert statuses == ["expired"] * 12
    assert expiries == 12  # each hold expired exactly once
