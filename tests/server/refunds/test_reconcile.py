"""charge.refunded reconciles the refunds row written before Stripe was asked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update

from app.server.bookings import repository as bookings
from app.server.db.models import Booking, Payment, Refund
from app.server.payments.confirmation import apply_fact
from app.server.payments.facts import FactKind, PaymentFact, RefundFact
from tests.server.refunds.helpers import detail, walk_in


async def test_a_pending_desk_refund_is_found_by_its_metadata_and_settled_once(client, db, org):
    booking = await walk_in(client, org, db, adults=2)
    booking_id = uuid.UUID(booking["id"])
    intent = f"pi_{uuid.uuid4().hex[:24]}"
    refund_id = uuid.uuid4()
    async with db.tenant(org.id) as s:
        # The booking was paid by card, and a desk refund of $20.00 is waiting for Stripe.
        await s.execute(update(Payment).where(Payment.booking_id == booking_id).values(
            provider="stripe", method="card", stripe_payment_intent_id=intent))
        await s.execute(update(Booking).where(Booking.id == booking_id).values(
            stripe_payment_intent_id=intent))
        payment = await s.scalar(select(Payment).where(Payment.booking_id == booking_id))
        s.add(Refund(id=refund_id, organization_id=org.id, booking_id=booking_id,
                     payment_id=payment.id, provider="stripe", origin="desk", method="card",
                     status="pending", amount=2000, currency="USD", reason="Cold room",
                     idempotency_key=f"refund-{refund_id}", created_by=org.manager.id))
    waiting = await detail(client, org, booking)
    # A pending refund already counts against what can be refunded, not yet as refunded.
    assert (waiting["refunded_amount"], waiting["refundable_amount"]) == (0, 4000)

    fact = PaymentFact(
        FactKind.REFUNDED, booking_id, payment_intent_id=intent, charge_id="ch_test",
        amount=6000, currency="usd", amount_refunded=2000,
        refunds=(RefundFact("re_test_1", 2000, "succeeded", None,
                            {"origin": "desk", "refund_id": str(refund_id)}),),
    )
    for _ in range(2):  # Stripe may deliver the event twice
        async with db.tenant(org.id) as s:
            locked = await bookings.get(s, booking_id, lock=True)
            await apply_fact(s, None, locked, fact, datetime.now(UTC))

    after = await detail(client, org, booking)
    assert (after["payment_status"], after["refunded_amount"], after["refundable_amount"]) == (
        "partially_refunded", 2000, 4000)
    [row] = after["refunds"]
    assert (row["id"], row["status"], row["origin"], row["reason"]) == (
        str(refund_id), "succeeded", "desk", "Cold room")
    async with db.tenant(org.id) as s:
        stored = await s.get_one(Refund, refund_id)
        assert stored.stripe_refund_id == "re_test_1"
    assert [e["kind"] for e in after["events"]].count("refund") == 1
