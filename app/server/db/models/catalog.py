"""What a venue sells: activities, their weekly schedules, dated sessions, promo codes."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.server.db.models.base import Base, TenantMixin, created_at, updated_at, uuid_pk


class Activity(TenantMixin, Base):
    """An experience (an escape room, a tour) with its default capacity and prices."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="duration_range"),
        CheckConstraint("capacity BETWEEN 1 AND 1000", name="capacity_range"),
        CheckConstraint("adult_price >= 0 AND child_price >= 0", name="prices_positive"),
        CheckConstraint("min_adults >= 1", name="min_adults_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    venue_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("venues.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    what_to_bring: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    adult_price: Mapped[int] = mapped_column(Integer)
    child_price: Mapped[int] = mapped_column(Integer)
    min_adults: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ActivitySchedule(TenantMixin, Base):
    """A weekly rule: this activity starts at ``start_time`` (venue time) on ``weekday``."""

    __tablename__ = "activity_schedules"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from", name="validity_ordered"
        ),
        UniqueConstraint("activity_id", "weekday", "start_time"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    activity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("activities.id", ondelete="CASCADE")
    )
    weekday: Mapped[int] = mapped_column(SmallInteger)  # Monday = 0, as in Python
    start_time: Mapped[time] = mapped_column(Time)
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: the activity's capacity
    valid_from: Mapped[date | None] = mapped_column(Date)  # None: from the start
    valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at()


class ActivitySession(TenantMixin, Base):
    """One dated occurrence of an activity; ``reserved`` never exceeds ``capacity``."""

    __tablename__ = "activity_sessions"
    __table_args__ = (
        CheckConstraint("capacity BETWEEN 0 AND 1000", name="capacity_range"),
        CheckConstraint("reserved >= 0 AND reserved <= capacity", name="reserved_within"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        UniqueConstraint("activity_id", "starts_at"),
        Index("ix_activity_sessions_org_starts_at", "organization_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    activity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("activities.id", ondelete="CASCADE")
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class PromoCode(TenantMixin, Base):
    """A discount: percent (basis points) or a fixed amount off, with dates and a usage limit."""

    __tablename__ = "promo_codes"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind_known"),
        CheckConstraint(
            "(kind = 'percent' AND value BETWEEN 1 AND 10000) OR (kind = 'fixed' AND value > 0)",
            name="value_range",
        ),
        CheckConstraint("usage_limit IS NULL OR times_used <= usage_limit", name="usage_within"),
        Index("uq_promo_codes_org_code", "organization_id", text("upper(code)"), unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer)  # basis points, or minor units
    currency: Mapped[str | None] = mapped_column(String(3))
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at()
