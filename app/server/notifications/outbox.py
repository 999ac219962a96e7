"""Writing messages into the outbox, inside the transaction of the change that causes them.

Callers pass the booking as it now is and a ``cause`` naming the change (``payment:<id>``,
``cancel:<key>``…). Each (booking, template, cause, channel) is written at most once, so a
retried request or a redelivered webhook never mails twice; a rolled-back change takes its
messages with it. A confirmation schedules the reminder 24 hours before the start, a
cancellation drops pending reminders and a reschedule moves them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import BookingStatus
from app.server.core.validation import normalise_phone
from app.server.db.models import Booking, OutboxMessage

BOOKING_CONFIRMATION = "booking_confirmation"
BOOKING_REMINDER = "booking_reminder"
BOOKING_CANCELLED = "booking_cancelled"
BOOKING_RESCHEDULED = "booking_rescheduled"
PAYMENT_LINK = "payment_link"
ADMIN_NEW_BOOKING = "admin_new_booking"

TEMPLATES = (
    BOOKING_CONFIRMATION,
    BOOKING_REMINDER,
    BOOKING_CANCELLED,
    BOOKING_RESCHEDULED,
    PAYMENT_LINK,
    ADMIN_NEW_BOOKING,
)
"""Every template the outbox sends; the reminder is scheduled, never queued by callers."""
QUEUED_BY_CALLERS = frozenset(TEMPLATES) - {BOOKING_REMINDER}
SMS_TEMPLATES = frozenset({BOOKING_CONFIRMATION, BOOKING_REMINDER})
"""Templates also sent by SMS, to customers with a phone who agreed to texts."""

REMINDER_LEAD = timedelta(hours=24)
CANCELLED_REASON = "Not sent: the booking was cancelled."
MOVED_REASON = "Not sent: the booking moved to another time."
CAUSE_LENGTH = 100
REMINDED_STATUSES = frozenset({BookingStatus.CONFIRMED.value})


@dataclass(frozen=True, slots=True)
class Recipients:
    """Where a booking's messages go: the customer's e-mail, and a phone if they agreed."""

    email: str | None
    phone: str | None


async def recipients_of(session: AsyncSession, booking: Booking) -> Recipients:
    """The booking's customer e-mail, and their phone (E.164) when they agreed to texts.

    An online booking not yet linked to its customer is matched by e-mail, so a returning
    customer's consent counts from their first paid booking on.
    """
    return _recipients(booking, await _message_facts(session, booking))


# Everything a booking's messages need, in one read: its customer (by id, or by e-mail for
# a booking not linked yet), its session's start and the address of admin notices (the
# organization's, else its venue's).
_MESSAGE_FACTS = text("""
    SELECT c.found, c.email, c.phone, c.sms_opt_in,
        (SELECT starts_at FROM activity_sessions WHERE id = :session_id) AS starts_at,
        (SELECT coalesce(nullif(o.notification_email, ''), nullif(v.email, ''))
           FROM organizations AS o, venues AS v
          WHERE o.id = :organization_id AND v.id = :venue_id) AS admin_address
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
        (SELECT true AS found, email, phone, sms_opt_in FROM customers WHERE id = :customer_id)
        UNION ALL
        (SELECT true, email, phone, sms_opt_in FROM customers
          WHERE CAST(:customer_id AS uuid) IS NULL AND lower(email) = :contact_email
            AND merged_into_id IS NULL
          LIMIT 1)
        LIMIT 1
    ) AS c ON true
""")


async def _message_facts(session: AsyncSession, booking: Booking) -> Row[Any]:
    contact = booking.contact_email.strip().lower() if booking.contact_email else None
    result = await session.execute(
        _MESSAGE_FACTS,
        {
            "customer_id": booking.customer_id,
            "contact_email": contact,
            "session_id": booking.session_id,
            "organization_id": booking.organization_id,
            "venue_id": booking.venue_id,
        },
    )
    return result.one()


def _recipients(booking: Booking, facts: Row[Any]) -> Recipients:
    linked = bool(facts.found and booking.customer_id)
    email = (facts.email if linked else None) or booking.contact_email
    phone = None
    raw_phone = booking.contact_phone or (facts.phone if facts.found else None)
    if facts.found and facts.sms_opt_in and raw_phone:
        try:
            phone = normalise_phone(raw_phone)
        except ValueError:
            phone = None  # a number Twilio would refuse: the e-mail still goes
    return Recipients(email.strip() if email else None, phone)


async def queue_booking_messages(
    session: AsyncSession,
    booking: Booking,
    *templates: str,
    cause: str,
    context: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Write the messages ``templates`` mean for ``booking`` into the caller's transaction.

    ``booking_confirmation`` (also schedules the reminder), ``booking_cancelled`` (context
    ``refund_amount``; drops pending reminders), ``booking_rescheduled`` (context
    ``old_starts_at`` ISO; moves the reminder), ``payment_link`` (context ``url``),
    ``admin_new_booking`` (to the organization's notification address). E-mail always, SMS
    for confirmation and reminder to customers with a phone who agreed. At most once per
    (booking, template, cause). One read and one write, however many messages.
    """
    unknown = [t for t in templates if t not in QUEUED_BY_CALLERS]
    if not templates or unknown:
        raise ValueError(f"unknown outbox template: {unknown or templates!r}")
    if not cause:
        raise ValueError("an outbox message needs a cause")
    cause = normalize_cause(cause)
    now = now or datetime.now(UTC)
    context = _jsonable(context or {})
    await session.flush()  # the booking row must exist before its messages refer to it
    facts = await _message_facts(session, booking)
    to = _recipients(booking, facts)
    messages: list[_Message] = []
    for template in templates:
        if template == ADMIN_NEW_BOOKING:
            if facts.admin_address:
                messages.append(_Message("email", template, cause, facts.admin_address, context))
            continue
        if template == BOOKING_CANCELLED:
            await drop_pending_reminders(
                session, booking.id, "Not sent: the booking was cancelled."
            )
        if to.email:
            messages.append(_Message("email", template, cause, to.email, context))
        if to.phone and template in SMS_TEMPLATES:
            messages.append(_Message("sms", template, cause, to.phone, context))
    reminder = None
    if facts.starts_at is not None and {BOOKING_CONFIRMATION, BOOKING_RESCHEDULED} & set(templates):
        reminder = reminder_cause(facts.starts_at)
        messages += _reminders(booking, to, facts.starts_at, now)
    await _write_messages(session, booking, messages, now, keep_reminder=reminder)


def normalize_cause(cause: str) -> str:
    """``cause`` as stored: a long one (an idempotency key, say) is shortened to a prefix
    and its hash, so it still fits the column and still tells causes apart."""
    if len(cause) <= CAUSE_LENGTH:
        return cause
    digest = hashlib.sha256(cause.encode()).hexdigest()[:32]
    return f"{cause[: CAUSE_LENGTH - 33]}#{digest}"


def reminder_cause(starts_at: datetime) -> str:
    """The cause of the reminder for a session starting at ``starts_at``."""
    return f"start:{starts_at.astimezone(UTC).isoformat()}"


@dataclass(frozen=True, slots=True)
class _Message:
    channel: str
    template: str
    cause: str
    recipient: str
    context: dict[str, Any]
    send_after: datetime | None = None  # None: now


def _reminders(
    booking: Booking, to: Recipients, starts_at: datetime, now: datetime
) -> list[_Message]:
    """One reminder per channel, due 24 hours before the start; none for a booking that
    is not confirmed or starts sooner (the confirmation has just told the customer)."""
    due = starts_at - REMINDER_LEAD
    if booking.status not in REMINDED_STATUSES or due <= now:
        return []
    cause = reminder_cause(starts_at)
    context = {"starts_at": starts_at.astimezone(UTC).isoformat()}
    return [
        _Message(channel, BOOKING_REMINDER, cause, recipient, context, due)
        for channel, recipient in (("email", to.email), ("sms", to.phone))
        if recipient
    ]


# One statement of fixed shape for any number of messages. A reminder for another start
# time than ``keep_reminder`` (the booking moved) is dropped; a reminder dropped earlier for
# this start time (a move away and back) is revived; any other message already written for
# its (booking, template, cause, channel) stays as it is.
_WRITE_MESSAGES = text("""
    WITH moved AS (
        UPDATE email_outbox
           SET status = 'cancelled', last_error = :moved_reason, updated_at = now()
         WHERE CAST(:keep_reminder AS text) IS NOT NULL
           AND booking_id = :booking_id AND template = :reminder AND status = 'pending'
           AND cause <> :keep_reminder
    )
    INSERT INTO email_outbox (organization_id, booking_id, channel, template, cause,
                              recipient, context, status, send_after, attempts)
    SELECT :organization_id, :booking_id, m.channel, m.template, m.cause, m.recipient,
           CAST(m.context AS jsonb), 'pending', m.send_after, 0
      FROM unnest(CAST(:channels AS text[]), CAST(:templates AS text[]),
                  CAST(:causes AS text[]), CAST(:recipients AS text[]),
                  CAST(:contexts AS text[]), CAST(:send_afters AS timestamptz[]))
           AS m(channel, template, cause, recipient, context, send_after)
    ON CONFLICT (booking_id, template, cause, channel) DO UPDATE
       SET status = 'pending', send_after = excluded.send_after,
           recipient = excluded.recipient, attempts = 0, last_error = NULL, updated_at = now()
     WHERE email_outbox.status = 'cancelled' AND email_outbox.template = :reminder
""")


async def _write_messages(
    session: AsyncSession,
    booking: Booking,
    messages: list[_Message],
    now: datetime,
    *,
    keep_reminder: str | None,
) -> None:
    if not messages and keep_reminder is None:
        return
    await session.execute(
        _WRITE_MESSAGES,
        {
            "organization_id": booking.organization_id,
            "booking_id": booking.id,
            "reminder": BOOKING_REMINDER,
            "keep_reminder": keep_reminder,
            "moved_reason": MOVED_REASON,
            "channels": [m.channel for m in messages],
            "templates": [m.template for m in messages],
            "causes": [m.cause for m in messages],
            "recipients": [m.recipient for m in messages],
            "contexts": [json.dumps(m.context) for m in messages],
            "send_afters": [m.send_after or now for m in messages],
        },
    )


async def drop_pending_reminders(session: AsyncSession, booking_id: uuid.UUID, why: str) -> int:
    """Cancel the booking's reminders not sent yet; how many."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.booking_id == booking_id,
            OutboxMessage.template == BOOKING_REMINDER,
            OutboxMessage.status == "pending",
        )
        .values(status="cancelled", last_error=why)
        .returning(OutboxMessage.id)
    )
    return len(result.all())


def _jsonable(context: dict[str, Any]) -> dict[str, Any]:
    """The context as JSON values (datetimes as ISO, UUIDs as text)."""
    out: dict[str, Any] = {}
    for key, value in context.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, uuid.UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out
