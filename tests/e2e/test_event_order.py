"""Stripe delivers late, twice and out of order: every order of every duplication of real
event sequences ends in the same booking state.

The sequences are recorded from the emulator (real payloads the service received); each
hypothesis example replays one on a fresh booking, with fresh Stripe ids, in a drawn order
with drawn duplicates, the way the job queue would (an event that cannot apply yet is
retried later).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from app.server.core.db import Database
from app.server.db.models import ActivitySession, Booking, Payment, Refund, StripeEvent
from app.server.payments.checkout import CheckoutRequest, reserve_hold
from app.server.payments.confirmation import RetryLater
from app.server.payments.stripe_events import process_event, store_event
from tests.e2e.conftest import STRIPE_KEY, checkout_body, eventually
from tests.factories import make_org, make_session

STRIPE_ID = re.compile(r"\b((?:cs_test|pi|ch|re|evt|py)_[A-Za-z0-9]+)")


async def _booking(http, org, booking_id):
    return (await http.get(f"/api/v1/bookings/{booking_id}", headers=org.manager.headers)).json()


async def _record(http, db, emulator, org, play) -> tuple[str, list[dict]]:
    """Run ``play`` for real and return (booking id, the events the service stored)."""
    session_id = await make_session(db, org, capacity=10)
    started = (
        await http.post(
            f"/api/v1/public/{org.slug}/checkout-sessions", json=checkout_body(session_id, adults=2)
        )
    ).json()
    await play(started)
    emulator.wait_for_webhooks()
    async with db.system() as s:

        async def settled() -> int:
            rows = await s.scalars(
                select(StripeEvent.id)
                .where(StripeEvent.processed_at.is_(None))
                .execution_options(populate_existing=True)
            )
            return len(rows.all())

        await eventually(settled, lambda n: n == 0)
        events = (
            await s.scalars(
                select(StripeEvent)
                .where(StripeEvent.organization_id == org.id)
                .order_by(StripeEvent.received_at)
            )
        ).all()
    return started["booking_id"], [e.payload for e in events]


@pytest.fixture(scope="module")
async def recorded(service, db, emulator):
    """Three real sequences: paid then refunded in two steps, declined then paid, expired."""
    sequences = {}
    async with httpx.AsyncClient(base_url=service, timeout=30) as http:
        client = stripe.StripeClient(
            STRIPE_KEY, base_addresses={"api": emulator.url}, http_client=stripe.HTTPXClient()
        )

        async def paid_and_refunded(started):
            emulator.complete_checkout(started["checkout_session_id"], "paid")
            b = await eventually(
                lambda: _booking(http, org, started["booking_id"]),
                lambda b: b["status"] == "confirmed",
            )
            intent = b["payments"][0]["stripe_payment_intent_id"]
            await client.v1.refunds.create_async(params={"payment_intent": intent, "amount": 1000})
            await eventually(
                lambda: _booking(http, org, started["booking_id"]),
                lambda b: b["refunded_amount"] == 1000,
            )
            await client.v1.refunds.create_async(params={"payment_intent": intent})

        async def declined_then_paid(started):
            emulator.complete_checkout(started["checkout_session_id"], "declined")
            await eventually(
                lambda: _booking(http, org, started["booking_id"]),
                lambda b: b["status"] == "payment_failed",
            )
            emulator.complete_checkout(started["checkout_session_id"], "paid")

        async def expired(started):
            emulator.expire_checkout(started["checkout_session_id"])

        for name, play in (
            ("paid_and_refunded", paid_and_refunded),
            ("declined_then_paid", declined_then_paid),
            ("expired", expired),
        ):
            org = await make_org(db)
            sequences[name] = await _record(http, db, emulator, org, play)
    return sequences


def _fresh_copy(
    booking_id: str, events: list[dict], new_booking: uuid.UUID, tag: str
) -> list[dict]:
    text = json.dumps(events).replace(booking_id, str(new_booking))
    return json.loads(STRIPE_ID.sub(lambda m: f"{m.group(1)}x{tag}", text))


async def _replay(
    database_url: str, org_id, booking_id: str, events: list[dict], order: list[int]
) -> tuple:
    db = Database(database_url, pool_size=2)
    try:
        tag = uuid.uuid4().hex[:10]
        async with db.tenant(org_id) as s:
            slot_id = await s.scalar(
                select(ActivitySession.id)
                .where(
                    ActivitySession.organization_id == org_id,
                    ActivitySession.reserved == 0,
                    ActivitySession.status == "open",
                    ActivitySession.starts_at > datetime.now(UTC),
                )
                .limit(1)
            )
            hold = await reserve_hold(
                s,
                org_id,
                CheckoutRequest(
                    session_id=slot_id,
                    adult_count=2,
                    child_count=0,
                    name="Hypo Thesis",
                    email=f"h{tag}@example.com",
                    phone=None,
                    promo_code=None,
                    special_requests="",
                ),
                datetime.now(UTC),
                10,
            )
        fresh = _fresh_copy(booking_id, events, hold.booking.id, tag)
        checkout_id = next(
            e["data"]["object"]["id"] for e in fresh if e["type"].startswith("checkout.session.")
        )
        async with db.tenant(org_id) as s:
            await s.execute(
                update(Booking)
                .where(Booking.id == hold.booking.id)
                .values(stripe_checkout_session_id=checkout_id)
            )
        queue = [fresh[i] for i in order]
        for _ in range(len(queue) * len(queue) + 10):
            if not queue:
                break
            event = queue.pop(0)
            await store_event(db, event)
            try:
                await process_event(db, None, event["id"])
            except RetryLater:
                queue.append(event)
        assert not queue, "events never applied"
        return await _state(db, org_id, hold.booking.id, slot_id)
    finally:
        await db.dispose()


async def _state(db, org_id, booking_id, slot_id) -> tuple:
    async with db.tenant(org_id) as s:
        b = await s.get_one(Booking, booking_id)
        slot = await s.get_one(ActivitySession, slot_id)
        payments = sorted(
            (p.status, p.amount, p.refunded_amount)
            for p in (
                await s.scalars(select(Payment).where(Payment.booking_id == booking_id))
            ).all()
        )
        refunds = sorted(
            (r.status, r.amount, r.origin)
            for r in (await s.scalars(select(Refund).where(Refund.booking_id == booking_id))).all()
        )
        await s.execute(
            update(ActivitySession).where(ActivitySession.id == slot_id).values(status="closed")
        )  # used up: the next example takes another
    return (
        b.status,
        b.payment_status,
        b.amount_paid,
        b.refunded_amount,
        slot.capacity - slot.reserved,
        tuple(payments),
        tuple(refunds),
    )


@pytest.fixture(scope="module")
async def replay_org(db):
    org = await make_org(db)
    for _ in range(90):
        await make_session(db, org, capacity=10)
    return org


@pytest.mark.parametrize("scenario", ["paid_and_refunded", "declined_then_paid", "expired"])
def test_any_order_and_any_duplication_ends_in_the_same_state(
    scenario, recorded, replay_org, database_url
):
    booking_id, events = recorded[scenario]
    assert len(events) >= 1
    expected = asyncio.run(
        _replay(database_url, replay_org.id, booking_id, events, list(range(len(events))))
    )
    if scenario == "paid_and_refunded":
        assert expected[:4] == ("confirmed", "refunded", 6000, 6000)
    elif scenario == "declined_then_paid":
        assert expected[:3] == ("confirmed", "paid", 6000)
    else:
        assert expected[:2] == ("expired", "unpaid") and expected[4] == 10

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.data())
    def check(data):
        order = data.draw(st.permutations(range(len(events))))
        extra = data.draw(st.lists(st.integers(0, len(events) - 1), max_size=len(events)))
        for index in extra:  # a duplicate lands anywhere, even before the original
            order.insert(data.draw(st.integers(0, len(order))), index)
        got = asyncio.run(_replay(database_url, replay_org.id, booking_id, events, order))
        assert got == expected

    check()
