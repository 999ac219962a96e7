"""What keeps desks and retries honest: the change feed, desk actions, idempotency keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.server.db.models.base import Base, TenantMixin, created_at


class ChangeLog(TenantMixin, Base):
    """One row per insert, update or delete of a tenant row, written by triggers.

    ``txid`` lets the feed hold back rows of transactions still in flight, so a reader
    paging by ``id`` never skips a change that commits after a higher id.
    """

    __tablename__ = "change_log"
    __table_args__ = (
        CheckConstraint("op IN ('insert', 'update', 'delete')", name="op_known"),
        Index("ix_change_log_org_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(10))
    txid: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = created_at()


class ClientAction(TenantMixin, Base):
    """A desk action received once: its client UUID makes replays harmless."""

    __tablename__ = "client_actions"
    __table_args__ = (
        CheckConstraint("outcome IN ('applied', 'already_done', 'rejected')", name="outcome_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100))
    staff_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(30))
    booking_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    happened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = created_at()
    outcome: Mapped[str] = mapped_column(String(15))
    code: Mapped[str | None] = mapped_column(String(50))
    message: Mapped[str | None] = mapped_column(Text)


class IdempotencyKey(TenantMixin, Base):
    """The stored answer to a staff request sent with an ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    staff_user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    response_body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
