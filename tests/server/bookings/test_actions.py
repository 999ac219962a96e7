"""Each lifecycle action: allowed moves, capacity effect, timeline, refusals that change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.server.db.models import Booking
from tests.factories import local_today_session_start, make_session
from tests.server.helpers import book, booked, reserved_seats


async def act(client, staff, booking, action, json=None, **kw):
    return await client.post(f"/api/v1/bookings/{booking['id']}/{action}",
                             headers=staff.headers, json=json, **kw)


async def paid(db, org, booking):
    """Mark the booking paid in the database (taking payment is the money issue's job)."""
    async with db.tenant(org.id) as s:
        await s.execute(update(Booking).where(Booking.id == uuid.UUID(booking["id"])).values(
            amount_paid=Booking.total_amount, payment_status="paid"))


@pytest.fixture
async def today_booking(client, db, org):
    b = await booked(client, org, db, adults=3, starts_at=local_today_session_start(org))
    await paid(db, org, b)
    return b


async def test_desk_booking_reserves_seats_and_writes_the_timeline(client, db, org):
    session_id = await make_session(db, org)
    r = await book(client, org, session_id, adults=2, children=1)
    b = r.json()
    assert (b["status"], b["payment_status"], b["party_size"]) == ("confirmed", "unpaid", 3)
    assert b["balance_due"] == b["total_amount"] == 2 * 3000 + 1500
    assert await reserved_seats(db, org, session_id) == 3
    assert [(e["kind"], e["to_status"], e["actor_type"]) for e in b["events"]] == [
        ("created", "confirmed", "staff")]


async def test_check_in_keeps_seats_and_complete_frees_them(client, db, org, today_booking):
    sid = today_booking["session_id"]
    r = await act(client, org.front_desk, today_booking, "check-in", {"guests_arrived": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "checked_in" and body["guests_arrived"] == 2
    assert body["checked_in_at"] is not None
    assert await reserved_seats(db, org, sid) == 3
    r = await client.post(f"/api/v1/bookings/{today_booking['id']}/guests-arrived",
                          headers=org.front_desk.headers, json={"guests_arrived": 3})
    assert r.json()["guests_arrived"] == 3
    r = await act(client, org.front_desk, today_booking, "complete")
    assert r.json()["status"] == "completed"
    assert await reserved_seats(db, org, sid) == 0
    kinds = [(e["kind"], e["from_status"], e["to_status"]) for e in r.json()["events"]]
    assert kinds[1:] == [("check_in", "confirmed", "checked_in"),
                         ("guests_arrived", None, None),
                         ("complete", "checked_in", "completed")]


async def test_undo_check_in_returns_to_confirmed(client, db, org, today_booking):
    await act(client, org.front_desk, today_booking, "check-in")
    r = await act(client, org.front_desk, today_booking, "undo-check-in")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["checked_in_at"], r.json()["guests_arrived"]) == (
        "confirmed", None, 0)
    assert await reserved_seats(db, org, today_booking["session_id"]) == 3


async def test_undo_check_in_is_refused_the_next_day(client, db, org, today_booking):
    await act(client, org.front_desk, today_booking, "check-in")
    async with db.tenant(org.id) as s:
        await s.execute(update(Booking).where(Booking.id == uuid.UUID(today_booking["id"]))
                        .values(checked_in_at=datetime.now(UTC) - timedelta(days=1)))
    r = await act(client, org.front_desk, today_booking, "undo-check-in")
    assert r.status_code == 409
    assert "on the day" in r.json()["error"]["message"]


async def test_cancel_frees_seats_and_records_who_and_why(client, db, org):
    b = await booked(client, org, db, adults=4)
    r = await act(client, org.manager, b, "cancel", {"reason": "Customer called in sick"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "Customer called in sick"
    assert await reserved_seats(db, org, b["session_id"]) == 0
    last = body["events"][-1]
    assert (last["kind"], last["actor_name"], last["message"]) == (
        "cancel", "Manager " + org.slug[-3:], "Customer called in sick")


async def test_no_show_frees_seats_once_the_session_started(client, db, org):
    b = await booked(client, org, db, starts_in=timedelta(minutes=-10), adults=2)
    r = await act(client, org.front_desk, b, "no-show")
    assert r.status_code == 200 and r.json()["status"] == "no_show"
    assert await reserved_seats(db, org, b["session_id"]) == 0


async def test_no_show_before_the_start_is_refused(client, db, org):
    b = await booked(client, org, db, starts_in=timedelta(hours=5))
    r = await act(client, org.front_desk, b, "no-show")
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_early"


@pytest.mark.parametrize("action,json", [
    ("check-in", None), ("undo-check-in", None), ("no-show", None), ("complete", None),
    ("cancel", {"reason": "again"}),
])
async def test_actions_on_a_terminal_booking_are_refused_and_change_nothing(
    client, db, org, action, json
):
    b = await booked(client, org, db, adults=2)
    cancelled = (await act(client, org.manager, b, "cancel", {"reason": "first"})).json()
    r = await act(client, org.manager, b, action, json)
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "invalid_transition" and "cancelled" in error["message"]
    after = (await client.get(f"/api/v1/bookings/{b['id']}", headers=org.front_desk.headers))
    assert after.json()["version"] == cancelled["version"]
    assert len(after.json()["events"]) == len(cancelled["events"])
    assert await reserved_seats(db, org, b["session_id"]) == 0


async def test_check_in_refuses_another_day_and_unpaid(client, db, org):
    tomorrow = await booked(client, org, db, starts_in=timedelta(days=2))
    r = await act(client, org.front_desk, tomorrow, "check-in")
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_today"
    assert r.json()["error"]["message"].startswith("Booking is for ")

    unpaid = await booked(client, org, db, adults=2, starts_at=local_today_session_start(org))
    r = await act(client, org.front_desk, unpaid, "check-in")
    assert r.status_code == 409
    assert r.json()["error"]["message"] == "Unpaid: $60.00 due."
    r = await act(client, org.front_desk, unpaid, "check-in", {"override_unpaid": True})
    assert r.status_code == 200 and r.json()["status"] == "checked_in"


async def test_idempotency_key_replays_the_answer_and_acts_once(client, db, org, today_booking):
    headers = {**org.front_desk.headers, "Idempotency-Key": "door-scan-0001"}
    first = await client.post(f"/api/v1/bookings/{today_booking['id']}/check-in",
                              headers=headers)
    again = await client.post(f"/api/v1/bookings/{today_booking['id']}/check-in",
                              headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert [e["kind"] for e in again.json()["events"]].count("check_in") == 1
    other = await client.post(f"/api/v1/bookings/{today_booking['id']}/complete",
                              headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_retried_desk_booking_with_a_key_books_once(client, db, org):
    session_id = await make_session(db, org)
    headers = {**org.front_desk.headers, "Idempotency-Key": "walkin-7f3a9c21"}
    body = {"session_id": str(session_id), "adult_count": 2, "email": "w@example.com",
            "first_name": "Walk"}
    a = await client.post("/api/v1/bookings", headers=headers, json=body)
    b = await client.post("/api/v1/bookings", headers=headers, json=body)
    assert a.json()["booking_number"] == b.json()["booking_number"]
    assert await reserved_seats(db, org, session_id) == 2


async def test_full_session_answers_409_with_remaining_and_reserves_nothing(client, db, org):
    session_id = await make_session(db, org, capacity=5)
    assert (await book(client, org, session_id, adults=3)).status_code == 201
    r = await book(client, org, session_id, adults=3, email="late@example.com")
    assert r.status_code == 409
    assert r.json()["error"] | {} == {
        "code": "session_full", "message": "Only 2 seats left in this session.", "remaining": 2}
    assert await reserved_seats(db, org, session_id) == 3
    customers = await client.get("/api/v1/customers", headers=org.front_desk.headers,
                                 params={"q": "late@"})
    assert customers.json()["total"] == 0
