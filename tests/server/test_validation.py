"""Bad input gets a clear 4xx in one error shape, and nothing is stored."""

from __future__ import annotations

import pytest

from tests.factories import make_session
from tests.server.helpers import reserved_seats


@pytest.fixture
async def session_id(db, org):
    return str(await make_session(db, org))


def body(session, **over):
    return {"session_id": session, "adult_count": 2, "email": "v@example.com",
            "first_name": "Val", **over}


@pytest.mark.parametrize("over,fragment", [
    ({"adult_count": 0}, "at least 1 adult"),
    ({"adult_count": 10_000}, "adult_count"),
    ({"adult_count": "two"}, "adult_count"),
    ({"child_count": -1}, "child_count"),
    ({"email": "not-an-email"}, "email"),
    ({"phone": "12"}, "phone"),
    ({"first_name": ""}, "first_name"),
    ({"source": "carrier pigeon"}, "source"),
    ({"session_id": "nope"}, "session_id"),
    ({"favourite_colour": "blue"}, "favourite_colour: is not a known field"),
])
async def test_bad_desk_bookings_are_refused_clearly(client, db, org, session_id, over, fragment):
    r = await client.post("/api/v1/bookings", headers=org.front_desk.headers,
                          json=body(session_id, **over))
    assert r.status_code in (400, 422), r.text
    error = r.json()["error"]
    assert fragment in error["message"]
    assert "Traceback" not in r.text
    assert await reserved_seats(db, org, session_id) == 0


async def test_party_larger_than_the_session_is_refused(client, db, org, session_id):
    r = await client.post("/api/v1/bookings", headers=org.front_desk.headers,
                          json=body(session_id, adult_count=400))
    assert r.status_code == 422
    assert "does not fit" in r.json()["error"]["message"]


async def test_malformed_json_is_a_400(client, org):
    r = await client.post("/api/v1/bookings", headers={**org.front_desk.headers,
                          "Content-Type": "application/json"}, content=b'{"session_id": ')
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "malformed_json",
                                 "message": "The request body is not valid JSON.", "fields": []}


@pytest.mark.parametrize("params", [
    {"from": "9999-01-01"}, {"to": "1900-01-01"}, {"from": "2026-13-45"},
    {"from": "2026-05-02", "to": "2026-05-01"}, {"limit": 0}, {"limit": 100000},
    {"status": "teleported"}, {"cursor": "garbage!"},
])
async def test_absurd_list_filters_are_refused(client, org, params):
    r = await client.get("/api/v1/bookings", headers=org.front_desk.headers, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"]


async def test_unknown_routes_and_ids_use_the_error_shape(client, org):
    r = await client.get("/api/v1/nowhere", headers=org.front_desk.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.get("/api/v1/bookings/not-a-uuid", headers=org.front_desk.headers)
    assert r.status_code == 422
    r = await client.get("/api/v1/bookings/00000000-0000-0000-0000-000000000000",
                         headers=org.front_desk.headers)
    assert r.status_code == 404


async def test_openapi_is_published(client):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/bookings", "/api/v1/bookings/{booking_id}/check-in",
                 "/api/v1/customers/{customer_id}", "/api/v1/auth/login", "/readyz"):
        assert path in spec["paths"]
