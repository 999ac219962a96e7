"""Organizations (tenants) and their venues."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.server.db.models.base import Base, TenantMixin, created_at, updated_at, uuid_pk


class Organization(Base):
    """A venue operator: the unit of tenancy."""

    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="slug_format"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
        CheckConstraint("platform_fee_bps BETWEEN 0 AND 10000", name="platform_fee_range"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Platform fee taken on Connect payments, in basis points (250 = 2.5 %).
    platform_fee_bps: Mapped[int] = mapped_column(Integer, default=0)
    stripe_account_id: Mapped[str | None] = mapped_column(String(255))
    notification_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Venue(TenantMixin, Base):
    """A place where activities happen, with the time zone every local time is read in."""

    __tablename__ = "venues"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
