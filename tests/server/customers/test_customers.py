"""Customers: found by e-mail, analytics kept true, search, edits, merge."""

from __future__ import annotations

from tests.server.helpers import booked


async def test_desk_bookings_find_the_same_customer_and_update_analytics(client, db, org):
    a = await booked(client, org, db, adults=2, email="Repeat@Example.com")
    b = await booked(client, org, db, adults=1, email="repeat@example.com")
    assert a["customer_id"] == b["customer_id"]
    c = (await client.get(f"/api/v1/customers/{a['customer_id']}",
                          headers=org.front_desk.headers)).json()
    assert c["total_bookings"] == 2
    assert c["total_spent"] == 0  # nothing paid yet at the desk
    assert c["segment"] == "active"
    assert {x["id"] for x in c["bookings"]} == {a["id"], b["id"]}


async def test_cancelling_updates_the_customers_counts(client, db, org):
    b = await booked(client, org, db, email="once@example.com")
    await client.post(f"/api/v1/bookings/{b['id']}/cancel", headers=org.manager.headers,
                      json={"reason": "changed plans"})
    c = (await client.get(f"/api/v1/customers/{b['customer_id']}",
                          headers=org.front_desk.headers)).json()
    assert c["total_bookings"] == 0


async def test_search_segment_filter_and_stats(client, db, org):
    await booked(client, org, db, email="alice.wong@example.com")
    await booked(client, org, db, email="bob@example.com", phone="+1 (312) 555-0187")
    h = org.front_desk.headers
    r = (await client.get("/api/v1/customers", headers=h, params={"q": "wong"})).json()
    assert [c["email"] for c in r["items"]] == ["alice.wong@example.com"]
    r = (await client.get("/api/v1/customers", headers=h, params={"q": "555-0187"})).json()
    assert [c["phone"] for c in r["items"]] == ["+13125550187"]
    r = (await client.get("/api/v1/customers", headers=h, params={"segment": "new"})).json()
    assert r["total"] == 2 and r["segments"] == {"new": 2}
    r = (await client.get("/api/v1/customers", headers=h, params={"segment": "vip"})).json()
    assert r["items"] == []
    bad = await client.get("/api/v1/customers", headers=h, params={"segment": "royalty"})
    assert bad.status_code == 422


async def test_edit_notes_contact_and_status(client, db, org):
    b = await booked(client, org, db, email="edit@example.com")
    url = f"/api/v1/customers/{b['customer_id']}"
    r = await client.patch(url, headers=org.front_desk.headers, json={
        "notes": "Prefers evening slots", "phone": "312 555 0100", "status": "blocked"})
    assert r.status_code == 200, r.text
    assert (r.json()["notes"], r.json()["phone"], r.json()["status"]) == (
        "Prefers evening slots", "+13125550100", "blocked")
    r = await client.patch(url, headers=org.front_desk.headers, json={"status": "gone"})
    assert r.status_code == 422
    r = await client.patch(url, headers=org.front_desk.headers, json={})
    assert r.status_code == 422


async def test_email_taken_by_another_customer_is_a_conflict(client, db, org):
    a = await booked(client, org, db, email="first@example.com")
    await booked(client, org, db, email="second@example.com")
    r = await client.patch(f"/api/v1/customers/{a['customer_id']}",
                           headers=org.front_desk.headers, json={"email": "SECOND@example.com"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_taken"
    again = await client.get(f"/api/v1/customers/{a['customer_id']}",
                             headers=org.front_desk.headers)
    assert again.json()["email"] == "first@example.com"


async def test_merge_moves_bookings_and_sums_analytics(client, db, org):
    a = await booked(client, org, db, email="dup1@example.com")
    b = await booked(client, org, db, email="dup2@example.com")
    await client.patch(f"/api/v1/customers/{b['customer_id']}", headers=org.manager.headers,
                       json={"notes": "Allergic to smoke machines"})
    r = await client.post("/api/v1/customers/merge", headers=org.manager.headers,
                          json={"keep_id": a["customer_id"], "merge_ids": [b["customer_id"]]})
    kept = r.json()
    assert kept["total_bookings"] == 2
    assert "Allergic to smoke machines" in kept["notes"]
    listing = (await client.get("/api/v1/customers", headers=org.manager.headers)).json()
    assert [c["id"] for c in listing["items"]] == [a["customer_id"]]
