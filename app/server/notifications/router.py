"""``/outbox`` (managers): the message list, retry, template previews; and
``POST /bookings/{id}/resend-confirmation`` (any staff)."""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.server.bookings.events import Actor
from app.server.core.deps import DbDep, IdempotencyKeyDep, ManagerUser, StaffUser
from app.server.core.errors import Invalid, NotFound
from app.server.core.idempotency import run_once
from app.server.db.models import OutboxMessage
from app.server.notifications import repository, service
from app.server.notifications.schemas import (
    OutboxCounts,
    OutboxMessageRead,
    OutboxPage,
    OutboxPreview,
    OutboxStatus,
    ResendConfirmationRead,
    TemplateName,
)

log = logging.getLogger(__name__)

router = APIRouter(tags=["notifications"])

MAX_PAGE = 200


def _read(message: OutboxMessage, booking_number: str | None) -> OutboxMessageRead:
    columns = (c for c in OutboxMessageRead.model_fields if c != "booking_number")
    fields = {c: getattr(message, c) for c in columns}
    return OutboxMessageRead.model_validate({**fields, "booking_number": booking_number})


def encode_cursor(message: OutboxMessage) -> str:
    raw = f"{message.created_at.isoformat()}|{message.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> repository.PageCursor:
    try:
        at, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(message_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one this service gave out.") from exc


async def send_soon(request: Request) -> None:
    """Ask the job queue to send now rather than at the next minute's tick."""
    from app.server.jobs import defer_outbox_send

    try:
        await defer_outbox_send(request.app.state.jobs.queue)
    except Exception:  # the periodic tick sends it anyway
        log.warning("could not queue an immediate outbox send", exc_info=True)


@router.get("/outbox")
async def list_outbox(
    principal: ManagerUser,
    db: DbDep,
    status: Annotated[list[OutboxStatus] | None, Query()] = None,
    booking_id: uuid.UUID | None = None,
    channel: Annotated[str | None, Query(pattern="^(email|sms)$")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> OutboxPage:
    """Messages newest first (filter by status, booking, channel), with counts per status."""
    filters = repository.OutboxFilter(
        statuses=tuple(status or ()), booking_id=booking_id, channel=channel
    )
    after = decode_cursor(cursor) if cursor else None
    async with db.tenant(principal.organization_id) as session:
        rows = await repository.list_page(session, filters, after=after, limit=limit + 1)
        counts = await repository.status_counts(session)
    items = [_read(message, number) for message, number in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return OutboxPage(items=items, next_cursor=next_cursor, counts=OutboxCounts(**counts))


@router.get("/outbox/preview")
async def preview_template(
    principal: ManagerUser,
    db: DbDep,
    template: TemplateName,
    booking_id: uuid.UUID | None = None,
) -> OutboxPreview:
    """A template rendered for a booking, or for a sample booking when none is given."""
    async with db.tenant(principal.organization_id) as session:
        shown = await service.preview(session, template, booking_id, datetime.now(UTC))
    return OutboxPreview.model_validate(shown)


@router.get("/outbox/{message_id}")
async def get_message(
    message_id: uuid.UUID, principal: ManagerUser, db: DbDep
) -> OutboxMessageRead:
    """One message with its status and last error."""
    async with db.tenant(principal.organization_id) as session:
        found = await repository.get_with_number(session, message_id)
    if found is None:
        raise NotFound("No such message.")
    return _read(*found)


@router.post("/outbox/{message_id}/retry")
async def retry_message(
    message_id: uuid.UUID, request: Request, principal: ManagerUser, db: DbDep
) -> OutboxMessageRead:
    """Send a failed message again (failed → pending, with a fresh set of attempts)."""
    async with db.tenant(principal.organization_id) as session:
        await service.retry(session, message_id, datetime.now(UTC))
        found = await repository.get_with_number(session, message_id)
    assert found is not None
    await send_soon(request)
    return _read(*found)


@router.post("/bookings/{booking_id}/resend-confirmation", status_code=202)
async def resend_confirmation(
    booking_id: uuid.UUID,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    key: IdempotencyKeyDep,
) -> ResendConfirmationRead:
    """Send the booking's confirmation (with its receipt) again, as a new message."""
    cause_key = key or str(uuid.uuid4())
    async with db.tenant(principal.organization_id) as session:

        async def resend() -> dict[str, Any]:
            queued = await service.resend_confirmation(
                session, booking_id, Actor.staff(principal), cause_key, datetime.now(UTC)
            )
            return ResendConfirmationRead(
                queued=[_read(message, number) for message, number in queued]
            ).model_dump(mode="json")

        answer = await run_once(session, principal, key, "POST", request.url.path, {}, resend)
    await send_soon(request)
    return ResendConfirmationRead.model_validate(answer)
