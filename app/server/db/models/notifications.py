"""The outbox of customer and staff messages (e-mail, SMS)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.server.db.models.base import Base, TenantMixin, created_at, updated_at, uuid_pk

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")


class OutboxMessage(TenantMixin, Base):
    """A message written in the transaction of the change that causes it, sent by a job.

    At most one per (booking, template, cause, channel): the same cause never mails twice.
    A sender claims a row by setting ``sending`` with a lease; a row whose lease ran out
    (its sender died) is claimed again.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint(
            "status <> 'sending' OR lease_expires_at IS NOT NULL", name="sending_has_lease"
        ),
        Index(
            "uq_email_outbox_booking_template_cause",
            "booking_id",
            "template",
            "cause",
            "channel",
            unique=True,
        ),
        Index("ix_email_outbox_due", "send_after", postgresql_where="status = 'pending'"),
        Index("ix_email_outbox_lease", "lease_expires_at", postgresql_where="status = 'sending'"),
        Index("ix_email_outbox_org_created", "organization_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(10), default="email")
    template: Mapped[str] = mapped_column(String(50))
    cause: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(320))
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    send_after: Mapped[datetime] = created_at()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Rendered subject (e-mail) of the latest attempt, for the outbox list.
    subject: Mapped[str | None] = mapped_column(String(300))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
