"""queue_booking_messages: what gets written, when, and at most once per cause."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.server.db.models import ActivitySession, Booking, OutboxMessage
from app.server.notifications.outbox import queue_booking_messages, reminder_cause
from tests.factories import make_session
from tests.server.notifications.conftest import (
    T0,
    make_booking,
    outbox_rows,
    queue,
    set_notification_email,
)


async def starts_at(db, org, booking_id):
    async with db.tenant(org.id) as s:
        booking = await s.get_one(Booking, booking_id)
        return (await s.get_one(ActivitySession, booking.session_id)).starts_at


class TestConfirmation:
    async def test_one_email_per_cause_and_a_reminder_a_day_before(self, db, org):
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
        await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")

        confirmations = await outbox_rows(db, org, template="booking_confirmation")
        assert [(m.channel, m.recipient, m.status) for m in confirmations] == [
            ("email", "guest@example.com", "pending")
        ]
        assert confirmations[0].send_after == T0
        reminders = await outbox_rows(db, org, template="booking_reminder")
        start = await starts_at(db, org, booking_id)
        assert [(m.channel, m.send_after, m.status) for m in reminders] == [
            ("email", start - timedelta(hours=24), "pending")
        ]

        await queue(db, org, booking_id, "booking_confirmation", cause="resend:abc")
        assert len(await outbox_rows(db, org, template="booking_confirmation")) == 2
        assert len(await outbox_rows(db, org, template="booking_reminder")) == 1

    async def test_sms_only_to_customers_who_agreed(self, db, org):
        agreed = await make_booking(
            db, org, email_address="sms@example.com", phone="(415) 555-0123", sms_opt_in=True
        )
        declined = await make_booking(
            db, org, email_address="nosms@example.com", phone="415 555 0199", sms_opt_in=False
        )
        for booking_id in (agreed, declined):
            await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")

        sms = await outbox_rows(db, org, channel="sms")
        assert sorted((m.template, m.recipient, m.booking_id) for m in sms) == sorted(
            [
                ("booking_confirmation", "+14155550123", agreed),
                ("booking_reminder", "+14155550123", agreed),
            ]
        )

    async def test_no_reminder_when_the_start_is_less_than_a_day_away(self, db, org):
        booking_id = await make_booking(db, org, starts_at=T0 + timedelta(hours=20))
        await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
        assert await outbox_rows(db, org, template="booking_reminder") == []
        assert len(await outbox_rows(db, org, template="booking_confirmation")) == 1

    async def test_a_rolled_back_change_leaves_no_message(self, db, org):
        booking_id = await make_booking(db, org)

        class Refused(Exception):
            pass

        with pytest.raises(Refused):
            async with db.tenant(org.id) as s:
                booking = await s.get_one(Booking, booking_id)
                booking.status = "cancelled"
                await queue_booking_messages(
                    s, booking, "booking_cancelled", cause="cancel:1", now=T0
                )
                written = await s.scalars(
                    select(OutboxMessage.template).where(OutboxMessage.booking_id == booking_id)
                )
                assert written.all() == ["booking_cancelled"]  # written, then rolled back
                raise Refused

        assert await outbox_rows(db, org) == []

    async def test_unknown_template_is_refused(self, db, org):
        booking_id = await make_booking(db, org)
        with pytest.raises(ValueError, match="unknown outbox template"):
            await queue(db, org, booking_id, "booking_reminder")
        with pytest.raises(ValueError, match="unknown outbox template"):
            await queue(db, org, booking_id, "welcome")


class TestCancellation:
    async def test_cancellation_drops_pending_reminders(self, db, org):
        booking_id = await make_booking(db, org, phone="+14155550123", sms_opt_in=True)
        await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
        async with db.tenant(org.id) as s:
            booking = await s.get_one(Booking, booking_id)
            booking.status = "cancelled"
            await queue_booking_messages(
                s,
                booking,
                "booking_cancelled",
                cause="cancel:1",
                context={"refund_amount": 4500},
                now=T0 + timedelta(hours=1),
            )

        reminders = await outbox_rows(db, org, template="booking_reminder")
        assert {m.channel for m in reminders} == {"email", "sms"}
        assert all(m.status == "cancelled" for m in reminders)
        assert all("cancelled" in (m.last_error or "") for m in reminders)
        [cancelled] = await outbox_rows(db, org, template="booking_cancelled")
        assert cancelled.channel == "email"  # no SMS for a cancellation
        assert cancelled.context == {"refund_amount": 4500}


class TestReschedule:
    async def test_rescheduling_moves_the_reminder(self, db, org):
        booking_id = await make_booking(db, org)
        old_start = await starts_at(db, org, booking_id)
        async with db.tenant(org.id) as s:
            old_session = (await s.get_one(Booking, booking_id)).session_id
        await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
        new_start = old_start + timedelta(days=5)
        new_session = await make_session(db, org, starts_at=new_start)

        async with db.tenant(org.id) as s:
            booking = await s.get_one(Booking, booking_id)
            booking.session_id = new_session
            await queue_booking_messages(
                s,
                booking,
                "booking_rescheduled",
                cause="reschedule:1",
                context={"old_starts_at": old_start.isoformat()},
                now=T0,
            )

        reminders = await outbox_rows(db, org, template="booking_reminder")
        pending = [m for m in reminders if m.status == "pending"]
        assert [(m.send_after, m.cause) for m in pending] == [
            (new_start - timedelta(hours=24), reminder_cause(new_start))
        ]
        [old] = [m for m in reminders if m.cause == reminder_cause(old_start)]
        assert old.status == "cancelled"
        assert "moved" in (old.last_error or "")
        [moved] = await outbox_rows(db, org, template="booking_rescheduled")
        assert moved.context["old_starts_at"] == old_start.isoformat()

        # Moved back again: the first reminder comes back instead of a duplicate.
        async with db.tenant(org.id) as s:
            booking = await s.get_one(Booking, booking_id)
            booking.session_id = old_session
            await queue_booking_messages(
                s, booking, "booking_rescheduled", cause="reschedule:2", now=T0
            )
        reminders = await outbox_rows(db, org, template="booking_reminder")
        assert len(reminders) == 2
        pending = [m for m in reminders if m.status == "pending"]
        assert [(m.cause, m.send_after) for m in pending] == [
            (reminder_cause(old_start), old_start - timedelta(hours=24))
        ]


class TestAdminNotice:
    async def test_goes_to_the_organizations_notification_address(self, db, org):
        await set_notification_email(db, org, "owner@venue.example")
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "admin_new_booking", cause="payment:1")
        [notice] = await outbox_rows(db, org, template="admin_new_booking")
        assert (notice.channel, notice.recipient) == ("email", "owner@venue.example")

    async def test_without_any_address_nothing_is_queued(self, db, org):
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "admin_new_booking", cause="payment:1")
        assert await outbox_rows(db, org) == []


async def test_a_booking_without_email_gets_no_email(db, org):
    booking_id = await make_booking(db, org, email_address=None)
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
    assert await outbox_rows(db, org) == []


async def test_long_causes_fit_and_stay_apart(db, org):
    booking_id = await make_booking(db, org)
    first, second = "cancel:" + "k" * 250, "cancel:" + "k" * 249 + "j"
    for cause in (first, first, second):
        await queue(db, org, booking_id, "booking_cancelled", cause=cause)
    rows = await outbox_rows(db, org)
    assert len(rows) == 2
    assert all(len(m.cause) <= 100 for m in rows)
