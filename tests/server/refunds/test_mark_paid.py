"""Taking money at the desk for a booking left unpaid."""

from __future__ import annotations

from tests.server.refunds.helpers import money_rows, post, snapshot, walk_in


async def test_pay_on_arrival_in_parts(client, db, org):
    booking = await walk_in(client, org, db, adults=2, payment={"mode": "unpaid"})
    assert (booking["payment_status"], booking["balance_due"]) == ("unpaid", 6000)

    r = await post(client, org.front_desk, booking, "mark-paid",
                   {"amount": 2000, "method": "cash"})
    assert r.status_code == 200, r.text
    assert (r.json()["balance_due"], r.json()["amount_paid"]) == (4000, 2000)

    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.front_desk, booking, "mark-paid",
                   {"amount": 4001, "method": "card_terminal"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "amount_exceeds_balance"
    assert "$40.00" in r.json()["error"]["message"]
    assert await snapshot(db, org, booking["id"]) == before

    r = await post(client, org.front_desk, booking, "mark-paid",
                   {"amount": 4000, "method": "card_terminal"})
    b = r.json()
    assert (b["payment_status"], b["balance_due"], b["amount_paid"]) == ("paid", 0, 6000)
    assert [(p["provider"], p["method"], p["amount"]) for p in b["payments"]] == [
        ("desk", "cash", 2000), ("desk", "card_terminal", 4000)]
    assert [e["kind"] for e in b["events"]].count("payment") == 2
    payments, _ = await money_rows(db, org, booking["id"])
    assert {p.received_by for p in payments} == {org.front_desk.id}

    r = await post(client, org.front_desk, booking, "mark-paid", {"amount": 1, "method": "cash"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "nothing_due"


async def test_a_cancelled_booking_takes_no_payment_and_bad_input_is_refused(client, db, org):
    booking = await walk_in(client, org, db, payment={"mode": "unpaid"})
    for body in ({"amount": 0, "method": "cash"}, {"amount": 100, "method": "bitcoin"},
                 {"amount": 100}):
        r = await post(client, org.front_desk, booking, "mark-paid", body)
        assert r.status_code == 422, body
    await post(client, org.manager, booking, "cancel", {"reason": "No longer coming"})
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.front_desk, booking, "mark-paid", {"amount": 100, "method": "cash"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "invalid_transition"
    assert await snapshot(db, org, booking["id"]) == before
