"""Writing messages into the outbox, inside the transaction of the change that causes them.

Callers pass the booking as it now is and a ``cause`` naming the change (``payment:<id>``,
``cancel:<key>``…). Each (booking, template, cause, channel) is written at most once, so a
retried request or a redelivered webhook never mails twice; a rolled-back change takes its
messages with it. A confirmation schedules the reminder 24 hours before the start, a
cancellation drops pending reminders and a reschedule moves them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import BookingStatus
from app.server.core.validation import normalise_phone
from app.server.db.models import (
    ActivitySession,
    Booking,
    Customer,
    Organization,
    OutboxMessage,
    Venue,
)

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
    customer: Customer | None = None
    if booking.customer_id is not None:
        customer = await session.get(Customer, booking.customer_id)
    elif booking.contact_email:
        customer = await session.scalar(
            select(Customer).where(
                func.lower(Customer.email) == booking.contact_email.strip().lower(),
                Customer.merged_into_id.is_(None),
            )
        )
    email = (customer.email if customer and booking.customer_id else None) or booking.contact_email
    phone = None
    raw_phone = booking.contact_phone or (customer.phone if customer else None)
    if customer is not None and customer.sms_opt_in and raw_phone:
        try:
            phone = normalise_phone(raw_phone)
        except ValueError:
            phone = None  # a number Twilio would refuse: the e-mail still goes
    return Recipients(email.strip() if email else None, phone)


async def admin_address(session: AsyncSession, booking: Booking) -> str | None:
    """The organization's notification address, else its venue's e-mail."""
    address = await session.scalar(
        select(Organization.notification_email).where(Organization.id == booking.organization_id)
    )
    if not address:
        address = await session.scalar(select(Venue.email).where(Venue.id == booking.venue_id))
    return address or None


async def write_message(
    session: AsyncSession,
    booking: Booking,
    *,
    channel: str,
    template: str,
    cause: str,
    recipient: str,
    context: dict[str, Any],
    send_after: datetime,
) -> uuid.UUID | None:
    """Insert one outbox row unless this (booking, template, cause, channel) exists; its id."""
    return await session.scalar(
        insert(OutboxMessage)
        .values(
            organization_id=booking.organization_id,
            booking_id=booking.id,
            channel=channel,
            template=template,
            cause=normalize_cause(cause),
            recipient=recipient,
            context=context,
            status="pending",
            send_after=send_after,
            attempts=0,
        )
        .on_conflict_do_nothing(
            index_elements=[
                OutboxMessage.booking_id,
                OutboxMessage.template,
                OutboxMessage.cause,
                OutboxMessage.channel,
            ]
        )
        .returning(OutboxMessage.id)
    )


async def queue_booking_messages(
    session: AsyncSession,
    booking: Booking,
    template: str,
    *,
    cause: str,
    context: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Write the messages ``template`` means for ``booking`` into the caller's transaction.

    ``booking_confirmation`` (also schedules the reminder), ``booking_cancelled`` (context
    ``refund_amount``; drops pending reminders), ``booking_rescheduled`` (context
    ``old_starts_at`` ISO; moves the reminder), ``payment_link`` (context ``url``),
    ``admin_new_booking`` (to the organization's notification address). E-mail always, SMS
    for confirmation and reminder to customers with a phone who agreed. At most once per
    (booking, template, cause).
    """
    if template not in QUEUED_BY_CALLERS:
        raise ValueError(f"unknown outbox template: {template!r}")
    if not cause:
        raise ValueError("an outbox message needs a cause")
    cause = normalize_cause(cause)
    now = now or datetime.now(UTC)
    context = _jsonable(context or {})
    await session.flush()  # the booking row must exist before its messages refer to it
    if template == ADMIN_NEW_BOOKING:
        address = await admin_address(session, booking)
        if address:
            await write_message(
                session,
                booking,
                channel="email",
                template=template,
                cause=cause,
                recipient=address,
                context=context,
                send_after=now,
            )
        return
    to = await recipients_of(session, booking)
    if template == BOOKING_CANCELLED:
        await drop_pending_reminders(session, booking.id, "Not sent: the booking was cancelled.")
    if to.email:
        await write_message(
            session,
            booking,
            channel="email",
            template=template,
            cause=cause,
            recipient=to.email,
            context=context,
            send_after=now,
        )
    if to.phone and template in SMS_TEMPLATES:
        await write_message(
            session,
            booking,
            channel="sms",
            template=template,
            cause=cause,
            recipient=to.phone,
            context=context,
            send_after=now,
        )
    if template in (BOOKING_CONFIRMATION, BOOKING_RESCHEDULED):
        await schedule_reminders(session, booking, to, now)


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


async def schedule_reminders(
    session: AsyncSession, booking: Booking, to: Recipients, now: datetime
) -> None:
    """Keep exactly one pending reminder per channel, due 24 hours before the start.

    Reminders for another start time (the booking moved) are dropped; one for this start
    time is written, or revived if a move away and back had dropped it. A start less than
    24 hours away gets no reminder: the confirmation has just told the customer.
    """
    starts_at = await session.scalar(
        select(ActivitySession.starts_at).where(ActivitySession.id == booking.session_id)
    )
    if starts_at is None:  # pragma: no cover - a booking always has its session
        return
    cause = reminder_cause(starts_at)
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.booking_id == booking.id,
            OutboxMessage.template == BOOKING_REMINDER,
            OutboxMessage.status == "pending",
            OutboxMessage.cause != cause,
        )
        .values(status="cancelled", last_error="Not sent: the booking moved to another time.")
    )
    due = starts_at - REMINDER_LEAD
    if booking.status not in REMINDED_STATUSES or due <= now:
        return
    context = {"starts_at": starts_at.astimezone(UTC).isoformat()}
    channels = [("email", to.email), ("sms", to.phone)]
    for channel, recipient in channels:
        if not recipient:
            continue
        statement = insert(OutboxMessage).values(
            organization_id=booking.organization_id,
            booking_id=booking.id,
            channel=channel,
            template=BOOKING_REMINDER,
            cause=cause,
            recipient=recipient,
            context=context,
            status="pending",
            send_after=due,
            attempts=0,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    OutboxMessage.booking_id,
                    OutboxMessage.template,
                    OutboxMessage.cause,
                    OutboxMessage.channel,
                ],
                set_={
                    "status": "pending",
                    "send_after": statement.excluded.send_after,
                    "recipient": statement.excluded.recipient,
                    "attempts": 0,
                    "last_error": None,
                },
                where=OutboxMessage.status == "cancelled",
            )
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
