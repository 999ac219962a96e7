"""Bodies of the outbox API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from app.server.core.schemas import ResponseBody

OutboxStatus = Literal["pending", "sending", "sent", "failed", "cancelled"]
TemplateName = Literal[
    "booking_confirmation",
    "booking_reminder",
    "booking_cancelled",
    "booking_rescheduled",
    "payment_link",
    "admin_new_booking",
]


class OutboxMessageRead(ResponseBody):
    """One message of the outbox, as the Outbox page lists it."""

    id: uuid.UUID
    booking_id: uuid.UUID | None
    booking_number: str | None
    channel: Literal["email", "sms"]
    template: str
    cause: str
    recipient: str
    subject: str | None
    status: OutboxStatus
    attempts: int
    last_error: str | None
    send_after: datetime
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    provider_message_id: str | None


class OutboxCounts(ResponseBody):
    pending: int
    sending: int
    sent: int
    failed: int
    cancelled: int


class OutboxPage(ResponseBody):
    """A page of messages, newest first, and how many there are in each status."""

    items: list[OutboxMessageRead]
    next_cursor: str | None
    counts: OutboxCounts


class OutboxPreview(ResponseBody):
    """A template rendered for a booking (or a sample booking)."""

    template: TemplateName
    booking_id: uuid.UUID | None
    sample: bool
    subject: str
    text: str
    html: str
    sms: str | None
    attachments: list[str]


class ResendConfirmationRead(ResponseBody):
    """The messages queued by a resend."""

    queued: list[OutboxMessageRead]
