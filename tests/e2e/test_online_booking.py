"""A customer books online: widget → checkout → Stripe → webhook → job → confirmed booking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.server.db.models import ActivitySession, Booking, Organization, PromoCode, StripeEvent
from app.server.payments.holds import expire_due_holds
from tests.e2e.conftest import checkout_body, eventually
from tests.factories import make_session


async def _booking(http, org, booking_id):
    r = await http.get(f"/api/v1/bookings/{booking_id}", headers=org.manager.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _remaining(db, session_id) -> int:
    async with db.system() as s:
        slot = await s.get_one(ActivitySession, session_id)
        return slot.capacity - slot.reserved


async def _checkout(http, org, session_id, **kwargs):
    r = await http.post(
        f"/api/v1/public/{org.slug}/checkout-sessions", json=checkout_body(session_id, **kwargs)
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_paid_checkout_confirms_the_booking_and_creates_the_customer(http, db, org, emulator):
    session_id = await make_session(db, org, capacity=8)
    day = (datetime.now(UTC) + timedelta(hours=2)).astimezone(org.now_local().tzinfo).date()
    availability = (
        await http.get(
            f"/api/v1/public/{org.slug}/availability",
            params={"activity_id": str(org.activity_id), "date": day.isoformat()},
        )
    ).json()
    offered = {s["id"]: s for s in availability["sessions"]}
    assert offered[str(session_id)]["remaining"] == 8
    assert offered[str(session_id)]["adult_price"] == 3000

    started = await _checkout(http, org, session_id, adults=2, children=1)
    assert started["status"] == "pending_payment"
    assert started["total_amount"] == 2 * 3000 + 1500
    assert started["checkout_url"].startswith(emulator.url)
    expires = datetime.fromisoformat(started["expires_at"])
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    assert await _remaining(db, session_id) == 5

    # Nobody is a customer before paying.
    r = await http.get(
        "/api/v1/customers", params={"q": "ada@example.com"}, headers=org.manager.headers
    )
    assert r.json()["items"] == []

    emulator.complete_checkout(started["checkout_session_id"], "paid")
    verified = await eventually(
        lambda: _verify(http, started["checkout_session_id"]),
        lambda v: v["status"] == "confirmed",
    )
    assert verified["payment_status"] == "paid"
    assert verified["amount_paid"] == 7500
    assert verified["message"].startswith("Your booking is confirmed")

    booking = await _booking(http, org, started["booking_id"])
    assert booking["status"] == "confirmed"
    assert [p["amount"] for p in booking["payments"]] == [7500]
    assert [e["kind"] for e in booking["events"]][:2] == ["created", "payment"]
    customer = (
        await http.get(f"/api/v1/customers/{booking['customer_id']}", headers=org.manager.headers)
    ).json()
    assert customer["email"] == "ada@example.com"
    assert customer["phone"] == "+13125550142"
    assert customer["total_bookings"] == 1
    assert customer["total_spent"] == 7500
    assert customer["created_via"] == "booking_widget"
    assert await _remaining(db, session_id) == 5


async def _verify(http, checkout_session_id):
    r = await http.get(f"/api/v1/public/checkout-sessions/{checkout_session_id}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_declined_payment_fails_the_booking_and_gives_the_seats_back(http, db, org, emulator):
    session_id = await make_session(db, org, capacity=4)
    started = await _checkout(http, org, session_id, adults=3)
    assert await _remaining(db, session_id) == 1

    emulator.complete_checkout(started["checkout_session_id"], "declined")
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]),
        lambda b: b["status"] == "payment_failed",
    )
    assert booking["payment_status"] == "failed"
    assert await _remaining(db, session_id) == 4


async def test_delayed_payment_holds_seats_until_it_clears(http, db, org, emulator):
    session_id = await make_session(db, org, capacity=4)
    started = await _checkout(http, org, session_id, adults=2)
    emulator.complete_checkout(started["checkout_session_id"], "delayed_success")
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]), lambda b: b["status"] == "confirmed"
    )
    assert booking["payment_status"] == "paid"
    kinds = [e["kind"] for e in booking["events"]]
    assert "payment_processing" in kinds and "payment" in kinds
    assert await _remaining(db, session_id) == 2


async def test_abandoned_checkout_is_expired_by_the_job(
    http, db, org, emulator, gateway, stripe_client
):
    session_id = await make_session(db, org, capacity=6)
    started = await _checkout(http, org, session_id, adults=4)
    assert await _remaining(db, session_id) == 2

    # Nothing happens before the hold time is over.
    await expire_due_holds(db, gateway, now=datetime.now(UTC) + timedelta(minutes=9))
    assert (await _booking(http, org, started["booking_id"]))["status"] == "pending_payment"

    await expire_due_holds(db, gateway, now=datetime.now(UTC) + timedelta(minutes=11))
    booking = await _booking(http, org, started["booking_id"])
    assert booking["status"] == "expired"
    assert await _remaining(db, session_id) == 6
    stripe_session = await stripe_client.v1.checkout.sessions.retrieve_async(
        started["checkout_session_id"]
    )
    assert stripe_session["status"] == "expired"
    verified = await _verify(http, started["checkout_session_id"])
    assert "expired" in verified["message"]


async def test_late_payment_with_seats_left_re_reserves_and_confirms(http, db, org, emulator):
    session_id = await make_session(db, org, capacity=6)
    started = await _checkout(http, org, session_id, adults=2)
    # The hold ends on our side but Stripe was not reached: the page can still be paid.
    await expire_due_holds(db, None, now=datetime.now(UTC) + timedelta(minutes=11))
    assert await _remaining(db, session_id) == 6

    emulator.complete_checkout(started["checkout_session_id"], "paid")
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]), lambda b: b["status"] == "confirmed"
    )
    assert booking["payment_status"] == "paid"
    assert "late_payment" in [e["kind"] for e in booking["events"]]
    assert await _remaining(db, session_id) == 4


async def test_late_payment_for_a_full_session_is_refunded_and_flagged(http, db, org, emulator):
    session_id = await make_session(db, org, capacity=3)
    started = await _checkout(http, org, session_id, adults=2)
    await expire_due_holds(db, None, now=datetime.now(UTC) + timedelta(minutes=11))
    # Meanwhile the desk sells the whole session.
    r = await http.post(
        "/api/v1/bookings",
        headers=org.front_desk.headers,
        json={
            "session_id": str(session_id),
            "adult_count": 3,
            "email": "walkin@example.com",
            "first_name": "Walk",
            "last_name": "In",
            "source": "walk_in",
        },
    )
    assert r.status_code == 201, r.text

    emulator.complete_checkout(started["checkout_session_id"], "paid")
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]),
        lambda b: b["payment_status"] == "refunded",
    )
    assert booking["status"] == "expired"
    assert booking["amount_paid"] == booking["refunded_amount"] == 6000
    assert "refunded automatically" in booking["attention_reason"]
    [refund] = booking["refunds"]
    assert refund["origin"] == "automatic" and refund["amount"] == 6000
    assert await _remaining(db, session_id) == 0  # never oversold


async def test_a_full_session_answers_409_with_what_is_left_and_reserves_nothing(http, db, org):
    session_id = await make_session(db, org, capacity=3)
    await _checkout(http, org, session_id, adults=2)
    r = await http.post(
        f"/api/v1/public/{org.slug}/checkout-sessions", json=checkout_body(session_id, adults=2)
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "session_full"
    assert r.json()["error"]["remaining"] == 1
    assert await _remaining(db, session_id) == 1
    async with db.tenant(org.id) as s:
        count = await s.scalar(
            select(func.count()).select_from(Booking).where(Booking.session_id == session_id)
        )
    assert count == 1


async def test_promo_codes_discount_the_stripe_session_and_run_out(
    http, db, org, emulator, stripe_client
):
    async with db.tenant(org.id) as s:
        s.add(
            PromoCode(
                organization_id=org.id,
                code="SPRING15",
                kind="percent",
                value=1500,
                usage_limit=1,
                times_used=0,
                active=True,
            )
        )
        s.add(
            PromoCode(
                organization_id=org.id,
                code="OLD",
                kind="fixed",
                value=500,
                currency="USD",
                valid_until=datetime.now(UTC) - timedelta(days=1),
                times_used=0,
                active=True,
            )
        )
    session_id = await make_session(db, org, capacity=10)
    started = await _checkout(http, org, session_id, adults=2, promo_code="spring15")
    assert started["discount_amount"] == 900
    assert started["total_amount"] == 5100
    stripe_session = await stripe_client.v1.checkout.sessions.retrieve_async(
        started["checkout_session_id"]
    )
    assert stripe_session["amount_total"] == 5100
    assert stripe_session["metadata"]["promo_code"] == "SPRING15"
    assert stripe_session["metadata"]["party_size"] == "2"

    for code, message in (("SPRING15", "used up"), ("OLD", "expired"), ("NOPE", "does not exist")):
        r = await http.post(
            f"/api/v1/public/{org.slug}/checkout-sessions",
            json=checkout_body(session_id, adults=1, promo_code=code),
        )
        assert r.status_code == 422, r.text
        assert message in r.json()["error"]["message"]
    assert await _remaining(db, session_id) == 8


async def test_connect_sessions_are_created_on_the_venues_account_with_the_platform_fee(
    http, db, org, emulator, stripe_client
):
    async with db.system() as s:
        await s.execute(
            update(Organization)
            .where(Organization.id == org.id)
            .values(stripe_account_id="acct_venue123", platform_fee_bps=250)
        )
    session_id = await make_session(db, org, capacity=10)
    started = await _checkout(http, org, session_id, adults=2)
    emulator.complete_checkout(started["checkout_session_id"], "paid")
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]), lambda b: b["status"] == "confirmed"
    )
    intent = await stripe_client.v1.payment_intents.retrieve_async(
        booking["payments"][0]["stripe_payment_intent_id"],
        options={"stripe_account": "acct_venue123"},
    )
    assert intent["application_fee_amount"] == 150  # 2.5 % of $60.00
    assert intent["metadata"]["platform_fee_percent"] == "2.5"
    async with db.system() as s:
        accounts = set(
            (
                await s.scalars(
                    select(StripeEvent.account).where(StripeEvent.organization_id == org.id)
                )
            ).all()
        )
    assert accounts == {"acct_venue123"}
