"""Stripe events stored and processed together: what a burst of webhooks shares, and what
it must not (a bad event fails only its own delivery; events of different bookings are
never applied as one)."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.server.db.models import (
    Booking,
    BookingEvent,
    Customer,
    OutboxMessage,
    Payment,
    StripeEvent,
)
from app.server.jobs import (
    PROCESS_STRIPE_EVENTS,
    JobRunner,
    build_queue,
    defer_stripe_events_in,
    job_chunks,
)
from app.server.payments import checkout
from app.server.payments.checkout import CheckoutRequest, reserve_hold
from app.server.payments.stripe_events import (
    EventInbox,
    about_one_booking,
    process_event,
    process_groups,
    store_event,
)
from tests.factories import make_org, make_session


async def _hold(db, org, email: str = "ada@example.com") -> Booking:
    session_id = await make_session(db, org, capacity=10)
    async with db.tenant(org.id) as s:
        hold = await reserve_hold(
            s,
            org.id,
            CheckoutRequest(session_id, 2, 0, "Ada Lovelace", email, None, None, ""),
            datetime.now(UTC),
            10,
        )
    return hold.booking


def _paid(booking: Booking) -> list[dict]:
    """The two events of its Checkout Session paid by card, as Stripe sends them."""
    tag = uuid.uuid4().hex
    intent = f"pi_{tag}"
    metadata = {"booking_id": str(booking.id)}
    created = int(time.time())
    return [
        {
            "id": f"evt_pi_{tag}",
            "type": "payment_intent.succeeded",
            "created": created,
            "data": {
                "object": {
                    "id": intent,
                    "object": "payment_intent",
                    "amount": booking.total_amount,
                    "amount_received": booking.total_amount,
                    "currency": booking.currency.lower(),
                    "latest_charge": f"ch_{tag}",
                    "metadata": metadata,
                }
            },
        },
        {
            "id": f"evt_cs_{tag}",
            "type": "checkout.session.completed",
            "created": created,
            "data": {
                "object": {
                    "id": f"cs_test_{tag}",
                    "object": "checkout.session",
                    "payment_intent": intent,
                    "payment_status": "paid",
                    "amount_total": booking.total_amount,
                    "currency": booking.currency.lower(),
                    "client_reference_id": str(booking.id),
                    "metadata": metadata,
                }
            },
        },
    ]


async def _queued_groups(db, event_ids: set[str]) -> list[list[str]]:
    """The event groups of the queued batch jobs that hold any of ``event_ids``."""
    async with db.system() as s:
        groups = (
            await s.scalars(
                text(
                    "SELECT jsonb_array_elements(args->'groups') FROM procrastinate_jobs"
                    " WHERE task_name = :task"
                ),
                {"task": PROCESS_STRIPE_EVENTS},
            )
        ).all()
    return [group for group in groups if set(group) & event_ids]


@pytest.fixture
async def queue(db):
    runner = JobRunner(build_queue(db, None), run_worker=False)
    await runner.start()
    try:
        yield runner.queue
    finally:
        await runner.stop()


async def test_a_burst_is_stored_together_each_event_once_with_its_job(db, org, queue):
    bookings = [await _hold(db, org, f"b{i}@example.com") for i in range(3)]
    events = [event for b in bookings for event in _paid(b)]
    inbox = EventInbox(db, functools.partial(defer_stripe_events_in, queue=queue))

    # Stripe delivers one event twice at the same moment: it is stored once.
    answers = await asyncio.gather(*(inbox.put(e) for e in [*events, events[0]]))

    assert answers.count(True) == len(events)
    assert answers[0] != answers[-1]  # one of the two copies was the redelivery
    ids = {e["id"] for e in events}
    async with db.system() as s:
        stored = await s.scalar(
            select(func.count()).select_from(StripeEvent).where(StripeEvent.id.in_(ids))
        )
    assert stored == len(events)
    groups = await _queued_groups(db, ids)
    assert sorted(sorted(g) for g in groups) == sorted(
        sorted(e["id"] for e in _pair) for _pair in zip(events[::2], events[1::2], strict=True)
    )  # each booking's two events in one job group, every event queued exactly once


async def test_a_bad_event_fails_only_its_own_delivery(db, org, queue):
    booking = await _hold(db, org)
    good = _paid(booking)
    bad = {**_paid(booking)[0], "id": f"evt_bad_{uuid.uuid4().hex}", "note": "nul \u0000 here"}
    inbox = EventInbox(db, functools.partial(defer_stripe_events_in, queue=queue))

    answers = await asyncio.gather(
        *(inbox.put(e) for e in [good[0], bad, good[1]]), return_exceptions=True
    )

    assert answers[0] is True and answers[2] is True
    assert isinstance(answers[1], DBAPIError)  # PostgreSQL refuses \u0000 in jsonb
    async with db.system() as s:
        kept = set(
            (
                await s.scalars(
                    select(StripeEvent.id).where(
                        StripeEvent.id.in_([e["id"] for e in [*good, bad]])
                    )
                )
            ).all()
        )
    assert kept == {good[0]["id"], good[1]["id"]}


async def test_both_events_of_a_payment_apply_together_and_once(db, org):
    booking = await _hold(db, org)
    events = _paid(booking)
    for event in events:
        await store_event(db, event)
    assert about_one_booking(events) == [[e["id"] for e in events]]

    outcomes = await process_groups(db, None, [[e["id"] for e in events]])

    assert outcomes == {e["id"]: "applied_with_messages" for e in events}
    assert [await process_event(db, None, e["id"]) for e in events] == ["duplicate"] * 2
    async with db.tenant(org.id) as s:
        confirmed = await s.get_one(Booking, booking.id, populate_existing=True)
        payments = (await s.scalars(select(Payment).where(Payment.booking_id == booking.id))).all()
        kinds = (
            await s.scalars(select(BookingEvent.kind).where(BookingEvent.booking_id == booking.id))
        ).all()
    assert (confirmed.status, confirmed.payment_status) == ("confirmed", "paid")
    assert confirmed.amount_paid == booking.total_amount
    assert confirmed.customer_id is not None
    assert [p.stripe_charge_id is not None for p in payments] == [True]
    assert sorted(kinds) == ["created", "payment"]


async def test_events_of_different_bookings_are_never_applied_as_one(db, org):
    first, second = await _hold(db, org, "one@example.com"), await _hold(db, org, "two@x.com")
    mixed = [_paid(first)[0], _paid(second)[1]]
    for event in mixed:
        await store_event(db, event)

    assert await process_groups(db, None, [[e["id"] for e in mixed]]) is None

    async with db.system() as s:
        untouched = (
            await s.scalars(
                select(StripeEvent.processed_at).where(StripeEvent.id.in_([e["id"] for e in mixed]))
            )
        ).all()
    assert untouched == [None, None]  # left for one-by-one processing
    assert [await process_event(db, None, e["id"]) for e in mixed] == [
        "applied_with_messages",
        "applied_with_messages",
    ]


async def test_a_jobs_payments_of_two_organizations_are_applied_in_one_go(db, org):
    other = await make_org(db)
    bookings = [
        await _hold(db, org, "one@example.com"),
        await _hold(db, other, "two@example.com"),
        await _hold(db, org, "three@example.com"),
    ]
    groups = []
    for booking in bookings:
        events = _paid(booking)
        for event in events:
            await store_event(db, event)
        groups.append([e["id"] for e in events])

    outcomes = await process_groups(db, None, groups)

    assert outcomes == {i: "applied_with_messages" for group in groups for i in group}
    for booking in bookings:
        async with db.tenant(booking.organization_id) as s:
            confirmed = await s.get_one(Booking, booking.id)
            customer = await s.get(Customer, confirmed.customer_id)
            mail = (
                await s.scalars(
                    select(OutboxMessage.template).where(OutboxMessage.booking_id == booking.id)
                )
            ).all()
        assert (confirmed.status, confirmed.payment_status) == ("confirmed", "paid")
        assert customer is not None and customer.email == booking.contact_email
        assert "booking_confirmation" in mail
    async with db.system() as s:
        marked = (
            await s.execute(
                select(StripeEvent.organization_id, func.count())
                .where(StripeEvent.id.in_([i for group in groups for i in group]))
                .where(StripeEvent.processed_at.is_not(None))
                .group_by(StripeEvent.organization_id)
            )
        ).all()
    assert dict(marked) == {org.id: 4, other.id: 2}


async def test_one_group_that_cannot_go_with_the_others_leaves_them_all_as_they_were(db, org):
    paid = await _hold(db, org, "one@example.com")
    first, second = await _hold(db, org, "two@example.com"), await _hold(db, org, "three@x.com")
    good = _paid(paid)
    mixed = [_paid(first)[0], _paid(second)[1]]
    for event in [*good, *mixed]:
        await store_event(db, event)

    assert (
        await process_groups(db, None, [[e["id"] for e in good], [e["id"] for e in mixed]]) is None
    )

    async with db.system() as s:
        processed = await s.scalar(
            select(func.count())
            .select_from(StripeEvent)
            .where(StripeEvent.id.in_([e["id"] for e in [*good, *mixed]]))
            .where(StripeEvent.processed_at.is_not(None))
        )
    async with db.tenant(org.id) as s:
        still = await s.get_one(Booking, paid.id)
    assert processed == 0
    assert still.status == "pending_payment"
    # Left for one event at a time, as the job does next.
    for event in [*good, *mixed]:
        await process_event(db, None, event["id"])
    async with db.tenant(org.id) as s:
        statuses = [(await s.get_one(Booking, b.id)).status for b in (paid, first, second)]
    assert statuses == ["confirmed"] * 3


async def test_a_booking_number_already_taken_is_drawn_again(db, org, monkeypatch):
    taken = (await _hold(db, org, "first@example.com")).booking_number
    draws = iter([taken, "BK-FRESH2-NMBR"])
    monkeypatch.setattr(checkout, "new_booking_number", lambda: next(draws))

    second = await _hold(db, org, "second@example.com")

    assert second.booking_number == "BK-FRESH2-NMBR"
    async with db.tenant(org.id) as s:
        numbers = (
            await s.scalars(
                select(Booking.booking_number).where(
                    Booking.booking_number.in_([taken, "BK-FRESH2-NMBR"])
                )
            )
        ).all()
        created = await s.scalar(
            select(func.count())
            .select_from(BookingEvent)
            .where(BookingEvent.booking_id == second.id, BookingEvent.kind == "created")
        )
    assert sorted(numbers) == sorted([taken, "BK-FRESH2-NMBR"])
    assert created == 1


@pytest.mark.parametrize(
    ("sizes", "jobs"),
    [
        ([2] * 11, [8, 8, 6]),  # 22 events: three even jobs, not 10, 10 and 2
        ([1] + [2] * 10, [7, 8, 6]),
        ([2] * 5, [10]),
        ([1], [1]),
    ],
)
def test_a_burst_is_queued_in_even_jobs_that_never_split_a_booking(sizes, jobs):
    groups = [[f"evt_{n}_{i}" for i in range(size)] for n, size in enumerate(sizes)]

    chunks = job_chunks(groups)

    assert [sum(len(group) for group in chunk) for chunk in chunks] == jobs
    assert [group for chunk in chunks for group in chunk] == groups
