"""GET /sync/changes: complete paging, current rows and tombstones, isolation, bad cursors."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import delete, update

from app.server.db.models import Activity, ActivitySession, Booking, Customer, Venue
from app.server.sync.schemas import (
    ACTIVITY_EXTRA_FIELDS,
    ACTIVITY_FIELDS,
    BOOKING_EXTRA_FIELDS,
    BOOKING_FIELDS,
    CUSTOMER_FIELDS,
    SESSION_FIELDS,
)
from tests.factories import local_today_session_start, make_session
from tests.server.helpers import booked
from tests.server.sync.conftest import Replica, pull


async def test_a_desk_pulls_every_entity_of_its_organization_with_its_current_row(client, db, org):
    bookings = [await booked(client, org, db, email=f"guest{i}@example.com") for i in range(5)]

    desk = Replica()
    await desk.catch_up(client, org.front_desk)

    assert desk.ids("booking") == {b["id"] for b in bookings}
    assert desk.ids("customer") == {b["customer_id"] for b in bookings}
    assert desk.ids("session") == {b["session_id"] for b in bookings}
    assert desk.ids("activity") == {str(org.activity_id)}
    for b in bookings:
        row = desk.rows["booking"][b["id"]]
        assert row["booking_number"] == b["booking_number"]
        assert row["status"] == "confirmed"
        assert row["total_amount"] == b["total_amount"] == 6000
        assert desk.rows["session"][b["session_id"]]["reserved"] == 2


async def test_rows_have_the_documented_fields_and_encodings(client, db, org):
    b = await booked(client, org, db, starts_at=local_today_session_start(org))
    r = await client.post(
        f"/api/v1/bookings/{b['id']}/check-in",
        headers=org.front_desk.headers,
        json={"override_unpaid": True},
    )
    assert r.status_code == 200, r.text
    desk = Replica()
    await desk.catch_up(client, org.front_desk)

    booking = desk.rows["booking"][b["id"]]
    assert list(booking) == [*BOOKING_FIELDS, *BOOKING_EXTRA_FIELDS]
    assert booking["checked_in_by_name"] == r.json()["checked_in_by_name"]
    assert booking["checked_in_by_name"].startswith("Front desk")
    assert datetime.fromisoformat(booking["checked_in_at"]).utcoffset() is not None
    assert date.fromisoformat(booking["booking_date"]) == date.fromisoformat(b["booking_date"])
    assert booking["start_time"] == b["start_time"]
    assert isinstance(booking["amount_paid"], int) and booking["cancelled_by_name"] is None
    assert uuid.UUID(booking["session_id"]) == uuid.UUID(b["session_id"])

    customer = desk.rows["customer"][b["customer_id"]]
    assert list(customer) == list(CUSTOMER_FIELDS)
    assert customer["metadata"] == {} and customer["total_bookings"] == 1

    activity = desk.rows["activity"][str(org.activity_id)]
    assert list(activity) == [*ACTIVITY_FIELDS, *ACTIVITY_EXTRA_FIELDS]
    assert activity["timezone"] == org.timezone and activity["adult_price"] == 3000

    session = desk.rows["session"][b["session_id"]]
    assert list(session) == list(SESSION_FIELDS)
    assert (session["capacity"], session["reserved"]) == (10, 2)


async def test_small_pages_miss_nothing_and_collapse_repeats_to_the_newest(client, db, org):
    bookings = [await booked(client, org, db, email=f"p{i}@example.com") for i in range(6)]
    async with db.tenant(org.id) as s:  # many changes of one booking
        for i in range(5):
            await s.execute(
                update(Booking)
                .where(Booking.id == uuid.UUID(bookings[0]["id"]))
                .values(notes=f"edit {i}")
            )

    desk = Replica()
    await desk.catch_up(client, org.front_desk, limit=3)
    assert desk.pages > 5
    assert desk.ids("booking") == {b["id"] for b in bookings}
    assert desk.rows["booking"][bookings[0]["id"]]["notes"] == "edit 4"

    whole = await pull(client, org.front_desk, 0, 5000)
    ids = [c["id"] for c in whole["changes"]]
    assert len(ids) == len(set(ids)), "an entity appears twice in one page"
    assert not whole["has_more"] and whole["next_cursor"] == desk.cursor


async def test_later_changes_come_after_the_cursor_and_nothing_else_does(client, db, org):
    first = await booked(client, org, db)
    desk = Replica()
    await desk.catch_up(client, org.front_desk)

    again = await pull(client, org.front_desk, desk.cursor)
    assert again["changes"] == [] and not again["has_more"]
    assert again["next_cursor"] == desk.cursor

    async with db.tenant(org.id) as s:
        await s.execute(
            update(Customer)
            .where(Customer.id == uuid.UUID(first["customer_id"]))
            .values(notes="prefers mornings")
        )
    page = await pull(client, org.front_desk, desk.cursor)
    assert [(c["entity"], c["id"], c["op"]) for c in page["changes"]] == [
        ("customer", first["customer_id"], "upsert")
    ]
    assert page["changes"][0]["row"]["notes"] == "prefers mornings"


async def test_a_deleted_row_becomes_a_tombstone(client, db, org):
    kept = await make_session(db, org)
    gone = await make_session(db, org)
    desk = Replica()
    await desk.catch_up(client, org.front_desk)
    assert {str(kept), str(gone)} <= desk.ids("session")

    async with db.tenant(org.id) as s:
        await s.execute(delete(ActivitySession).where(ActivitySession.id == gone))
    page = await pull(client, org.front_desk, desk.cursor)
    assert [(c["entity"], c["id"], c["op"], c["row"]) for c in page["changes"]] == [
        ("session", str(gone), "delete", None)
    ]
    desk.apply(page)
    assert str(gone) not in desk.ids("session") and str(kept) in desk.ids("session")

    # A desk starting from scratch sees the tombstone of a row it never had: harmless.
    fresh = Replica()
    await fresh.catch_up(client, org.front_desk)
    assert str(gone) not in fresh.ids("session")


async def test_a_venue_change_resends_its_activities(client, db, org):
    desk = Replica()
    await desk.catch_up(client, org.front_desk)
    async with db.tenant(org.id) as s:
        await s.execute(
            update(Venue).where(Venue.id == org.venue_id).values(timezone="Europe/Lisbon")
        )
    page = await pull(client, org.front_desk, desk.cursor)
    assert [(c["entity"], c["id"]) for c in page["changes"]] == [("activity", str(org.activity_id))]
    assert page["changes"][0]["row"]["timezone"] == "Europe/Lisbon"


async def test_another_organizations_changes_never_appear_whatever_the_cursor(
    client, db, org, other_org
):
    await booked(client, org, db, email="ours@example.com")
    theirs = await booked(client, other_org, db, email="theirs@example.com")
    async with db.tenant(other_org.id) as s:
        await s.execute(update(Activity).values(name="Their room"))

    their_view = Replica()
    await their_view.catch_up(client, other_org.front_desk)
    ours = Replica()
    await ours.catch_up(client, org.front_desk, limit=1)

    our_ids = {i for entity in ours.rows.values() for i in entity}
    their_ids = {i for entity in their_view.rows.values() for i in entity}
    assert theirs["id"] in their_ids and not our_ids & their_ids
    # Every cursor the other organization was given, asked by this one, leaks nothing.
    their_cursors = {0, their_view.cursor - 1, their_view.cursor}
    for since in their_cursors:
        page = await pull(client, org.front_desk, since, 5000)
        seen = {c["id"] for c in page["changes"]}
        assert not seen & their_ids
        assert all(
            c["row"] is None or c["row"]["organization_id"] == str(org.id) for c in page["changes"]
        )


async def test_bad_cursors_and_limits_get_clear_errors(client, org):
    h = org.front_desk.headers
    for since in ("-1", "abc", "1.5", "１２"):
        r = await client.get("/api/v1/sync/changes", params={"since": since}, headers=h)
        assert r.status_code == 400, since
        assert r.json()["error"]["code"] == "invalid_cursor"
        assert "cursor" in r.json()["error"]["message"]
    r = await client.get("/api/v1/sync/changes", params={"since": 10**15}, headers=h)
    assert r.status_code == 400 and "start again from 0" in r.json()["error"]["message"]
    for limit in (0, 5001, "many"):
        r = await client.get("/api/v1/sync/changes", params={"limit": limit}, headers=h)
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "limit"
    r = await client.get("/api/v1/sync/changes")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_signed_in"
