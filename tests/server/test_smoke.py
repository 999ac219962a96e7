from tests.factories import make_session


async def test_health(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_desk_booking_roundtrip(client, org, db):
    session_id = await make_session(db, org)
    r = await client.post(
        "/api/v1/bookings",
        headers=org.front_desk.headers,
        json={"session_id": str(session_id), "adult_count": 2, "child_count": 1,
              "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "confirmed"
    assert body["total_amount"] == 7500
    r = await client.get("/api/v1/bookings", headers=org.front_desk.headers)
    assert [b["booking_number"] for b in r.json()["items"]] == [body["booking_number"]]
