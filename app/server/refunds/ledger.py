"""A booking's money as rows: payments taken, refunds given, what is still refundable.

The booking's ``amount_paid``, ``refunded_amount`` and ``payment_status`` are always
derived from its succeeded payments here, never adjusted by hand, so the Stripe webhook
path and the desk paths cannot disagree.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import BookingStatus, PaymentStatus, payment_status_for
from app.server.bookings.events import Actor
from app.server.customers import service as customers
from app.server.db.models import Booking, Payment, Refund

# A refund still on its way counts against what can be refunded, or two quick refunds
# could together give back more than was paid.
COMMITTED_REFUND_STATUSES = ("pending", "succeeded")

_MONEY_IN = select(
    func.coalesce(func.sum(Payment.amount), 0),
    func.coalesce(func.sum(Payment.refunded_amount), 0),
).where(Payment.booking_id == bindparam("booking_id"), Payment.status == "succeeded")
"""What a booking's succeeded payments took and gave back (built once: see checkout)."""


async def settle_money(session: AsyncSession, booking: Booking) -> None:
    """Set the booking's paid and refunded figures and its payment state from its payments."""
    paid, refunded = (await session.execute(_MONEY_IN, {"booking_id": booking.id})).one()
    booking.amount_paid = int(paid)
    booking.refunded_amount = int(refunded)
    failed = booking.status == BookingStatus.PAYMENT_FAILED
    if paid or booking.payment_status != PaymentStatus.UNPAID or failed:
        status = payment_status_for(int(paid), int(refunded), failed=failed)
        if status is PaymentStatus.UNPAID and booking.total_amount == 0:
            status = PaymentStatus.PAID  # a free booking owes nothing
        booking.payment_status = status.value
    await session.flush()


@dataclass(frozen=True, slots=True)
class Refundable:
    """A succeeded payment and how much of it can still be given back."""

    payment: Payment
    amount: int


async def refundable_payments(
    session: AsyncSession, booking_id: uuid.UUID, *, lock: bool = True
) -> list[Refundable]:
    """The booking's succeeded payments (locked unless ``lock`` is false), newest first, with
    what each has left.

    Newest first: the last money taken is the first given back, so refunding a
    reschedule's price difference returns the payment that paid it.
    """
    stmt = (
        select(Payment)
        .where(Payment.booking_id == booking_id, Payment.status == "succeeded")
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    if lock:
        # Re-read under the lock: rows already in the session may be older than the lock.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    payments = (await session.scalars(stmt)).all()
    committed: dict[uuid.UUID | None, int] = {
        payment_id: int(total or 0)
        for payment_id, total in await session.execute(
            select(Refund.payment_id, func.sum(Refund.amount))
            .where(
                Refund.booking_id == booking_id,
                Refund.status.in_(COMMITTED_REFUND_STATUSES),
            )
            .group_by(Refund.payment_id)
        )
    }
    return [
        Refundable(p, max(p.amount - max(p.refunded_amount, committed.get(p.id, 0)), 0))
        for p in payments
    ]


def allocate(balances: list[Refundable], amount: int) -> list[tuple[Payment, int]]:
    """Spread ``amount`` over the payments in order; the caller checked it fits."""
    parts = []
    left = amount
    for balance in balances:
        if left == 0:
            break
        part = min(balance.amount, left)
        if part:
            parts.append((balance.payment, part))
            left -= part
    assert left == 0, "allocate() needs an amount within what is refundable"
    return parts


async def record_desk_payment(
    session: AsyncSession, booking: Booking, amount: int, method: str, actor: Actor
) -> Payment:
    """Money taken at the desk (cash, card terminal, other), recorded with who took it."""
    payment = Payment(
        organization_id=booking.organization_id,
        booking_id=booking.id,
        provider="desk",
        method=method,
        status="succeeded",
        amount=amount,
        refunded_amount=0,
        currency=booking.currency,
        received_by=actor.id,
    )
    session.add(payment)
    await session.flush()
    return payment


async def record_desk_refund(
    session: AsyncSession,
    booking: Booking,
    payment: Payment,
    amount: int,
    *,
    method: str,
    reason: str,
    actor: Actor,
    refund_id: uuid.UUID,
) -> Refund:
    """Money handed back at the desk from one desk payment, with its method and staff."""
    refund = Refund(
        id=refund_id,
        organization_id=booking.organization_id,
        booking_id=booking.id,
        payment_id=payment.id,
        provider="desk",
        origin="desk",
        method=method,
        status="succeeded",
        amount=amount,
        currency=payment.currency,
        reason=reason,
        created_by=actor.id,
    )
    session.add(refund)
    payment.refunded_amount = min(payment.amount, payment.refunded_amount + amount)
    await session.flush()
    return refund


async def refresh_customer(
    session: AsyncSession, booking: Booking, today: date, timezone: str
) -> None:
    """Keep the customer's totals true after the booking's money or dates changed."""
    if booking.customer_id is not None:
        await customers.refresh_analytics(session, booking.customer_id, today, timezone)
