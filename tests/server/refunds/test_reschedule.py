"""Rescheduling: options, seats moved atomically, state kept, the difference settled."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from app.server.db.models import ActivitySession, Booking
from tests.factories import (
    local_today_session_start,
    make_activity,
    make_activity_session,
    make_session,
)
from tests.server.helpers import reserved_seats
from tests.server.refunds.helpers import outbox, post, snapshot, walk_in


async def options(client, org, booking, day, **params):
    r = await client.get(f"/api/v1/bookings/{booking['id']}/reschedule-options",
                         headers=org.front_desk.headers, params={"date": day, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_options_list_sessions_with_room_and_their_price(client, db, org):
    # Noon at the venue, so the later sessions of the test fall on the same local day.
    local_day = org.now_local().date() + timedelta(days=3)
    start = datetime.combine(local_day, time(12), org.now_local().tzinfo)
    day = local_day.isoformat()
    booking = await walk_in(client, org, db, adults=2, children=1,
                            session_id=await make_session(db, org, starts_at=start))
    roomy = await make_session(db, org, starts_at=start + timedelta(hours=1), capacity=5)
    await make_session(db, org, starts_at=start + timedelta(hours=2), capacity=2)  # too small
    full = await make_session(db, org, starts_at=start + timedelta(hours=3), capacity=4)
    await walk_in(client, org, db, adults=2, session_id=full)

    items = await options(client, org, booking, day)
    assert [i["session_id"] for i in items] == [str(roomy)]
    assert (items[0]["remaining"], items[0]["total_amount"], items[0]["difference"]) == (
        5, 7500, 0)

    other = await make_activity(db, org, name="Laser Maze", adult_price=4000, child_price=2000)
    elsewhere = await make_activity_session(db, org, other, starts_at=start + timedelta(hours=1))
    [item] = await options(client, org, booking, day, activity_id=str(other))
    assert (item["session_id"], item["activity_name"], item["total_amount"],
            item["difference"]) == (str(elsewhere), "Laser Maze", 10000, 2500)


async def test_reschedule_moves_seats_and_keeps_check_in_and_notes(client, db, org):
    start = local_today_session_start(org)
    booking = await walk_in(client, org, db, adults=3,
                            session_id=await make_session(db, org, starts_at=start))
    await post(client, org.front_desk, booking, "check-in", {"guests_arrived": 2})
    async with db.tenant(org.id) as s:
        row = await s.get_one(Booking, uuid.UUID(booking["id"]))
        row.notes = "Birthday: bring the cake out at the end."
    target = await make_session(db, org, starts_at=start + timedelta(minutes=10), capacity=4)

    r = await post(client, org.front_desk, booking, "reschedule",
                   {"session_id": str(target), "reason": "Arrived late"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["session_id"] == str(target)
    assert (b["status"], b["guests_arrived"], b["checked_in_at"], b["notes"]) == (
        "checked_in", 2, booking["checked_in_at"] or b["checked_in_at"],
        "Birthday: bring the cake out at the end.")
    assert b["checked_in_by_name"].startswith("Front desk")
    assert b["checked_in_at"] is not None
    assert (b["total_amount"], b["payment_status"], b["balance_due"]) == (9000, "paid", 0)
    assert await reserved_seats(db, org, booking["session_id"]) == 0
    assert await reserved_seats(db, org, target) == 3
    event = b["events"][-1]
    assert event["kind"] == "reschedule"
    assert (event["data"]["from_session_id"], event["data"]["to_session_id"]) == (
        booking["session_id"], str(target))
    assert "Arrived late" in event["message"]
    assert any(t == "booking_rescheduled" for t, _ in await outbox(db, org, booking["id"]))


async def test_a_full_target_refuses_and_moves_nothing(client, db, org):
    booking = await walk_in(client, org, db, adults=2)
    target = await make_session(db, org, capacity=3)
    await walk_in(client, org, db, adults=2, session_id=target)
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.front_desk, booking, "reschedule", {"session_id": str(target)})
    assert r.status_code == 409
    assert (r.json()["error"]["code"], r.json()["error"]["remaining"]) == ("session_full", 1)
    assert await snapshot(db, org, booking["id"]) == before
    assert await reserved_seats(db, org, target) == 2


async def test_a_dearer_session_is_charged_at_the_desk(client, db, org):
    booking = await walk_in(client, org, db, adults=2)  # $60.00 paid in cash
    other = await make_activity(db, org, adult_price=4500)
    target = await make_activity_session(db, org, other,
                                         starts_at=datetime.now(UTC) + timedelta(days=1))
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.front_desk, booking, "reschedule",
                   {"session_id": str(target), "settle": "charge_at_desk"})
    assert r.status_code == 422  # how it is paid is missing
    r = await post(client, org.front_desk, booking, "reschedule",
                   {"session_id": str(target), "settle": "refund"})
    assert r.status_code == 422  # nothing to refund on a dearer session
    assert await snapshot(db, org, booking["id"]) == before

    r = await post(client, org.front_desk, booking, "reschedule",
                   {"session_id": str(target), "settle": "charge_at_desk",
                    "payment_method": "card_terminal"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["activity_id"], b["total_amount"], b["amount_paid"], b["balance_due"]) == (
        str(other), 9000, 9000, 0)
    assert [(p["method"], p["amount"]) for p in b["payments"]] == [
        ("cash", 6000), ("card_terminal", 3000)]
    assert "$30.00 charged at the desk" in b["events"][-1]["message"]


async def test_a_cheaper_session_is_refunded_only_by_a_manager(client, db, org):
    booking = await walk_in(client, org, db, adults=2)  # $60.00 paid in cash
    other = await make_activity(db, org, adult_price=2000)
    target = await make_activity_session(db, org, other,
                                         starts_at=datetime.now(UTC) + timedelta(days=1))
    before = await snapshot(db, org, booking["id"])
    r = await post(client, org.front_desk, booking, "reschedule",
                   {"session_id": str(target), "settle": "refund"})
    assert r.status_code == 403
    assert await snapshot(db, org, booking["id"]) == before

    r = await post(client, org.manager, booking, "reschedule",
                   {"session_id": str(target), "settle": "refund", "payment_method": "cash"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert (b["total_amount"], b["refunded_amount"], b["payment_status"], b["balance_due"]) == (
        4000, 2000, "partially_refunded", 0)
    [refund] = b["refunds"]
    assert (refund["method"], refund["amount"]) == ("cash", 2000)
    assert [e["kind"] for e in b["events"]][-2:] == ["refund", "reschedule"]


async def test_only_live_bookings_move(client, db, org):
    booking = await walk_in(client, org, db, payment={"mode": "unpaid"})
    target = await make_session(db, org)
    r = await post(client, org.front_desk, booking, "reschedule",
                   {"session_id": booking["session_id"]})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "same_session"
    await post(client, org.manager, booking, "cancel", {"reason": "Gone"})
    r = await post(client, org.front_desk, booking, "reschedule", {"session_id": str(target)})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "invalid_transition"
    assert await reserved_seats(db, org, target) == 0


async def test_concurrent_moves_never_overfill_nor_lose_seats(client, db, org):
    """Eight parties race for the last three seats while two others swap sessions."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    target = await make_session(db, org, starts_at=start, capacity=5)
    await walk_in(client, org, db, adults=2, session_id=target)
    racers = [
        await walk_in(client, org, db, adults=1, payment={"mode": "unpaid"},
                      session_id=await make_session(db, org, starts_at=start + timedelta(
                          minutes=5 + i)))
        for i in range(8)
    ]
    a = await make_session(db, org, starts_at=start + timedelta(hours=2), capacity=3)
    b = await make_session(db, org, starts_at=start + timedelta(hours=3), capacity=3)
    in_a = await walk_in(client, org, db, adults=1, session_id=a)
    in_b = await walk_in(client, org, db, adults=1, session_id=b)

    results = await asyncio.gather(
        *(post(client, org.front_desk, r, "reschedule", {"session_id": str(target)})
          for r in racers),
        *(post(client, org.front_desk, x, "reschedule", {"session_id": str(to)})
          for x, to in ((in_a, b), (in_b, a)) * 1),
    )
    race, swaps = results[:8], results[8:]
    assert Counter(r.status_code for r in race) == {200: 3, 409: 5}, [r.text for r in race]
    assert {r.json()["error"]["code"] for r in race if r.status_code == 409} == {"session_full"}
    assert [r.status_code for r in swaps] == [200, 200], [r.text for r in swaps]

    async with db.tenant(org.id) as s:
        held = dict((await s.execute(
            select(Booking.session_id, func.sum(Booking.party_size))
            .where(Booking.organization_id == org.id,
                   Booking.status.in_(("confirmed", "checked_in")))
            .group_by(Booking.session_id))).all())
        slots = (await s.scalars(select(ActivitySession).where(
            ActivitySession.organization_id == org.id))).all()
    for slot in slots:
        assert slot.reserved == held.get(slot.id, 0) <= slot.capacity, slot.id
    assert held[target] == 5
