"""Two hundred customers try to book the last ten seats at the same moment."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import func, select

from app.server.db.models import ActivitySession, Booking
from tests.e2e.conftest import checkout_body
from tests.factories import make_session

CLIENTS = 200
SEATS = 10


async def test_200_concurrent_checkouts_for_10_seats_reserve_exactly_10(service, db, org):
    session_id = await make_session(db, org, capacity=SEATS)
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            async with db.system() as s:
                reserved = await s.scalar(
                    select(ActivitySession.reserved).where(ActivitySession.id == session_id)
                )
            peak = max(peak, reserved)
            await asyncio.sleep(0.005)

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=service, timeout=60, limits=limits) as http:

        async def one(i: int) -> httpx.Response:
            body = checkout_body(session_id, adults=1)
            body["customer"]["email"] = f"guest{i}@example.com"
            return await http.post(f"/api/v1/public/{org.slug}/checkout-sessions", json=body)

        watcher = asyncio.create_task(watch())
        answers = await asyncio.gather(*(one(i) for i in range(CLIENTS)))
        done.set()
        await watcher

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: SEATS, 409: CLIENTS - SEATS}, [
        r.text for r in answers if r.status_code not in (201, 409)
    ][:3]
    refusals = [r.json()["error"] for r in answers if r.status_code == 409]
    assert {e["code"] for e in refusals} == {"session_full"}
    assert {e["remaining"] for e in refusals} == {0}
    assert peak <= SEATS
    async with db.tenant(org.id) as s:
        slot = await s.get_one(ActivitySession, session_id)
        held = await s.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.session_id == session_id, Booking.status == "pending_payment")
        )
    assert slot.reserved == SEATS
    assert held == SEATS
