"""Money at the desk under ``/bookings``: refund, cancel, reschedule, mark paid.

Every POST runs in one transaction with the request's Idempotency-Key (``run_once``), so a
double click, a retry or a lost answer repeats nothing: the stored answer comes back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.roles import Role
from app.server.auth.principal import Principal
from app.server.bookings.events import Actor
from app.server.bookings.router import booking_detail
from app.server.bookings.schemas import BookingDetail
from app.server.core.deps import (
    DbDep,
    IdempotencyKeyDep,
    ManagerUser,
    SettingsDep,
    StaffUser,
)
from app.server.core.idempotency import run_once
from app.server.core.validation import check_reasonable_date
from app.server.notifications.router import send_soon
from app.server.payments.public_router import GatewayDep
from app.server.refunds import reschedule as moves
from app.server.refunds import service
from app.server.refunds.schemas import (
    CancelRequest,
    MarkPaidRequest,
    RefundCreate,
    RescheduleOptionRead,
    RescheduleOptions,
    RescheduleRequest,
)

router = APIRouter(prefix="/bookings", tags=["money"])


async def _once(
    db: DbDep,
    principal: Principal,
    request: Request,
    key: str | None,
    booking_id: uuid.UUID,
    body: dict[str, Any],
    change: Callable[[AsyncSession], Awaitable[object]],
) -> BookingDetail:
    """Run ``change`` once per Idempotency-Key and answer the booking as it then is."""
    async with db.tenant(principal.organization_id) as session:

        async def run() -> dict[str, Any]:
            await change(session)
            return (await booking_detail(session, booking_id)).model_dump(mode="json")

        answer = await run_once(session, principal, key, "POST", request.url.path, body, run)
    await send_soon(request)  # a cancellation or reschedule e-mail goes now, not next minute
    return BookingDetail.model_validate(answer)


@router.post("/{booking_id}/refund")
async def refund(
    booking_id: uuid.UUID,
    body: RefundCreate,
    request: Request,
    principal: ManagerUser,
    db: DbDep,
    gateway: GatewayDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Give money back: through Stripe for card payments, by hand for desk payments."""
    order = service.RefundOrder(body.amount, body.reason, body.method, key)
    return await _once(
        db,
        principal,
        request,
        key,
        booking_id,
        body.model_dump(mode="json"),
        lambda session: service.refund(session, gateway, booking_id, order, Actor.staff(principal)),
    )


@router.post("/{booking_id}/cancel")
async def cancel(
    booking_id: uuid.UUID,
    body: CancelRequest,
    request: Request,
    principal: ManagerUser,
    db: DbDep,
    gateway: GatewayDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Cancel with a reason and no, a full or a partial refund; seats are freed."""
    return await _once(
        db,
        principal,
        request,
        key,
        booking_id,
        body.model_dump(mode="json"),
        lambda session: service.cancel(
            session,
            gateway,
            booking_id,
            reason=body.reason,
            refund=body.refund,
            refund_amount=body.refund_amount,
            refund_method=body.refund_method,
            actor=Actor.staff(principal),
            request_key=key,
        ),
    )


@router.get("/{booking_id}/reschedule-options")
async def reschedule_options(
    booking_id: uuid.UUID,
    principal: StaffUser,
    db: DbDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    activity_id: uuid.UUID | None = None,
) -> RescheduleOptions:
    """Sessions on ``date`` (default: the booking's day) the booking could move to, with the
    price each would cost."""
    check_reasonable_date(day, "date")
    async with db.tenant(principal.organization_id) as session:
        found = await moves.options(session, booking_id, day, activity_id)
    return RescheduleOptions(items=[RescheduleOptionRead.model_validate(o) for o in found])


@router.post("/{booking_id}/reschedule")
async def reschedule(
    booking_id: uuid.UUID,
    body: RescheduleRequest,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    settings: SettingsDep,
    gateway: GatewayDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Move to another session (seats move atomically) and settle the price difference."""
    settle = moves.Settlement(
        mode=body.settle,
        payment_method=body.payment_method,
        may_refund=principal.can(Role.MANAGER),
        public_url=settings.public_url,
        request_key=key,
    )
    return await _once(
        db,
        principal,
        request,
        key,
        booking_id,
        body.model_dump(mode="json"),
        lambda session: moves.reschedule(
            session,
            gateway,
            booking_id,
            body.session_id,
            settle,
            Actor.staff(principal),
            reason=body.reason,
        ),
    )


@router.post("/{booking_id}/mark-paid")
async def mark_paid(
    booking_id: uuid.UUID,
    body: MarkPaidRequest,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    gateway: GatewayDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Record money taken at the desk (at most the balance due)."""
    return await _once(
        db,
        principal,
        request,
        key,
        booking_id,
        body.model_dump(mode="json"),
        lambda session: service.mark_paid(
            session,
            gateway,
            booking_id,
            amount=body.amount,
            method=body.method,
            actor=Actor.staff(principal),
        ),
    )
