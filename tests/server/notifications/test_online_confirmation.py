"""An online payment confirming a booking writes its messages in the same transaction."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

from app.server.bookings import repository as bookings
from app.server.db.models import Booking
from app.server.payments.confirmation import apply_fact
from app.server.payments.facts import FactKind, PaymentFact
from tests.server.notifications.conftest import (
    T0,
    make_booking,
    outbox_rows,
    set_notification_email,
)


async def pay(db, org, booking_id, intent, *, fail_after=False):
    async with db.tenant(org.id) as s:
        booking = await bookings.get(s, booking_id, lock=True)
        fact = PaymentFact(
            FactKind.PAID,
            booking_id,
            payment_intent_id=intent,
            amount=booking.total_amount,
            currency=booking.currency,
        )
        await apply_fact(s, None, booking, fact, T0)
        if fail_after:
            raise RuntimeError("the transaction dies before commit")


async def test_confirmation_admin_notice_and_reminder_come_with_the_payment(db, org):
    await set_notification_email(db, org, "frontdesk@venue.example")
    booking_id = await make_booking(
        db, org, status="pending_payment", paid=False, email_address="online@example.com"
    )

    intent = f"pi_{uuid.uuid4().hex}"
    await pay(db, org, booking_id, intent)

    rows = await outbox_rows(db, org)
    async with db.tenant(org.id) as s:
        booking = await s.get_one(Booking, booking_id)
    assert booking.status == "confirmed"
    by_template = {(m.template, m.channel): m for m in rows}
    assert set(by_template) == {
        ("booking_confirmation", "email"),
        ("admin_new_booking", "email"),
        ("booking_reminder", "email"),
    }
    assert by_template["booking_confirmation", "email"].recipient == "online@example.com"
    assert by_template["admin_new_booking", "email"].recipient == "frontdesk@venue.example"
    reminder = by_template["booking_reminder", "email"]
    assert reminder.send_after > T0 + timedelta(days=1)

    # Stripe delivers the event again: the payment is known, nothing new is written.
    await pay(db, org, booking_id, intent)
    assert len(await outbox_rows(db, org)) == 3


async def test_a_payment_that_does_not_commit_mails_nothing(db, org):
    await set_notification_email(db, org, "frontdesk@venue.example")
    booking_id = await make_booking(db, org, status="pending_payment", paid=False)
    with contextlib.suppress(RuntimeError):
        await pay(db, org, booking_id, f"pi_{uuid.uuid4().hex}", fail_after=True)
    assert await outbox_rows(db, org) == []
    async with db.tenant(org.id) as s:
        assert (await s.get_one(Booking, booking_id)).status == "pending_payment"
