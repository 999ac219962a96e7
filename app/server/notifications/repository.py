"""SQL for the outbox: claiming due messages, recording outcomes, the staff list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.db.models import Booking, OutboxMessage
from app.server.db.models.notifications import OUTBOX_STATUSES

ERROR_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message one sender owns until its lease ends; ``attempts`` counts this attempt."""

    id: uuid.UUID
    organization_id: uuid.UUID
    booking_id: uuid.UUID | None
    channel: str
    template: str
    cause: str
    recipient: str
    context: dict[str, Any]
    attempts: int


async def claim_due(
    session: AsyncSession,
    now: datetime,
    *,
    lease_until: datetime,
    limit: int,
    organization_id: uuid.UUID | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` due messages for this sender: pending ones whose time came, and
    ones whose sender's lease ran out. ``SKIP LOCKED`` lets parallel senders take disjoint
    sets, and the status check is repeated on the locked row, so no message is taken twice.
    """
    due = (
        select(OutboxMessage.id)
        .where(
            or_(
                and_(OutboxMessage.status == "pending", OutboxMessage.send_after <= now),
                and_(
                    OutboxMessage.status == "sending",
                    OutboxMessage.lease_expires_at <= now,
                ),
            )
        )
        .order_by(OutboxMessage.send_after, OutboxMessage.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if organization_id is not None:
        due = due.where(OutboxMessage.organization_id == organization_id)
    due_ids = due.cte("due")
    rows = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(select(due_ids.c.id)))
        .values(
            status="sending",
            lease_expires_at=lease_until,
            attempts=OutboxMessage.attempts + 1,
            updated_at=func.now(),
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.organization_id,
            OutboxMessage.booking_id,
            OutboxMessage.channel,
            OutboxMessage.template,
            OutboxMessage.cause,
            OutboxMessage.recipient,
            OutboxMessage.context,
            OutboxMessage.attempts,
            OutboxMessage.send_after,
        )
    )
    claimed = sorted(rows.all(), key=lambda r: r.send_after)
    return [
        Claimed(
            id=r.id,
            organization_id=r.organization_id,
            booking_id=r.booking_id,
            channel=r.channel,
            template=r.template,
            cause=r.cause,
            recipient=r.recipient,
            context=dict(r.context or {}),
            attempts=r.attempts,
        )
        for r in claimed
    ]


async def _finish(session: AsyncSession, claimed: Claimed, **values: Any) -> bool:
    """Record an attempt's outcome, unless the lease was lost to another sender meanwhile."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == claimed.id,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == claimed.attempts,
        )
        .values(lease_expires_at=None, updated_at=func.now(), **values)
        .returning(OutboxMessage.id)
    )
    return result.first() is not None


async def mark_sent(
    session: AsyncSession,
    claimed: Claimed,
    *,
    now: datetime,
    provider_message_id: str,
    subject: str | None,
) -> bool:
    return await _finish(
        session,
        claimed,
        status="sent",
        sent_at=now,
        provider_message_id=provider_message_id[:255] or None,
        subject=subject,
        last_error=None,
    )


async def mark_retry(
    session: AsyncSession,
    claimed: Claimed,
    *,
    error: str,
    send_after: datetime,
    subject: str | None,
) -> bool:
    return await _finish(
        session,
        claimed,
        status="pending",
        send_after=send_after,
        last_error=error[:ERROR_LIMIT],
        subject=subject,
    )


async def mark_failed(
    session: AsyncSession, claimed: Claimed, *, error: str, subject: str | None
) -> bool:
    return await _finish(
        session, claimed, status="failed", last_error=error[:ERROR_LIMIT], subject=subject
    )


async def mark_cancelled(session: AsyncSession, claimed: Claimed, *, reason: str) -> bool:
    return await _finish(session, claimed, status="cancelled", last_error=reason[:ERROR_LIMIT])


@dataclass(frozen=True, slots=True)
class OutboxFilter:
    """What the Outbox page asks for."""

    statuses: tuple[str, ...] = ()
    booking_id: uuid.UUID | None = None
    channel: str | None = None


PageCursor = tuple[datetime, uuid.UUID]


async def list_page(
    session: AsyncSession, f: OutboxFilter, *, after: PageCursor | None, limit: int
) -> list[tuple[OutboxMessage, str | None]]:
    """Messages newest first, each with its booking's number."""
    stmt = select(OutboxMessage, Booking.booking_number).outerjoin(
        Booking, Booking.id == OutboxMessage.booking_id
    )
    if f.statuses:
        stmt = stmt.where(OutboxMessage.status.in_(f.statuses))
    if f.booking_id:
        stmt = stmt.where(OutboxMessage.booking_id == f.booking_id)
    if f.channel:
        stmt = stmt.where(OutboxMessage.channel == f.channel)
    if after is not None:
        stmt = stmt.where(
            tuple_(OutboxMessage.created_at, OutboxMessage.id) < tuple_(after[0], after[1])
        )
    stmt = stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """How many messages are in each status."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    counts = dict.fromkeys(OUTBOX_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows.all()})
    return counts


async def get_with_number(
    session: AsyncSession, message_id: uuid.UUID
) -> tuple[OutboxMessage, str | None] | None:
    row = (
        await session.execute(
            select(OutboxMessage, Booking.booking_number)
            .outerjoin(Booking, Booking.id == OutboxMessage.booking_id)
            .where(OutboxMessage.id == message_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def requeue_failed(session: AsyncSession, message_id: uuid.UUID, now: datetime) -> bool:
    """A failed message back to pending with a fresh set of attempts; False unless failed."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "failed")
        .values(status="pending", send_after=now, attempts=0, updated_at=func.now())
        .returning(OutboxMessage.id)
    )
    return result.first() is not None


async def latest_context(
    session: AsyncSession, booking_id: uuid.UUID, template: str
) -> dict[str, Any] | None:
    """The context of the booking's newest message of ``template`` (for previews)."""
    context = await session.scalar(
        select(OutboxMessage.context)
        .where(OutboxMessage.booking_id == booking_id, OutboxMessage.template == template)
        .order_by(OutboxMessage.created_at.desc())
        .limit(1)
    )
    return dict(context) if context is not None else None


async def messages_with_cause(
    session: AsyncSession, booking_id: uuid.UUID, cause: str
) -> list[OutboxMessage]:
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.booking_id == booking_id, OutboxMessage.cause == cause)
        .order_by(OutboxMessage.channel)
    )
    return list(rows.all())
