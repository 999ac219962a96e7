"""Money at the desk against the Stripe emulator, with signed webhooks and the job worker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.server.bookings.events import Actor
from app.server.db.models import Booking, OutboxMessage, Payment, Refund, StripeEvent
from app.server.refunds.service import RefundOrder, refund
from tests.e2e.conftest import checkout_body, eventually
from tests.factories import make_activity, make_activity_session, make_session
from tests.server.refunds.helpers import snapshot


async def _booking(http, org, booking_id):
    r = await http.get(f"/api/v1/bookings/{booking_id}", headers=org.manager.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _post(http, staff, booking_id, action, json, key=None):
    headers = {**staff.headers, **({"Idempotency-Key": key} if key else {})}
    return await http.post(f"/api/v1/bookings/{booking_id}/{action}", headers=headers, json=json)


async def _paid_online(http, db, org, emulator, adults=2):
    session_id = await make_session(db, org, capacity=6)
    r = await http.post(f"/api/v1/public/{org.slug}/checkout-sessions",
                        json=checkout_body(session_id, adults=adults))
    assert r.status_code == 201, r.text
    started = r.json()
    emulator.complete_checkout(started["checkout_session_id"], "paid")
    return await eventually(lambda: _booking(http, org, started["booking_id"]),
                            lambda b: b["status"] == "confirmed")


async def _stripe_refunds(stripe_client, intent):
    listed = await stripe_client.v1.refunds.list_async(params={"payment_intent": intent})
    return sorted(r["amount"] for r in listed.data)


async def _charge_refunded_events(db, intent) -> tuple[int, int]:
    """(received, processed) charge.refunded events of this payment."""
    async with db.system() as s:
        rows = (await s.execute(select(StripeEvent.processed_at).where(
            StripeEvent.type == "charge.refunded",
            StripeEvent.payload["data"]["object"]["payment_intent"].astext == intent))).all()
    return len(rows), sum(1 for (at,) in rows if at is not None)


async def _refund_rows(db, org, booking_id):
    async with db.tenant(org.id) as s:
        return (await s.scalars(select(Refund).where(Refund.booking_id == uuid.UUID(booking_id))
                                .order_by(Refund.created_at))).all()


async def test_partial_refund_then_the_rest_then_an_over_refund_is_refused(
    http, db, org, emulator, stripe_client
):
    booking = await _paid_online(http, db, org, emulator)  # $60.00 by card
    intent = booking["payments"][0]["stripe_payment_intent_id"]

    r = await _post(http, org.manager, booking["id"], "refund",
                    {"amount": 2000, "reason": "Broken headset"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["payment_status"], b["refunded_amount"], b["refundable_amount"]) == (
        "partially_refunded", 2000, 4000)
    [row] = b["refunds"]
    assert (row["provider"], row["origin"], row["method"], row["amount"]) == (
        "stripe", "desk", "card", 2000)
    # Stripe's charge.refunded comes back and is reconciled with our row, not added to it.
    await eventually(lambda: _charge_refunded_events(db, intent), lambda n: n == (1, 1))
    [stored] = await _refund_rows(db, org, booking["id"])
    assert (stored.status, stored.stripe_refund_id.startswith("re_"), stored.created_by) == (
        "succeeded", True, org.manager.id)

    before = await snapshot(db, org, booking["id"])
    r = await _post(http, org.manager, booking["id"], "refund",
                    {"amount": 4001, "reason": "Too much"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "refund_exceeds_refundable"
    assert "$40.00" in r.json()["error"]["message"]
    assert await snapshot(db, org, booking["id"]) == before

    r = await _post(http, org.admin, booking["id"], "refund",
                    {"amount": 4000, "reason": "Event cancelled"})
    assert r.status_code == 200, r.text
    assert (r.json()["payment_status"], r.json()["refunded_amount"]) == ("refunded", 6000)
    r = await _post(http, org.manager, booking["id"], "refund", {"amount": 1, "reason": "More"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "nothing_to_refund"

    await eventually(lambda: _charge_refunded_events(db, intent), lambda n: n == (2, 2))
    assert await _stripe_refunds(stripe_client, intent) == [2000, 4000]
    rows = await _refund_rows(db, org, booking["id"])
    assert [(x.amount, x.status) for x in rows] == [(2000, "succeeded"), (4000, "succeeded")]
    final = await _booking(http, org, booking["id"])
    assert (final["payment_status"], final["refunded_amount"]) == ("refunded", 6000)
    assert [e["kind"] for e in final["events"]].count("refund") == 2


async def test_front_desk_cannot_refund_a_card_payment(http, db, org, emulator, stripe_client):
    booking = await _paid_online(http, db, org, emulator)
    r = await _post(http, org.front_desk, booking["id"], "refund",
                    {"amount": 1000, "reason": "Not allowed"})
    assert r.status_code == 403
    intent = booking["payments"][0]["stripe_payment_intent_id"]
    assert await _stripe_refunds(stripe_client, intent) == []


async def test_the_same_idempotency_key_retried_refunds_once_in_stripe(
    http, db, org, emulator, stripe_client
):
    booking = await _paid_online(http, db, org, emulator)
    intent = booking["payments"][0]["stripe_payment_intent_id"]
    key = str(uuid.uuid4())
    body = {"amount": 1500, "reason": "Double-clicked refund"}
    answers = await asyncio.gather(*(
        _post(http, org.manager, booking["id"], "refund", body, key=key) for _ in range(3)))
    answers.append(await _post(http, org.manager, booking["id"], "refund", body, key=key))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert await _stripe_refunds(stripe_client, intent) == [1500]
    assert [x.amount for x in await _refund_rows(db, org, booking["id"])] == [1500]


class LostCommit(Exception):
    """The service's transaction dies after Stripe refunded (a crash, a lost connection)."""


async def test_a_refund_whose_answer_was_lost_is_not_made_twice(
    http, db, org, emulator, stripe_client, gateway
):
    booking = await _paid_online(http, db, org, emulator)
    intent = booking["payments"][0]["stripe_payment_intent_id"]
    key = str(uuid.uuid4())
    manager = Actor("staff", org.manager.id, "Manager")

    # The first attempt reaches Stripe, but its transaction never commits.
    with pytest.raises(LostCommit):
        async with db.tenant(org.id) as s:
            await refund(s, gateway, uuid.UUID(booking["id"]),
                         RefundOrder(2500, "Lost answer", None, key), manager)
            raise LostCommit
    assert await _stripe_refunds(stripe_client, intent) == [2500]
    # Stripe's event records it anyway, under the row id the attempt had chosen.
    seen = await eventually(lambda: _booking(http, org, booking["id"]),
                            lambda b: b["refunded_amount"] == 2500)
    [row] = seen["refunds"]
    assert (row["origin"], row["reason"], row["amount"]) == ("desk", "Lost answer", 2500)

    # The desk retries with the same key: the refund is recognised, not repeated.
    r = await _post(http, org.manager, booking["id"], "refund",
                    {"amount": 2500, "reason": "Lost answer"}, key=key)
    assert r.status_code == 200, r.text
    assert [x["amount"] for x in r.json()["refunds"]] == [2500]
    assert await _stripe_refunds(stripe_client, intent) == [2500]
    [stored] = await _refund_rows(db, org, booking["id"])
    assert stored.created_by == org.manager.id


async def test_a_refund_made_in_the_stripe_dashboard_is_recorded_as_external(
    http, db, org, emulator, stripe_client
):
    booking = await _paid_online(http, db, org, emulator)
    intent = booking["payments"][0]["stripe_payment_intent_id"]
    r = await _post(http, org.manager, booking["id"], "refund",
                    {"amount": 1000, "reason": "Desk refund"})
    assert r.status_code == 200, r.text
    await stripe_client.v1.refunds.create_async(params={"payment_intent": intent, "amount": 500})
    b = await eventually(lambda: _booking(http, org, booking["id"]),
                         lambda b: b["refunded_amount"] == 1500)
    assert [(x["origin"], x["amount"]) for x in b["refunds"]] == [
        ("desk", 1000), ("stripe_dashboard", 500)]
    assert b["refundable_amount"] == 4500
    assert "in the Stripe dashboard" in b["events"][-1]["message"]


async def test_walk_in_paid_in_cash_then_refunded(http, db, org):
    session_id = await make_session(db, org)
    r = await http.post("/api/v1/bookings", headers=org.front_desk.headers, json={
        "session_id": str(session_id), "adult_count": 2, "email": "cash@example.com",
        "first_name": "Cash", "source": "walk_in",
        "payment": {"mode": "pay_at_desk", "method": "cash"}})
    assert r.status_code == 201, r.text
    b = r.json()
    assert (b["payment_status"], b["amount_paid"]) == ("paid", 6000)
    r = await _post(http, org.manager, b["id"], "refund",
                    {"amount": 6000, "reason": "Changed their mind"})
    assert r.status_code == 200, r.text
    assert r.json()["payment_status"] == "refunded"
    [row] = r.json()["refunds"]
    assert (row["provider"], row["method"], row["amount"]) == ("desk", "cash", 6000)


async def test_when_stripe_refuses_the_cancellation_changes_nothing(http, db, org):
    session_id = await make_session(db, org)
    r = await http.post("/api/v1/bookings", headers=org.front_desk.headers, json={
        "session_id": str(session_id), "adult_count": 2, "email": "gone@example.com",
        "first_name": "Gone", "payment": {"mode": "pay_at_desk", "method": "cash"}})
    booking = r.json()
    async with db.tenant(org.id) as s:
        # A card payment Stripe does not know (e.g. made on another account).
        await s.execute(update(Payment).where(Payment.booking_id == uuid.UUID(booking["id"]))
                        .values(provider="stripe", method="card",
                                stripe_payment_intent_id=f"pi_{uuid.uuid4().hex[:24]}"))
    before = await snapshot(db, org, booking["id"])
    r = await _post(http, org.manager, booking["id"], "cancel",
                    {"reason": "Cannot come", "refund": "full"})
    assert r.status_code == 502
    error = r.json()["error"]
    assert error["code"] == "payment_provider_error"
    assert error["message"].startswith("Stripe could not refund the payment")
    assert await snapshot(db, org, booking["id"]) == before


async def _checkout_session_of(db, org, booking_id) -> str:
    async with db.tenant(org.id) as s:
        row = await s.get_one(Booking, uuid.UUID(booking_id))
        return row.stripe_checkout_session_id


async def _templates(db, org, booking_id) -> list[str]:
    async with db.tenant(org.id) as s:
        return list((await s.scalars(select(OutboxMessage.template).where(
            OutboxMessage.booking_id == uuid.UUID(booking_id),
            OutboxMessage.channel == "email"))).all())


async def test_a_payment_link_paid_through_stripe_confirms_the_booking(http, db, org, emulator):
    session_id = await make_session(db, org, capacity=5)
    r = await http.post("/api/v1/bookings", headers=org.front_desk.headers, json={
        "session_id": str(session_id), "adult_count": 2, "child_count": 1,
        "email": "phone@example.com", "first_name": "Phoebe", "source": "phone",
        "payment": {"mode": "payment_link"}})
    assert r.status_code == 201, r.text
    b = r.json()
    assert (b["status"], b["payment_status"], b["balance_due"]) == (
        "pending_payment", "unpaid", 7500)
    assert b["payment_link_url"].startswith(emulator.url)
    # Seats are held until the session starts (it starts in two hours, within 23 h).
    assert datetime.fromisoformat(b["expires_at"]) == datetime.fromisoformat(b["starts_at"])
    assert "payment_link" in await _templates(db, org, b["id"])
    async with db.tenant(org.id) as s:
        assert await s.scalar(select(func.count()).select_from(Booking).where(
            Booking.session_id == session_id)) == 1

    emulator.complete_checkout(await _checkout_session_of(db, org, b["id"]), "paid")
    paid = await eventually(lambda: _booking(http, org, b["id"]),
                            lambda x: x["status"] == "confirmed")
    assert (paid["payment_status"], paid["amount_paid"], paid["payment_link_url"]) == (
        "paid", 7500, None)
    assert [p["provider"] for p in paid["payments"]] == ["stripe"]
    assert "booking_confirmation" in await _templates(db, org, b["id"])


async def test_a_price_difference_paid_by_link_settles_the_balance(http, db, org, emulator):
    session_id = await make_session(db, org)
    r = await http.post("/api/v1/bookings", headers=org.front_desk.headers, json={
        "session_id": str(session_id), "adult_count": 2, "email": "move@example.com",
        "first_name": "Mo", "payment": {"mode": "pay_at_desk", "method": "cash"}})
    booking = r.json()
    dearer = await make_activity(db, org, name="VR Arena", adult_price=4500)
    target = await make_activity_session(
        db, org, dearer, starts_at=datetime.fromisoformat(booking["starts_at"]) + timedelta(days=1))
    r = await _post(http, org.front_desk, booking["id"], "reschedule",
                    {"session_id": str(target), "settle": "payment_link"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["session_id"], moved["total_amount"], moved["balance_due"]) == (
        str(target), 9000, 3000)
    assert moved["payment_link_url"].startswith(emulator.url)
    assert {"booking_rescheduled", "payment_link"} <= set(await _templates(db, org, moved["id"]))

    emulator.complete_checkout(await _checkout_session_of(db, org, moved["id"]), "paid")
    settled = await eventually(lambda: _booking(http, org, moved["id"]),
                               lambda x: x["balance_due"] == 0)
    assert sorted((p["provider"], p["amount"]) for p in settled["payments"]) == [
        ("desk", 6000), ("stripe", 3000)]
    assert (settled["status"], settled["payment_link_url"]) == ("confirmed", None)


async def test_a_payment_link_booking_paid_at_the_desk_instead_closes_the_link(
    http, db, org, emulator, stripe_client
):
    session_id = await make_session(db, org)
    r = await http.post("/api/v1/bookings", headers=org.front_desk.headers, json={
        "session_id": str(session_id), "adult_count": 1, "email": "late@example.com",
        "first_name": "Lee", "payment": {"mode": "payment_link"}})
    booking = r.json()
    checkout = await _checkout_session_of(db, org, booking["id"])
    r = await _post(http, org.front_desk, booking["id"], "mark-paid",
                    {"amount": 1000, "method": "cash"})
    assert r.status_code == 422  # a pending booking is confirmed by its whole price only
    r = await _post(http, org.front_desk, booking["id"], "mark-paid",
                    {"amount": 3000, "method": "cash"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["status"], b["payment_status"], b["expires_at"], b["payment_link_url"]) == (
        "confirmed", "paid", None, None)
    stripe_session = await stripe_client.v1.checkout.sessions.retrieve_async(checkout)
    assert stripe_session["status"] == "expired"
    assert "booking_confirmation" in await _templates(db, org, booking["id"])
