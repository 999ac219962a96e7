"""Roles are enforced by the service: front_desk < manager < admin."""

from __future__ import annotations

from tests.server.helpers import booked


async def test_generating_sessions_needs_a_manager(client, org):
    r = await client.post("/api/v1/sessions/generate", headers=org.front_desk.headers,
                          json={"days": 7})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    for staff in (org.manager, org.admin):
        r = await client.post("/api/v1/sessions/generate", headers=staff.headers,
                              json={"days": 7})
        assert r.status_code == 200


async def test_merging_customers_needs_a_manager(client, db, org):
    a = await booked(client, org, db, email="a@example.com")
    b = await booked(client, org, db, email="b@example.com")
    body = {"keep_id": a["customer_id"], "merge_ids": [b["customer_id"]]}
    r = await client.post("/api/v1/customers/merge", headers=org.front_desk.headers, json=body)
    assert r.status_code == 403
    # Refused means untouched.
    still = await client.get(f"/api/v1/customers/{b['customer_id']}",
                             headers=org.manager.headers)
    assert still.json()["bookings"][0]["id"] == b["id"]
    r = await client.post("/api/v1/customers/merge", headers=org.manager.headers, json=body)
    assert r.status_code == 200
    assert {x["id"] for x in r.json()["bookings"]} == {a["id"], b["id"]}


async def test_cancelling_needs_a_manager(client, db, org):
    b = await booked(client, org, db)
    r = await client.post(f"/api/v1/bookings/{b['id']}/cancel", headers=org.front_desk.headers,
                          json={"reason": "changed plans"})
    assert r.status_code == 403
    still = await client.get(f"/api/v1/bookings/{b['id']}", headers=org.front_desk.headers)
    assert still.json()["status"] == "confirmed"
    r = await client.post(f"/api/v1/bookings/{b['id']}/cancel", headers=org.manager.headers,
                          json={"reason": "changed plans"})
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
