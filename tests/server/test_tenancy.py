"""Row-level security: one organization's token never reaches another's rows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from app.server.db.models import TENANT_TABLES, Base, Booking, Customer
from tests.factories import make_session
from tests.server.helpers import booked

# Every staff endpoint that takes an id, with the request that probes it.
ID_ENDPOINTS = {
    ("GET", "/api/v1/bookings/{booking_id}"): None,
    ("POST", "/api/v1/bookings/{booking_id}/check-in"): {},
    ("POST", "/api/v1/bookings/{booking_id}/undo-check-in"): None,
    ("POST", "/api/v1/bookings/{booking_id}/no-show"): None,
    ("POST", "/api/v1/bookings/{booking_id}/complete"): None,
    ("POST", "/api/v1/bookings/{booking_id}/cancel"): {"reason": "testing isolation"},
    ("POST", "/api/v1/bookings/{booking_id}/guests-arrived"): {"guests_arrived": 1},
    ("GET", "/api/v1/bookings/{booking_id}/receipt"): None,
    ("POST", "/api/v1/bookings/{booking_id}/refund"): {"amount": 100, "reason": "isolation"},
    ("GET", "/api/v1/bookings/{booking_id}/reschedule-options"): None,
    ("POST", "/api/v1/bookings/{booking_id}/reschedule"): {"session_id": str(uuid.uuid4())},
    ("POST", "/api/v1/bookings/{booking_id}/mark-paid"): {"amount": 100, "method": "cash"},
    ("GET", "/api/v1/customers/{customer_id}"): None,
    ("PATCH", "/api/v1/customers/{customer_id}"): {"notes": "hijacked"},
    ("GET", "/api/v1/outbox/{message_id}"): None,
    ("POST", "/api/v1/outbox/{message_id}/retry"): None,
    ("POST", "/api/v1/bookings/{booking_id}/resend-confirmation"): None,
}


async def test_every_id_endpoint_is_probed(service_app):
    """A new endpoint with an id in its path must be added to the isolation test.

    Public widget endpoints take no token; their isolation is tested with the widget.
    """
    routes = {
        (method.upper(), path)
        for path, operations in service_app.openapi()["paths"].items()
        if "{" in path and not path.startswith("/api/v1/public/")
        for method in operations
    }
    assert routes == set(ID_ENDPOINTS)


async def test_other_orgs_ids_answer_404_and_change_nothing(client, db, org, other_org):
    theirs = await booked(client, other_org, db, email="victim@example.com")
    their_messages = (await client.get("/api/v1/outbox", headers=other_org.manager.headers)).json()
    ids = {"booking_id": theirs["id"], "customer_id": theirs["customer_id"],
           "message_id": their_messages["items"][0]["id"]}
    for (method, path), body in ID_ENDPOINTS.items():
        url = path.format(**ids)
        for staff in (org.front_desk, org.manager, org.admin):
            r = await client.request(method, url, headers=staff.headers, json=body)
            # A role refusal (403, manager-only actions) comes before any lookup and
            # reveals nothing either; with the role, the other org's id is simply not found.
            allowed = {403, 404} if staff is org.front_desk else {404}
            assert r.status_code in allowed, (method, url, staff.role, r.status_code, r.text)
            assert "victim" not in r.text

    # Their booking and customer are exactly as they were.
    after = (await client.get(f"/api/v1/bookings/{theirs['id']}",
                              headers=other_org.front_desk.headers)).json()
    assert after["status"] == "confirmed"
    assert after["version"] == theirs["version"]
    customer = (await client.get(f"/api/v1/customers/{theirs['customer_id']}",
                                 headers=other_org.front_desk.headers)).json()
    assert customer["notes"] == ""


async def test_other_orgs_ids_in_bodies_and_filters_reveal_nothing(client, db, org, other_org):
    theirs = await booked(client, other_org, db, email="victim@example.com")
    their_session = await make_session(db, other_org)
    h = org.manager.headers

    r = await client.post("/api/v1/bookings", headers=h, json={
        "session_id": str(their_session), "adult_count": 1, "email": "x@example.com",
        "first_name": "X"})
    assert r.status_code == 404

    r = await client.post("/api/v1/customers/merge", headers=h, json={
        "keep_id": theirs["customer_id"], "merge_ids": [str(uuid.uuid4())]})
    assert r.status_code == 404

    r = await client.post("/api/v1/checkins", headers=h,
                          json={"booking_number": theirs["booking_number"]})
    assert r.json()["result"] == "unknown"

    for params in ({"customer_id": theirs["customer_id"]}, {"q": "victim"},
                   {"q": theirs["booking_number"]}):
        r = await client.get("/api/v1/bookings", headers=h, params=params)
        assert r.json()["items"] == []
    r = await client.get("/api/v1/customers", headers=h, params={"q": "victim"})
    assert r.json()["items"] == [] and r.json()["total"] == 0
    r = await client.get("/api/v1/sessions", headers=h,
                         params={"activity_id": str(other_org.activity_id)})
    assert r.json() == []


async def test_every_tenant_table_has_forced_rls(db):
    async with db.system() as s:
        rows = (await s.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(:names)"), {"names": [*TENANT_TABLES, "organizations"]})).all()
    assert {r.relname for r in rows} == {*TENANT_TABLES, "organizations"}
    assert all(r.relrowsecurity and r.relforcerowsecurity for r in rows)
    tenant_columns = {t.name for t in Base.metadata.sorted_tables
                      if "organization_id" in t.c and t.name != "stripe_events"}
    assert tenant_columns == set(TENANT_TABLES)


async def test_app_role_sees_only_its_org_in_sql(client, db, org, other_org):
    await booked(client, org, db)
    theirs = await booked(client, other_org, db)
    async with db.tenant(org.id) as s:
        assert await s.scalar(text("SELECT current_user")) == "bookingtms_app"
        for table in TENANT_TABLES:
            foreign = await s.scalar(text(
                f"SELECT count(*) FROM {table} WHERE organization_id <> :org"),
                {"org": org.id})
            assert foreign == 0, table
        changed = await s.execute(
            update(Booking).where(Booking.id == uuid.UUID(theirs["id"])).values(notes="x"))
        assert changed.rowcount == 0
    async with db.anonymous() as s:
        assert await s.scalar(select(func.count()).select_from(Customer)) == 0

    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.tenant(org.id) as s:
            s.add(Customer(organization_id=other_org.id, first_name="Smuggled",
                           last_name="", email="smuggle@example.com", created_via="admin",
                           segment="new", status="active", notes=""))
            await s.flush()


async def test_history_tables_are_append_only_for_the_app(client, db, org):
    await booked(client, org, db)
    for statement in ("UPDATE booking_events SET message = 'rewritten'",
                      "DELETE FROM change_log"):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with db.tenant(org.id) as s:
                await s.execute(text(statement))


async def test_a_pooled_connection_never_falls_back_to_the_owner(database_url, org):
    """Regression: a connection first used by /readyz once lost its SET ROLE on rollback."""
    from app.server.core.db import Database

    single = Database(database_url, pool_size=1)
    try:
        await single.ping()
        async with single.tenant(org.id) as s:
            assert await s.scalar(text("SELECT current_user")) == "bookingtms_app"
        async with single.anonymous() as s:
            assert await s.scalar(text("SELECT current_user")) == "bookingtms_app"
            assert await s.scalar(select(func.count()).select_from(Customer)) == 0
    finally:
        await single.dispose()
