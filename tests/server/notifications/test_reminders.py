"""The reminder goes out 24 hours before the start, and never for a cancelled or moved booking.

The clock is passed to the sender, so "a day later" costs nothing.
"""

from __future__ import annotations

from datetime import timedelta

from app.server.db.models import ActivitySession, Booking
from tests.factories import make_session
from tests.server.notifications.conftest import (
    T0,
    make_booking,
    make_sender,
    outbox_rows,
    queue,
    smtp_provider,
)


async def confirmed_with_reminder(db, org):
    booking_id = await make_booking(db, org)
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
    [reminder] = await outbox_rows(db, org, template="booking_reminder")
    return booking_id, reminder


async def test_the_reminder_is_sent_a_day_before_the_start(db, org, smtp_server):
    booking_id, reminder = await confirmed_with_reminder(db, org)
    async with db.tenant(org.id) as s:
        booking = await s.get_one(Booking, booking_id)
        start = (await s.get_one(ActivitySession, booking.session_id)).starts_at
    assert reminder.send_after == start - timedelta(hours=24)
    sender = make_sender(db, smtp_provider(smtp_server))

    now = await sender.send_due(T0, organization_id=org.id)
    assert now.sent == 1  # the confirmation, not the reminder
    assert smtp_server.mailbox.by_outbox_id(reminder.id) == []

    early = await sender.send_due(
        reminder.send_after - timedelta(seconds=1), organization_id=org.id
    )
    assert early.handled == 0 and len(smtp_server.mailbox.messages) == 1

    due = await sender.send_due(reminder.send_after, organization_id=org.id)
    assert due.sent == 1
    [message] = smtp_server.mailbox.by_outbox_id(reminder.id)
    assert message["Subject"].strip().startswith("Reminder of your booking for Mystery Room")
    assert booking.booking_number in message.get_body(("plain",)).get_content()
    assert list(message.iter_attachments()) == []


async def test_a_booking_cancelled_without_dropping_its_reminder_gets_none(db, org, smtp_server):
    booking_id, reminder = await confirmed_with_reminder(db, org)
    async with db.tenant(org.id) as s:  # e.g. a hold ended by a path that sends no message
        (await s.get_one(Booking, booking_id)).status = "cancelled"

    sender = make_sender(db, smtp_provider(smtp_server))
    report = await sender.send_due(reminder.send_after, organization_id=org.id)

    assert smtp_server.mailbox.by_outbox_id(reminder.id) == []
    assert report.cancelled == 1
    [row] = await outbox_rows(db, org, template="booking_reminder")
    assert (row.status, row.last_error) == ("cancelled", "Not sent: the booking is cancelled.")


async def test_a_booking_moved_without_moving_its_reminder_gets_none_for_the_old_time(
    db, org, smtp_server
):
    booking_id, reminder = await confirmed_with_reminder(db, org)
    later = await make_session(db, org, starts_at=T0 + timedelta(days=9))
    async with db.tenant(org.id) as s:
        (await s.get_one(Booking, booking_id)).session_id = later

    await make_sender(db, smtp_provider(smtp_server)).send_due(
        reminder.send_after, organization_id=org.id
    )

    assert smtp_server.mailbox.by_outbox_id(reminder.id) == []
    [row] = await outbox_rows(db, org, template="booking_reminder")
    assert (row.status, row.last_error) == (
        "cancelled",
        "Not sent: the booking moved to another time.",
    )
