"""Money moves at the desk: refunds, cancellation with a refund, and payments taken.

A Stripe refund is written as a ``pending`` refunds row first, then asked of Stripe with an
idempotency key derived from that row, inside the transaction that locks the booking. If
Stripe refuses, the transaction rolls back and nothing changed; if it accepts, the row
takes Stripe's id and status, and ``charge.refunded`` later finds it by that id (or by the
``refund_id`` in its metadata, should our commit have been lost). A request retried with
the same Idempotency-Key derives the same refund ids, so it can never refund twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import Action, BookingStatus, check_action, local_today
from app.domain.money import format_amount
from app.server.bookings import repository as bookings
from app.server.bookings.events import Actor, record_event
from app.server.bookings.service import apply_action, unpaid_balance, venue_timezone
from app.server.core.errors import Conflict, Invalid, NotFound
from app.server.db.models import Booking, Payment, Refund
from app.server.notifications.outbox import (
    ADMIN_NEW_BOOKING,
    BOOKING_CANCELLED,
    BOOKING_CONFIRMATION,
    queue_booking_messages,
)
from app.server.payments.confirmation import stripe_account
from app.server.payments.stripe_gateway import PaymentsNotConfigured, StripeGateway
from app.server.refunds import ledger
from app.server.refunds.payment_links import close_payment_link

REFUND_IDS = uuid.UUID("6f1d3b0e-3c52-4f4e-9a57-2b1f0f7a9c11")
"""Namespace of refund ids derived from a request's Idempotency-Key."""
NOT_PAYABLE = frozenset(
    {BookingStatus.CANCELLED, BookingStatus.EXPIRED, BookingStatus.PAYMENT_FAILED}
)
STRIPE_REFUND_STATUSES = {"canceled": "cancelled", "requires_action": "pending"}


@dataclass(frozen=True, slots=True)
class RefundOrder:
    """A refund asked for by staff: how much, why, how desk money goes back, which intent."""

    amount: int
    reason: str
    method: str | None = None
    request_key: str | None = None


def refund_row_id(
    booking_id: uuid.UUID, request_key: str | None, payment_id: uuid.UUID
) -> uuid.UUID:
    """The id of the refund of ``payment_id`` made for one request (random without a key)."""
    if request_key is None:
        return uuid.uuid4()
    return uuid.uuid5(REFUND_IDS, f"{booking_id}:{request_key}:{payment_id}")


async def refundable_amount(
    session: AsyncSession, booking_id: uuid.UUID, *, lock: bool = True
) -> int:
    """What can still be given back on the booking (pending refunds already count)."""
    found = await ledger.refundable_payments(session, booking_id, lock=lock)
    return sum(b.amount for b in found)


async def _already_made(
    session: AsyncSession, booking: Booking, order: RefundOrder, payment_ids: list[uuid.UUID]
) -> list[Refund]:
    """Refunds this very request made in an attempt whose answer never came back."""
    if order.request_key is None or not payment_ids:
        return []
    ids = [refund_row_id(booking.id, order.request_key, p) for p in payment_ids]
    return list((await session.scalars(select(Refund).where(Refund.id.in_(ids)))).all())


async def give_back(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking: Booking,
    order: RefundOrder,
    actor: Actor,
) -> int:
    """Refund ``order.amount`` of the (locked) booking's payments, newest payment first.

    Desk payments become desk refunds (``order.method``, else the payment's own method);
    Stripe payments are refunded through Stripe. Returns the amount refunded for this
    order. Refuses with 409 ``nothing_to_refund`` / ``refund_exceeds_refundable``.
    """
    balances = await ledger.refundable_payments(session, booking.id)
    made = await _already_made(session, booking, order, [b.payment.id for b in balances])
    done = {r.payment_id for r in made}
    wanted = order.amount - sum(r.amount for r in made)
    if wanted <= 0:
        return order.amount
    balances = [b for b in balances if b.payment.id not in done]
    available = sum(b.amount for b in balances)
    if available == 0:
        raise Conflict("Nothing on this booking can be refunded.", code="nothing_to_refund")
    if wanted > available:
        raise Conflict(
            f"Only {format_amount(available, booking.currency)} can be refunded on this booking.",
            code="refund_exceeds_refundable",
            refundable=available,
        )
    parts = ledger.allocate(balances, wanted)
    if gateway is None and any(p.provider == "stripe" for p, _ in parts):
        raise PaymentsNotConfigured("Stripe is not set up, so card payments cannot be refunded.")
    lines = []
    for payment, part in parts:
        refund_id = refund_row_id(booking.id, order.request_key, payment.id)
        if payment.provider == "desk":
            method = order.method or payment.method
            await ledger.record_desk_refund(
                session,
                booking,
                payment,
                part,
                method=method,
                reason=order.reason,
                actor=actor,
                refund_id=refund_id,
            )
            lines.append(f"{format_amount(part, payment.currency)} {method.replace('_', ' ')}")
        else:
            assert gateway is not None
            status = await _refund_through_stripe(
                session, gateway, booking, payment, part, order, actor, refund_id
            )
            waiting = "" if status == "succeeded" else f", {status}"
            lines.append(f"{format_amount(part, payment.currency)} to the card{waiting}")
    await ledger.settle_money(session, booking)
    await record_event(
        session,
        booking,
        "refund",
        actor,
        message=f"Refunded {format_amount(wanted, booking.currency)} "
        f"({', '.join(lines)}): {order.reason}",
        data={"amount": wanted, "reason": order.reason},
    )
    return order.amount


async def _refund_through_stripe(
    session: AsyncSession,
    gateway: StripeGateway,
    booking: Booking,
    payment: Payment,
    amount: int,
    order: RefundOrder,
    actor: Actor,
    refund_id: uuid.UUID,
) -> str:
    """Write the pending row, ask Stripe, and take Stripe's answer; the row's status."""
    assert payment.stripe_payment_intent_id is not None
    row = Refund(
        id=refund_id,
        organization_id=booking.organization_id,
        booking_id=booking.id,
        payment_id=payment.id,
        provider="stripe",
        origin="desk",
        method="card",
        status="pending",
        amount=amount,
        currency=payment.currency,
        reason=order.reason,
        idempotency_key=f"refund-{refund_id}",
        created_by=actor.id,
    )
    session.add(row)
    await session.flush()
    answer = await gateway.refund(
        payment.stripe_payment_intent_id,
        amount,
        account=await stripe_account(session, booking.organization_id),
        idempotency_key=f"refund-{refund_id}",
        # Everything the webhook needs to record this refund should our commit be lost.
        metadata={
            "booking_id": str(booking.id),
            "origin": "desk",
            "refund_id": str(refund_id),
            "staff_id": str(actor.id or ""),
            "reason": order.reason[:500],
        },
    )
    row.stripe_refund_id = answer["id"]
    status = str(answer.get("status") or "pending")
    row.status = STRIPE_REFUND_STATUSES.get(status, status)
    if row.status not in ("pending", "succeeded", "failed", "cancelled"):
        row.status = "pending"
    if row.status == "succeeded":
        payment.refunded_amount = min(payment.amount, payment.refunded_amount + amount)
    await session.flush()
    return row.status


async def locked_booking(session: AsyncSession, booking_id: uuid.UUID) -> Booking:
    """The booking, locked for this transaction, or 404."""
    booking = await bookings.get(session, booking_id, lock=True)
    if booking is None:
        raise NotFound("No such booking.")
    return booking


async def refund(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking_id: uuid.UUID,
    order: RefundOrder,
    actor: Actor,
    now: datetime | None = None,
) -> Booking:
    """Give money back on a booking in any status (a manager's decision)."""
    booking = await locked_booking(session, booking_id)
    await give_back(session, gateway, booking, order, actor)
    await _refresh_customer(session, booking, now or datetime.now(UTC))
    return booking


async def cancel(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking_id: uuid.UUID,
    *,
    reason: str,
    refund: str,
    refund_amount: int | None,
    refund_method: str | None,
    actor: Actor,
    request_key: str | None,
    now: datetime | None = None,
) -> Booking:
    """Cancel with no, a partial or a full refund: seats freed, e-mail queued, all or nothing.

    The refund is made before the status changes, in the same transaction: if Stripe
    refuses, the booking stays as it was; if the cancellation fails, the transaction (and
    with a retried key, the refund) is not repeated twice.
    """
    now = now or datetime.now(UTC)
    booking = await locked_booking(session, booking_id)
    check_action(Action.CANCEL, BookingStatus(booking.status))
    amount = 0
    if refund == "full":
        amount = await refundable_amount(session, booking.id)
    elif refund == "partial":
        if not refund_amount:
            raise Invalid("Enter the amount to refund.", code="refund_amount_required")
        amount = refund_amount
    elif refund_amount:
        raise Invalid("A refund amount needs refund 'partial'.")
    if amount:
        order = RefundOrder(amount, reason, refund_method, request_key)
        await give_back(session, gateway, booking, order, actor)
    await close_payment_link(session, gateway, booking)
    await apply_action(session, booking.id, Action.CANCEL, actor, reason=reason, now=now)
    await queue_booking_messages(
        session,
        booking,
        BOOKING_CANCELLED,
        cause="cancel",
        context={"refund_amount": amount},
        now=now,
    )
    return booking


async def mark_paid(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking_id: uuid.UUID,
    *,
    amount: int,
    method: str,
    actor: Actor,
    now: datetime | None = None,
) -> Booking:
    """Record money taken at the desk; a booking waiting for its link is confirmed by it."""
    now = now or datetime.now(UTC)
    booking = await locked_booking(session, booking_id)
    current = BookingStatus(booking.status)
    if current in NOT_PAYABLE:
        raise Conflict(
            f"A {current.value.replace('_', ' ')} booking cannot take a payment.",
            code="invalid_transition",
        )
    due = unpaid_balance(booking)
    if due == 0:
        raise Conflict("Nothing is due on this booking.", code="nothing_due")
    if amount > due:
        raise Conflict(
            f"Only {format_amount(due, booking.currency)} is due on this booking.",
            code="amount_exceeds_balance",
            balance_due=due,
        )
    pending = current is BookingStatus.PENDING_PAYMENT
    if pending and amount != due:
        raise Invalid(
            f"Take the full {format_amount(due, booking.currency)} to confirm a booking "
            "waiting for its payment link."
        )
    payment = await ledger.record_desk_payment(session, booking, amount, method, actor)
    await ledger.settle_money(session, booking)
    paid = (
        f"Paid {format_amount(amount, booking.currency)} at the desk ({method.replace('_', ' ')})"
    )
    if pending:
        await close_payment_link(session, gateway, booking)
        booking.status = BookingStatus.CONFIRMED.value
        booking.confirmed_at = now
        booking.expires_at = None
        await session.flush()
        await record_event(
            session,
            booking,
            "payment",
            actor,
            from_status=current.value,
            to_status=booking.status,
            message=f"{paid}; booking confirmed.",
            data={"payment_id": str(payment.id), "method": method},
        )
        for template in (BOOKING_CONFIRMATION, ADMIN_NEW_BOOKING):
            await queue_booking_messages(
                session, booking, template, cause=f"payment:{payment.id}", now=now
            )
    else:
        await record_event(
            session,
            booking,
            "payment",
            actor,
            message=f"{paid}.",
            data={"payment_id": str(payment.id), "method": method},
        )
    await _refresh_customer(session, booking, now)
    return booking


async def _refresh_customer(session: AsyncSession, booking: Booking, now: datetime) -> None:
    timezone = await venue_timezone(session, booking)
    await ledger.refresh_customer(session, booking, local_today(timezone, now), timezone)
