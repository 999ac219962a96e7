"""Refunds at the desk: roles, amounts, desk money, retries that never refund twice."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import update

from app.server.db.models import Payment
from tests.server.refunds.helpers import detail, money_rows, post, snapshot, walk_in


async def test_walk_in_paid_in_cash_is_refunded_in_parts_then_refused(client, db, org):
    booking = await walk_in(client, org, db, adults=2)  # 2 x $30.00 in cash
    assert (booking["payment_status"], booking["amount_paid"], booking["refundable_amount"]) == (
        "paid", 6000, 6000)

    r = await post(client, org.manager, booking, "refund",
                   {"amount": 2500, "reason": "Room was too cold"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["payment_status"], b["refunded_amount"], b["refundable_amount"]) == (
        "partially_refunded", 2500, 3500)
    [refund] = b["refunds"]
    assert (refund["provider"], refund["origin"], refund["method"], refund["status"],
            refund["amount"], refund["reason"]) == (
        "desk", "desk", "cash", "succeeded", 2500, "Room was too cold")
    assert b["events"][-1]["kind"] == "refund"
    assert b["events"][-1]["actor_name"].startswith("Manager")
    assert "$25.00" in b["events"][-1]["message"]
    _, [row] = await money_rows(db, org, booking["id"])
    assert row.created_by == org.manager.id

    r = await post(client, org.admin, booking, "refund",
                   {"amount": 3500, "reason": "Goodwill", "method": "card_terminal"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["payment_status"], b["refunded_amount"], b["refundable_amount"]) == (
        "refunded", 6000, 0)
    assert [x["method"] for x in b["refunds"]] == ["cash", "card_terminal"]

    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.manager, booking, "refund", {"amount": 1, "reason": "Once more"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "nothing_to_refund"
    assert await snapshot(db, org, booking["id"]) == before


async def test_more_than_refundable_is_refused_naming_what_is_left(client, db, org):
    booking = await walk_in(client, org, db, adults=2)
    await post(client, org.manager, booking, "refund", {"amount": 1000, "reason": "Late start"})
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.manager, booking, "refund", {"amount": 5001, "reason": "Too much"})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "refund_exceeds_refundable"
    assert error["refundable"] == 5000
    assert "$50.00" in error["message"]
    assert await snapshot(db, org, booking["id"]) == before


async def test_front_desk_may_not_refund_and_nothing_changes(client, db, org):
    booking = await walk_in(client, org, db)
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.front_desk, booking, "refund", {"amount": 100, "reason": "Sorry"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert await snapshot(db, org, booking["id"]) == before


async def test_bad_input_is_refused_and_changes_nothing(client, db, org):
    booking = await walk_in(client, org, db)
    before = await snapshot(db, org, booking["id"])
    for body in ({"amount": 0, "reason": "Zero"}, {"amount": -5, "reason": "Negative"},
                 {"amount": 100, "reason": "no"}, {"amount": 100},
                 {"amount": 10.5, "reason": "Fractions"},
                 {"amount": 100, "reason": "Bad method", "method": "cheque"}):
        r = await post(client, org.manager, booking, "refund", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "invalid"
    r = await client.post(f"/api/v1/bookings/{uuid.uuid4()}/refund", headers=org.manager.headers,
                          json={"amount": 100, "reason": "No such booking"})
    assert r.status_code == 404
    assert await snapshot(db, org, booking["id"]) == before


async def test_a_retried_refund_with_the_same_key_refunds_once(client, db, org):
    booking = await walk_in(client, org, db, adults=3)
    key = str(uuid.uuid4())
    body = {"amount": 2000, "reason": "Double click"}
    first, second = await asyncio.gather(
        post(client, org.manager, booking, "refund", body, key=key),
        post(client, org.manager, booking, "refund", body, key=key),
    )
    third = await post(client, org.manager, booking, "refund", body, key=key)
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert first.json()["refunds"] == second.json()["refunds"] == third.json()["refunds"]
    _, refunds = await money_rows(db, org, booking["id"])
    assert [r.amount for r in refunds] == [2000]
    assert (await detail(client, org, booking))["refunded_amount"] == 2000

    r = await post(client, org.manager, booking, "refund", {"amount": 10, "reason": "Other"},
                   key=key)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_key_reused"


async def test_two_managers_refunding_everything_at_once_give_back_only_what_was_paid(
    client, db, org
):
    booking = await walk_in(client, org, db, adults=2)
    results = await asyncio.gather(*(
        post(client, staff, booking, "refund", {"amount": 6000, "reason": "Full refund"},
             key=str(uuid.uuid4()))
        for staff in (org.manager, org.admin, org.manager)
    ))
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    _, refunds = await money_rows(db, org, booking["id"])
    assert sum(r.amount for r in refunds) == 6000


async def test_a_refund_spreads_over_payments_newest_first(client, db, org):
    booking = await walk_in(client, org, db, adults=3,
                            payment={"mode": "pay_at_desk", "method": "cash", "amount": 5000})
    r = await post(client, org.front_desk, booking, "mark-paid",
                   {"amount": 4000, "method": "card_terminal"})
    assert r.status_code == 200, r.text
    assert r.json()["balance_due"] == 0

    r = await post(client, org.manager, booking, "refund", {"amount": 6000, "reason": "Split"})
    assert r.status_code == 200, r.text
    refunds = r.json()["refunds"]
    assert sorted((x["method"], x["amount"]) for x in refunds) == [
        ("card_terminal", 4000), ("cash", 2000)]
    payments, _ = await money_rows(db, org, booking["id"])
    assert sorted((p.method, p.refunded_amount) for p in payments) == [
        ("card_terminal", 4000), ("cash", 2000)]
    assert r.json()["payment_status"] == "partially_refunded"


async def test_nothing_paid_means_nothing_to_refund(client, db, org):
    booking = await walk_in(client, org, db, payment={"mode": "unpaid"})
    r = await post(client, org.manager, booking, "refund", {"amount": 100, "reason": "Nothing"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "nothing_to_refund"


async def test_a_card_payment_cannot_be_refunded_without_stripe(client, db, org):
    """The ASGI service here has no Stripe key: a card refund is refused, desk money is not."""
    booking = await walk_in(client, org, db, adults=2)
    async with db.tenant(org.id) as s:
        # The cash payment becomes an online card payment, as a webhook would have recorded it.
        await s.execute(update(Payment).where(Payment.booking_id == uuid.UUID(booking["id"]))
                        .values(provider="stripe", method="card",
                                stripe_payment_intent_id=f"pi_{uuid.uuid4().hex}"))
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.manager, booking, "refund", {"amount": 1000, "reason": "Card"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "payments_not_configured"
    assert await snapshot(db, org, booking["id"]) == before
