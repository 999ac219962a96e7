"""Bookings and their append-only event timeline."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.lifecycle import BookingStatus, PaymentStatus
from app.server.db.models.base import Base, TenantMixin, created_at, updated_at, uuid_pk

BOOKING_STATUSES = tuple(s.value for s in BookingStatus)
PAYMENT_STATUSES = tuple(s.value for s in PaymentStatus)
SOURCES = ("admin", "widget", "walk_in", "phone")


class Booking(TenantMixin, Base):
    """A party's reservation of seats in one activity session."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("organization_id", "booking_number"),
        CheckConstraint(f"status IN {BOOKING_STATUSES}", name="status_known"),
        CheckConstraint(f"payment_status IN {PAYMENT_STATUSES}", name="payment_status_known"),
        CheckConstraint(f"source IN {SOURCES}", name="source_known"),
        CheckConstraint(
            "booking_number ~ '^BK-[2-9A-HJKMNP-TV-Z]{6}-[2-9A-HJKMNP-TV-Z]{4}$'",
            name="booking_number_format",
        ),
        CheckConstraint("adult_count >= 0 AND child_count >= 0", name="counts_positive"),
        CheckConstraint(
            "party_size = adult_count + child_count AND party_size BETWEEN 1 AND 1000",
            name="party_size_sum",
        ),
        CheckConstraint(
            "guests_arrived BETWEEN 0 AND party_size", name="guests_arrived_within_party"
        ),
        CheckConstraint(
            "subtotal_amount >= 0 AND discount_amount >= 0 AND total_amount >= 0"
            " AND total_amount = subtotal_amount - discount_amount",
            name="amounts_consistent",
        ),
        CheckConstraint(
            "amount_paid >= 0 AND refunded_amount >= 0 AND refunded_amount <= amount_paid",
            name="refund_within_paid",
        ),
        CheckConstraint(
            "status <> 'pending_payment' OR expires_at IS NOT NULL", name="pending_expires"
        ),
        Index("ix_bookings_date_status", "organization_id", "booking_date", "status"),
        Index("ix_bookings_customer", "customer_id"),
        Index("ix_bookings_session", "session_id"),
        Index("ix_bookings_stripe_session", "stripe_checkout_session_id"),
        Index("ix_bookings_payment_intent", "stripe_payment_intent_id"),
        Index(
            "ix_bookings_pending_expiry",
            "expires_at",
            postgresql_where="status = 'pending_payment'",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    booking_number: Mapped[str] = mapped_column(String(14))
    venue_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("venues.id", ondelete="RESTRICT")
    )
    activity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("activities.id", ondelete="RESTRICT")
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT")
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("activity_sessions.id", ondelete="RESTRICT")
    )
    # Local date and times at the venue, kept beside the session for the seed's queries.
    booking_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    party_size: Mapped[int] = mapped_column(Integer)
    adult_count: Mapped[int] = mapped_column(Integer)
    child_count: Mapped[int] = mapped_column(Integer, default=0)
    guests_arrived: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    adult_unit_amount: Mapped[int] = mapped_column(Integer)
    child_unit_amount: Mapped[int] = mapped_column(Integer)
    subtotal_amount: Mapped[int] = mapped_column(BigInteger)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20))
    payment_status: Mapped[str] = mapped_column(String(20), default="unpaid")
    source: Mapped[str] = mapped_column(String(10))
    promo_code: Mapped[str | None] = mapped_column(String(40))
    special_requests: Mapped[str] = mapped_column(Text, default="")
    # The contact as entered at booking time; an online booking becomes a customer only
    # once it is paid, so an abandoned checkout leaves no customer behind.
    contact_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str] = mapped_column(Text, default="")
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    stripe_checkout_session_id: Mapped[str | None] = mapped_column(String(255))
    # The Stripe Checkout page last sent to the customer (desk payment link, price difference).
    payment_link_url: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Set when something needs a manager's eye (e.g. a late payment refunded automatically).
    attention_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # Bumped by a trigger on every update; the desk uses it to spot stale copies.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class BookingEvent(TenantMixin, Base):
    """One line of a booking's timeline: who did what, when, from which status to which."""

    __tablename__ = "booking_events"
    __table_args__ = (
        CheckConstraint(
            "actor_type IN ('staff', 'customer', 'system', 'stripe')", name="actor_type_known"
        ),
        Index("ix_booking_events_booking_at", "booking_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bookings.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = created_at()
    kind: Mapped[str] = mapped_column(String(40))  # created, check_in, cancel, payment, …
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
