"""Money movements: payments, refunds, and the Stripe events that report them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.server.db.models.base import Base, TenantMixin, created_at, updated_at, uuid_pk


class Payment(TenantMixin, Base):
    """Money received for a booking: one Stripe PaymentIntent or one desk payment."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("provider IN ('stripe', 'desk')", name="provider_known"),
        CheckConstraint(
            "method IN ('card', 'cash', 'card_terminal', 'other')", name="method_known"
        ),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("refunded_amount BETWEEN 0 AND amount", name="refund_within"),
        Index("ix_payments_booking", "booking_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    booking_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id", ondelete="RESTRICT")
    )
    provider: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(BigInteger)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    application_fee_amount: Mapped[int | None] = mapped_column(BigInteger)
    received_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Refund(TenantMixin, Base):
    """Money given back: a Stripe Refund (ours or made in the dashboard) or a desk refund."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("provider IN ('stripe', 'desk')", name="provider_known"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'cancelled')", name="status_known"
        ),
        CheckConstraint("origin IN ('desk', 'stripe_dashboard', 'automatic')", name="origin_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_refunds_booking", "booking_id"),
        Index("ix_refunds_payment", "payment_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    booking_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id", ondelete="RESTRICT")
    )
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payments.id", ondelete="RESTRICT")
    )
    provider: Mapped[str] = mapped_column(String(10))
    origin: Mapped[str] = mapped_column(String(20))
    method: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class StripeEvent(Base):
    """A received Stripe webhook event, stored before it is processed.

    Not a tenant table: an event is stored before anyone knows which organization it
    concerns; ``organization_id`` is filled in when the processing job finds out.
    """

    __tablename__ = "stripe_events"
    __table_args__ = (
        Index(
            "ix_stripe_events_unprocessed", "received_at", postgresql_where="processed_at IS NULL"
        ),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    account: Mapped[str | None] = mapped_column(String(255))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    stripe_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = created_at()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))
