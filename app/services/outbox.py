"""The outbox at the desk (managers): what was sent, what waits, what failed and why;
retrying a failed message, previewing a template, resending a booking's confirmation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.services.api_client import ApiClient

STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
STATUS_LABELS = {
    "pending": "Waiting",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Not sent",
}
TEMPLATE_LABELS = {
    "booking_confirmation": "Booking confirmation",
    "booking_reminder": "Reminder (24 h before)",
    "booking_cancelled": "Cancellation",
    "booking_rescheduled": "Booking moved",
    "payment_link": "Payment link",
    "admin_new_booking": "New booking (staff notice)",
}
CHANNEL_LABELS = {"email": "E-mail", "sms": "SMS"}
PAGE_SIZE = 100


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message as the Outbox page lists it."""

    id: uuid.UUID
    booking_id: uuid.UUID | None
    booking_number: str | None
    channel: str
    template: str
    recipient: str
    subject: str | None
    status: str
    attempts: int
    last_error: str | None
    send_after: datetime
    sent_at: datetime | None
    created_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutboxMessage:
        return cls(
            id=uuid.UUID(data["id"]),
            booking_id=uuid.UUID(data["booking_id"]) if data.get("booking_id") else None,
            booking_number=data.get("booking_number"),
            channel=data["channel"],
            template=data["template"],
            recipient=data["recipient"],
            subject=data.get("subject"),
            status=data["status"],
            attempts=int(data["attempts"]),
            last_error=data.get("last_error"),
            send_after=datetime.fromisoformat(data["send_after"]),
            sent_at=_when(data.get("sent_at")),
            created_at=datetime.fromisoformat(data["created_at"]),
        )

    @property
    def template_label(self) -> str:
        return TEMPLATE_LABELS.get(self.template, self.template)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def can_retry(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True, slots=True)
class MessagePage:
    """One page of messages, newest first, and the counts per status."""

    items: tuple[OutboxMessage, ...]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TemplatePreview:
    """A template rendered by the service."""

    template: str
    subject: str
    text: str
    html: str
    sms: str | None
    attachments: tuple[str, ...]
    sample: bool


class OutboxService:
    """The outbox use cases over the API client."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    async def page(
        self, status: str | None = None, cursor: str | None = None, limit: int = PAGE_SIZE
    ) -> MessagePage:
        """Messages newest first, optionally of one status, from ``cursor`` on."""
        data = await self._client.get(
            "/outbox", {"status": status, "cursor": cursor, "limit": limit}
        )
        return MessagePage(
            items=tuple(OutboxMessage.from_json(item) for item in data["items"]),
            next_cursor=data["next_cursor"],
            counts=dict(data["counts"]),
        )

    async def retry(self, message_id: uuid.UUID) -> OutboxMessage:
        """Send a failed message again; the message as it now stands (waiting)."""
        return OutboxMessage.from_json(await self._client.post(f"/outbox/{message_id}/retry"))

    async def preview(self, template: str, booking_id: uuid.UUID | None = None) -> TemplatePreview:
        """``template`` rendered for a booking, or for a sample booking."""
        data = await self._client.get(
            "/outbox/preview",
            {"template": template, "booking_id": str(booking_id) if booking_id else None},
        )
        return TemplatePreview(
            template=data["template"],
            subject=data["subject"],
            text=data["text"],
            html=data["html"],
            sms=data["sms"],
            attachments=tuple(data["attachments"]),
            sample=bool(data["sample"]),
        )

    async def resend_confirmation(
        self, booking_id: uuid.UUID, *, key: str | None = None
    ) -> list[OutboxMessage]:
        """Queue the booking's confirmation again; the messages queued."""
        data = await self._client.post(
            f"/bookings/{booking_id}/resend-confirmation",
            idempotency_key=key or str(uuid.uuid4()),
        )
        return [OutboxMessage.from_json(item) for item in data["queued"]]
