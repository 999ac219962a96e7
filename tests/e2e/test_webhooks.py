"""The Stripe webhook endpoint: only signed events get in, and replays change nothing."""

from __future__ import annotations

import json
import time

import stripe
from sqlalchemy import func, select

from app.server.db.models import StripeEvent
from tests.e2e.conftest import WEBHOOK_SECRET, checkout_body, eventually
from tests.factories import make_session

URL = "/api/v1/webhooks/stripe"


def _event(event_type: str = "checkout.session.completed", event_id: str | None = None) -> str:
    return json.dumps(
        {
            "id": event_id or f"evt_test_{time.time_ns()}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": "cs_test_unknown",
                    "object": "checkout.session",
                    "payment_status": "paid",
                    "metadata": {},
                }
            },
        }
    )


def _signed(body: str, timestamp: int | None = None, secret: str = WEBHOOK_SECRET) -> dict:
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=timestamp or int(time.time())
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


async def _stored(db, event_id: str) -> int:
    async with db.system() as s:
        return await s.scalar(
            select(func.count()).select_from(StripeEvent).where(StripeEvent.id == event_id)
        )


async def test_unsigned_stale_tampered_or_foreign_events_are_refused_and_not_stored(http, db):
    cases = {}
    body = _event(event_id="evt_missing_sig")
    cases["evt_missing_sig"] = await http.post(
        URL, content=body, headers={"Content-Type": "application/json"}
    )
    body = _event(event_id="evt_stale")
    cases["evt_stale"] = await http.post(
        URL, content=body, headers=_signed(body, int(time.time()) - 400)
    )
    signed_for = _event(event_id="evt_tampered")
    tampered = signed_for.replace("cs_test_unknown", "cs_test_someone_else")
    cases["evt_tampered"] = await http.post(URL, content=tampered, headers=_signed(signed_for))
    body = _event(event_id="evt_wrong_secret")
    cases["evt_wrong_secret"] = await http.post(
        URL, content=body, headers=_signed(body, secret="whsec_not_ours")
    )
    for event_id, r in cases.items():
        assert r.status_code == 400, (event_id, r.text)
        assert r.json()["error"]["code"] == "bad_signature"
        assert await _stored(db, event_id) == 0


async def test_a_body_over_one_mebibyte_is_refused_with_413(http):
    body = json.dumps({"id": "evt_big", "padding": "x" * (1024 * 1024)})
    r = await http.post(URL, content=body, headers=_signed(body))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


async def test_events_outside_the_allow_list_are_acknowledged_and_ignored(http, db):
    body = _event("customer.created", event_id="evt_not_handled")
    r = await http.post(URL, content=body, headers=_signed(body))
    assert r.status_code == 200
    assert r.json() == {"received": True, "handled": False}
    assert await _stored(db, "evt_not_handled") == 0


async def test_an_event_for_no_booking_of_ours_is_stored_and_ignored(http, db):
    body = _event(event_id="evt_foreign_session")
    r = await http.post(URL, content=body, headers=_signed(body))
    assert r.status_code == 200
    stored = await eventually(
        lambda: _processed(db, "evt_foreign_session"), lambda e: e.processed_at is not None
    )
    assert stored.organization_id is None
    assert "not about a booking" in stored.last_error


async def _processed(db, event_id):
    async with db.system() as s:
        return await s.get(StripeEvent, event_id, populate_existing=True)


async def _unprocessed(db) -> int:
    async with db.system() as s:
        return await s.scalar(
            select(func.count()).select_from(StripeEvent).where(StripeEvent.processed_at.is_(None))
        )


async def _booking(http, org, booking_id):
    r = await http.get(f"/api/v1/bookings/{booking_id}", headers=org.manager.headers)
    return r.json()


async def test_redelivered_and_reordered_events_change_nothing(http, db, org, emulator):
    session_id = await make_session(db, org, capacity=5)
    started = (
        await http.post(
            f"/api/v1/public/{org.slug}/checkout-sessions", json=checkout_body(session_id, adults=2)
        )
    ).json()
    emulator.complete_checkout(started["checkout_session_id"], "paid")
    await eventually(
        lambda: _booking(http, org, started["booking_id"]), lambda b: b["status"] == "confirmed"
    )
    emulator.wait_for_webhooks()
    await eventually(lambda: _unprocessed(db), lambda n: n == 0)
    before = await _booking(http, org, started["booking_id"])
    async with db.system() as s:
        events = (
            await s.scalars(
                select(StripeEvent)
                .where(StripeEvent.organization_id == org.id)
                .order_by(StripeEvent.received_at)
            )
        ).all()
        total = await s.scalar(select(func.count()).select_from(StripeEvent))
    assert {e.type for e in events} >= {"checkout.session.completed", "payment_intent.succeeded"}

    for _ in range(2):
        for stored in reversed(events):
            body = json.dumps(stored.payload)
            r = await http.post(URL, content=body, headers=_signed(body))
            assert r.status_code == 200

    after = await _booking(http, org, started["booking_id"])
    assert after == before
    async with db.system() as s:
        assert await s.scalar(select(func.count()).select_from(StripeEvent)) == total


async def test_refunds_made_in_the_stripe_dashboard_reach_the_booking(
    http, db, org, emulator, stripe_client
):
    session_id = await make_session(db, org, capacity=5)
    started = (
        await http.post(
            f"/api/v1/public/{org.slug}/checkout-sessions", json=checkout_body(session_id, adults=2)
        )
    ).json()
    emulator.complete_checkout(started["checkout_session_id"], "paid")
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]), lambda b: b["status"] == "confirmed"
    )
    intent = booking["payments"][0]["stripe_payment_intent_id"]

    await stripe_client.v1.refunds.create_async(params={"payment_intent": intent, "amount": 2000})
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]),
        lambda b: b["payment_status"] == "partially_refunded",
    )
    assert booking["refunded_amount"] == 2000
    assert [(r["origin"], r["amount"]) for r in booking["refunds"]] == [("stripe_dashboard", 2000)]

    await stripe_client.v1.refunds.create_async(params={"payment_intent": intent})
    booking = await eventually(
        lambda: _booking(http, org, started["booking_id"]),
        lambda b: b["payment_status"] == "refunded",
    )
    assert booking["refunded_amount"] == 6000
    assert booking["status"] == "confirmed"  # money back does not cancel; staff decide
    customer = (
        await http.get(f"/api/v1/customers/{booking['customer_id']}", headers=org.manager.headers)
    ).json()
    assert customer["total_spent"] == 0
