"""Customers of an organization, with the seed's analytics and segment."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.server.db.models.base import Base, TenantMixin, created_at, updated_at, uuid_pk

SEGMENTS = ("new", "active", "vip", "at_risk", "churned")
CUSTOMER_STATUSES = ("active", "inactive", "blocked")
CREATED_VIA = ("admin", "booking_widget", "import", "walk_in")


class Customer(TenantMixin, Base):
    """A person who books. Found by (organization, lower(email)) among unmerged records."""

    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(f"segment IN {SEGMENTS}", name="segment_known"),
        CheckConstraint(f"status IN {CUSTOMER_STATUSES}", name="status_known"),
        CheckConstraint(f"created_via IN {CREATED_VIA}", name="created_via_known"),
        CheckConstraint("total_bookings >= 0 AND total_spent >= 0", name="totals_positive"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_self_merged"),
        Index(
            "uq_customers_org_email",
            "organization_id",
            text("lower(email)"),
            unique=True,
            postgresql_where="merged_into_id IS NULL",
        ),
        Index("ix_customers_email_org", "email", "organization_id"),
        Index("ix_customers_segment_org", "segment", "organization_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    sms_opt_in: Mapped[bool] = mapped_column(default=False)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    total_bookings: Mapped[int] = mapped_column(default=0)
    total_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    average_booking_value: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_value: Mapped[int] = mapped_column(BigInteger, default=0)
    segment: Mapped[str] = mapped_column(String(10), default="new")
    first_booking_date: Mapped[date | None] = mapped_column(Date)
    last_booking_date: Mapped[date | None] = mapped_column(Date)
    last_activity_date: Mapped[date | None] = mapped_column(Date)
    created_via: Mapped[str] = mapped_column(String(20), default="admin")
    status: Mapped[str] = mapped_column(String(10), default="active")
    notes: Mapped[str] = mapped_column(Text, default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, default=dict, server_default="{}"
    )
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
