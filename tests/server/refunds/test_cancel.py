"""Cancelling with no, a partial or a full refund: seats, money, timeline, e-mail."""

from __future__ import annotations

from tests.server.helpers import reserved_seats
from tests.server.refunds.helpers import outbox, post, snapshot, walk_in


async def test_cancel_without_refund_frees_seats_and_says_who_and_why(client, db, org):
    booking = await walk_in(client, org, db, adults=3)
    assert await reserved_seats(db, org, booking["session_id"]) == 3
    r = await post(client, org.manager, booking, "cancel", {"reason": "Customer called"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["status"], b["payment_status"], b["refunded_amount"]) == ("cancelled", "paid", 0)
    assert b["cancel_reason"] == "Customer called"
    last = b["events"][-1]
    assert (last["kind"], last["from_status"], last["to_status"], last["message"]) == (
        "cancel", "confirmed", "cancelled", "Customer called")
    assert last["actor_name"].startswith("Manager")
    assert await reserved_seats(db, org, booking["session_id"]) == 0
    assert ("booking_cancelled", "cancel") in await outbox(db, org, booking["id"])


async def test_cancel_with_full_refund_gives_everything_back(client, db, org):
    booking = await walk_in(client, org, db, adults=2)
    r = await post(client, org.admin, booking, "cancel",
                   {"reason": "Venue closed", "refund": "full"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["status"], b["payment_status"], b["refunded_amount"], b["refundable_amount"]) == (
        "cancelled", "refunded", 6000, 0)
    assert [e["kind"] for e in b["events"]][-2:] == ["refund", "cancel"]
    assert await reserved_seats(db, org, booking["session_id"]) == 0


async def test_cancel_with_partial_refund(client, db, org):
    booking = await walk_in(client, org, db, adults=2)
    r = await post(client, org.manager, booking, "cancel",
                   {"reason": "Late cancellation fee", "refund": "partial",
                    "refund_amount": 4500, "refund_method": "card_terminal"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["status"], b["payment_status"], b["refunded_amount"]) == (
        "cancelled", "partially_refunded", 4500)
    assert [(x["method"], x["amount"]) for x in b["refunds"]] == [("card_terminal", 4500)]


async def test_a_refused_refund_leaves_the_booking_uncancelled(client, db, org):
    booking = await walk_in(client, org, db, adults=2)
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.manager, booking, "cancel",
                   {"reason": "Too generous", "refund": "partial", "refund_amount": 9000})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "refund_exceeds_refundable"
    assert await snapshot(db, org, booking["id"]) == before


async def test_bad_cancel_requests_change_nothing(client, db, org):
    booking = await walk_in(client, org, db)
    before = await snapshot(db, org, booking["id"])
    for body in ({"reason": "Partial", "refund": "partial"},
                 {"reason": "no"},
                 {"reason": "None with amount", "refund": "none", "refund_amount": 100},
                 {"reason": "Unknown mode", "refund": "some"}):
        r = await post(client, org.manager, booking, "cancel", body)
        assert r.status_code == 422, (body, r.text)
    r = await post(client, org.front_desk, booking, "cancel", {"reason": "Front desk"})
    assert r.status_code == 403
    assert await snapshot(db, org, booking["id"]) == before


async def test_a_cancelled_booking_cannot_be_cancelled_again(client, db, org):
    booking = await walk_in(client, org, db, payment={"mode": "unpaid"})
    assert (await post(client, org.manager, booking, "cancel", {"reason": "First"})).status_code \
        == 200
    r = await post(client, org.manager, booking, "cancel", {"reason": "Second", "refund": "full"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "invalid_transition"
