"""Walk-ins and phone bookings with their payment: at the desk, by link, or later.

Pay at the desk records the money with its method and the member of staff; a payment
link leaves the booking ``pending_payment`` (seats held until the session starts, at most
23 hours) with a Stripe Checkout page e-mailed to the customer; unpaid is confirmed now
and paid on arrival.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.money import format_amount
from app.server.bookings.events import Actor, record_event
from app.server.bookings.service import (
    DeskBookingRequest,
    load_session,
    prepare_desk_booking,
    refresh_customer_of,
    take_seats,
)
from app.server.core.errors import Invalid
from app.server.db.models import Booking
from app.server.notifications.outbox import (
    ADMIN_NEW_BOOKING,
    BOOKING_CONFIRMATION,
    PAYMENT_LINK,
    queue_booking_messages,
)
from app.server.payments.stripe_gateway import PaymentsNotConfigured, StripeGateway
from app.server.refunds import ledger
from app.server.refunds.payment_links import close_checkout, link_deadline, open_payment_link


@dataclass(frozen=True, slots=True)
class DeskPaymentChoice:
    """``mode`` pay_at_desk (``method``, ``amount`` default the total), payment_link, unpaid."""

    mode: str = "unpaid"
    method: str | None = None
    amount: int | None = None


async def take_desk_booking(
    session: AsyncSession,
    gateway: StripeGateway | None,
    organization_id: uuid.UUID,
    req: DeskBookingRequest,
    payment: DeskPaymentChoice,
    actor: Actor,
    *,
    public_url: str,
    now: datetime | None = None,
) -> Booking:
    """Book seats at the desk and take the payment as chosen; the booking."""
    now = now or datetime.now(UTC)
    if payment.mode == "payment_link":
        return await _booking_with_link(
            session, gateway, organization_id, req, actor, public_url=public_url, now=now
        )
    booking = await prepare_desk_booking(session, organization_id, req, actor, now)
    await take_seats(session, booking)
    if payment.mode == "pay_at_desk" and booking.total_amount > 0:
        assert payment.method is not None
        amount = payment.amount or booking.total_amount
        if amount > booking.total_amount:
            raise Invalid(
                f"The booking costs {format_amount(booking.total_amount, booking.currency)}; "
                "take no more than that."
            )
        taken = await ledger.record_desk_payment(session, booking, amount, payment.method, actor)
        await ledger.settle_money(session, booking)
        await record_event(
            session,
            booking,
            "payment",
            actor,
            message=f"Paid {format_amount(amount, booking.currency)} at the desk "
            f"({payment.method.replace('_', ' ')}).",
            data={"payment_id": str(taken.id), "method": payment.method},
        )
    await queue_booking_messages(
        session, booking, BOOKING_CONFIRMATION, ADMIN_NEW_BOOKING, cause="desk_booking", now=now
    )
    await refresh_customer_of(session, booking, now)
    return booking


async def _booking_with_link(
    session: AsyncSession,
    gateway: StripeGateway | None,
    organization_id: uuid.UUID,
    req: DeskBookingRequest,
    actor: Actor,
    *,
    public_url: str,
    now: datetime,
) -> Booking:
    """A ``pending_payment`` booking and its Checkout page, opened before the seats are
    locked so the session's row lock never waits on Stripe."""
    if gateway is None:
        raise PaymentsNotConfigured("Stripe is not set up, so no payment link can be sent.")
    slot, _, _ = await load_session(session, req.session_id)
    deadline = link_deadline(slot.starts_at, now)
    booking = await prepare_desk_booking(
        session, organization_id, req, actor, now, pending_until=deadline
    )
    if booking.total_amount == 0:
        raise Invalid("This booking costs nothing; there is no payment link to send.")
    link = await open_payment_link(
        session,
        gateway,
        booking,
        amount=booking.total_amount,
        public_url=public_url,
        deadline=deadline,
        idempotency_key=f"payment-link-{booking.id}",
        now=now,
    )
    try:
        await take_seats(session, booking)
    except Exception:
        await close_checkout(session, gateway, booking, link.id)
        raise
    await record_event(
        session,
        booking,
        "payment_link",
        actor,
        message=f"Payment link for {format_amount(booking.total_amount, booking.currency)} "
        "e-mailed to the customer; seats held until it is paid.",
        data={"checkout_session": link.id},
    )
    await queue_booking_messages(
        session,
        booking,
        PAYMENT_LINK,
        cause=f"payment-link:{link.id}",
        context={"url": link.url, "amount": booking.total_amount},
        now=now,
    )
    await refresh_customer_of(session, booking, now)
    return booking
