"""The desk's "+ Add Booking": quote, customer, promo code, and how it is paid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.server.db.models import Booking, Customer, PromoCode
from tests.factories import make_promo, make_session
from tests.server.helpers import reserved_seats
from tests.server.refunds.helpers import money_rows, outbox, walk_in


async def quote(client, org, session_id, **params):
    return await client.get("/api/v1/bookings/quote", headers=org.front_desk.headers,
                            params={"session_id": str(session_id), **params})


async def times_used(db, org, promo_id) -> int:
    async with db.tenant(org.id) as s:
        return (await s.get_one(PromoCode, promo_id)).times_used


async def test_quote_prices_the_party_and_checks_the_promo_without_using_it(client, db, org):
    session_id = await make_session(db, org, capacity=6)
    r = await quote(client, org, session_id, adults=2, children=1)
    assert r.status_code == 200, r.text
    assert r.json() == {"subtotal_amount": 7500, "discount_amount": 0, "total_amount": 7500,
                        "currency": "USD", "promo_code": None, "remaining": 6}

    promo_id = await make_promo(db, org, "SPRING20", value=2000)
    r = await quote(client, org, session_id, adults=2, children=1, promo_code="spring20")
    assert r.json()["discount_amount"] == 1500
    assert r.json()["total_amount"] == 6000
    assert r.json()["promo_code"] == "SPRING20"
    assert await times_used(db, org, promo_id) == 0


async def test_quote_refuses_bad_promo_codes_and_parties_that_do_not_fit(client, db, org):
    session_id = await make_session(db, org, capacity=4)
    r = await quote(client, org, session_id, adults=2, promo_code="NOPE")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "promo_unknown"
    await make_promo(db, org, "OLD", valid_until=datetime.now(UTC) - timedelta(days=1))
    r = await quote(client, org, session_id, adults=2, promo_code="OLD")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "promo_refused"
    assert "expired" in r.json()["error"]["message"]

    await walk_in(client, org, db, adults=3, session_id=session_id)
    r = await quote(client, org, session_id, adults=2)
    assert r.status_code == 409
    assert (r.json()["error"]["code"], r.json()["error"]["remaining"]) == ("session_full", 1)
    r = await quote(client, org, session_id, adults=0, children=1)
    assert r.status_code == 422
    r = await quote(client, org, uuid.uuid4(), adults=1)
    assert r.status_code == 404


async def test_walk_in_paid_in_cash_with_a_promo_code(client, db, org):
    promo_id = await make_promo(db, org, "TENOFF", kind="fixed", value=1000)
    session_id = await make_session(db, org)
    b = await walk_in(client, org, db, adults=2, session_id=session_id, promo_code="tenoff")
    assert (b["status"], b["payment_status"], b["source"]) == ("confirmed", "paid", "walk_in")
    assert (b["subtotal_amount"], b["discount_amount"], b["total_amount"], b["amount_paid"]) == (
        6000, 1000, 5000, 5000)
    assert b["promo_code"] == "TENOFF"
    [payment] = b["payments"]
    assert (payment["provider"], payment["method"], payment["amount"]) == ("desk", "cash", 5000)
    assert [e["kind"] for e in b["events"]] == ["created", "payment"]
    assert await times_used(db, org, promo_id) == 1
    payments, _ = await money_rows(db, org, b["id"])
    assert payments[0].received_by == org.front_desk.id
    assert ("booking_confirmation", "desk_booking") in await outbox(db, org, b["id"])
    assert b["payment_link_url"] is None


async def test_a_booking_for_an_existing_customer(client, db, org):
    first = await walk_in(client, org, db, payment={"mode": "unpaid"})
    session_id = await make_session(db, org)
    r = await client.post("/api/v1/bookings", headers=org.front_desk.headers, json={
        "session_id": str(session_id), "adult_count": 1, "customer_id": first["customer_id"],
        "payment": {"mode": "pay_at_desk", "method": "card_terminal", "amount": 1000}})
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["customer_id"] == first["customer_id"]
    assert (b["amount_paid"], b["balance_due"], b["payment_status"]) == (1000, 2000, "paid")
    async with db.tenant(org.id) as s:
        customer = await s.get_one(Customer, uuid.UUID(first["customer_id"]))
        assert customer.total_bookings == 2


async def test_desk_booking_refusals_change_nothing(client, db, org):
    session_id = await make_session(db, org, capacity=4)

    async def count() -> int:
        async with db.tenant(org.id) as s:
            return await s.scalar(select(func.count()).select_from(Booking)
                                  .where(Booking.session_id == session_id))

    bodies = [
        {"adult_count": 1},  # neither customer nor e-mail
        {"adult_count": 1, "customer_id": str(uuid.uuid4())},
        {"adult_count": 1, "email": "a@example.com", "first_name": "A",
         "payment": {"mode": "pay_at_desk"}},
        {"adult_count": 1, "email": "a@example.com", "first_name": "A",
         "payment": {"mode": "pay_at_desk", "method": "cash", "amount": 999999}},
        {"adult_count": 1, "email": "a@example.com", "first_name": "A",
         "payment": {"mode": "unpaid", "method": "cash"}},
        {"adult_count": 1, "email": "a@example.com", "first_name": "A", "promo_code": "NOPE"},
    ]
    for body in bodies:
        r = await client.post("/api/v1/bookings", headers=org.front_desk.headers,
                              json={"session_id": str(session_id), **body})
        assert r.status_code == 422, (body, r.text)
    # The ASGI service here has no Stripe key: no payment link, and nothing kept.
    r = await client.post("/api/v1/bookings", headers=org.front_desk.headers, json={
        "session_id": str(session_id), "adult_count": 2, "email": "link@example.com",
        "first_name": "Link", "payment": {"mode": "payment_link"}})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "payments_not_configured"
    assert await count() == 0
    assert await reserved_seats(db, org, session_id) == 0
    async with db.tenant(org.id) as s:
        assert await s.scalar(select(Customer).where(Customer.email == "link@example.com")) \
            is None


async def test_unpaid_booking_is_confirmed_and_paid_on_arrival(client, db, org):
    b = await walk_in(client, org, db, adults=1, payment={"mode": "unpaid"})
    assert (b["status"], b["payment_status"], b["balance_due"], b["payments"]) == (
        "confirmed", "unpaid", 3000, [])
    assert b["checked_in_by_name"] is None
