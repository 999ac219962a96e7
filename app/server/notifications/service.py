"""Outbox use cases for staff: list, retry a failed message, preview, resend a confirmation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import BookingStatus
from app.server.bookings import repository as bookings
from app.server.bookings.events import Actor, record_event
from app.server.core.errors import Conflict, Invalid, NotFound
from app.server.db.models import OutboxMessage
from app.server.notifications import repository
from app.server.notifications.outbox import (
    BOOKING_CANCELLED,
    BOOKING_CONFIRMATION,
    BOOKING_RESCHEDULED,
    SMS_TEMPLATES,
    TEMPLATES,
    normalize_cause,
    queue_booking_messages,
    recipients_of,
)
from app.server.notifications.templates import (
    booking_facts,
    render_email,
    render_sms,
    sample_facts,
    sample_for,
)

CONFIRMED_STATUSES = frozenset(
    {BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COMPLETED}
)


@dataclass(frozen=True, slots=True)
class Preview:
    """A template rendered for previewing."""

    template: str
    booking_id: uuid.UUID | None
    sample: bool
    subject: str
    text: str
    html: str
    sms: str | None
    attachments: list[str]


async def preview(
    session: AsyncSession, template: str, booking_id: uuid.UUID | None, now: datetime
) -> Preview:
    """``template`` rendered for ``booking_id``, or for a sample booking at this venue."""
    if template not in TEMPLATES:
        raise Invalid(f"Unknown template {template!r}; one of: {', '.join(TEMPLATES)}.")
    if booking_id is None:
        facts, context = sample_for(template, await sample_facts(session, now))
    else:
        found = await booking_facts(session, booking_id)
        if found is None:
            raise NotFound("No such booking.")
        facts = found
        context = await repository.latest_context(session, booking_id, template) or (
            _context_from_booking(template, facts.refunded_amount)
        )
    rendered = render_email(template, facts, context)
    return Preview(
        template=template,
        booking_id=booking_id,
        sample=booking_id is None,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sms=render_sms(template, facts, context) if template in SMS_TEMPLATES else None,
        attachments=(
            [f"receipt-{facts.booking_number}.pdf"] if template == BOOKING_CONFIRMATION else []
        ),
    )


def _context_from_booking(template: str, refunded: int) -> dict[str, Any]:
    """Template values for a booking that never had this message: what it would say now."""
    if template == BOOKING_CANCELLED:
        return {"refund_amount": refunded}
    if template == BOOKING_RESCHEDULED:
        return {"old_starts_at": None}
    return {}


async def retry(session: AsyncSession, message_id: uuid.UUID, now: datetime) -> None:
    """Send a failed message again, with a fresh set of attempts."""
    found = await repository.get_with_number(session, message_id)
    if found is None:
        raise NotFound("No such message.")
    message = found[0]
    if not await repository.requeue_failed(session, message_id, now):
        raise Conflict(
            f"Only a failed message can be retried; this one is {message.status}.",
            code="not_failed",
            status=message.status,
        )


async def resend_confirmation(
    session: AsyncSession, booking_id: uuid.UUID, actor: Actor, key: str, now: datetime
) -> list[tuple[OutboxMessage, str]]:
    """Queue the confirmation again (a new cause, so a new message); the rows queued, each
    with the booking number."""
    booking = await bookings.get(session, booking_id)
    if booking is None:
        raise NotFound("No such booking.")
    if BookingStatus(booking.status) not in CONFIRMED_STATUSES:
        raise Conflict(
            f"Only a confirmed booking has a confirmation to send; this one is "
            f"{booking.status.replace('_', ' ')}.",
            code="not_confirmed",
        )
    to = await recipients_of(session, booking)
    if not to.email:
        raise Conflict("The booking has no e-mail address to send to.", code="no_email")
    cause = normalize_cause(f"resend:{key}")
    await queue_booking_messages(session, booking, BOOKING_CONFIRMATION, cause=cause, now=now)
    queued = await repository.messages_with_cause(session, booking.id, cause)
    await record_event(
        session,
        booking,
        "confirmation_resent",
        actor,
        message=f"Confirmation sent again to {to.email}.",
        data={"outbox_ids": [str(m.id) for m in queued]},
    )
    return [(message, booking.booking_number) for message in queued]
