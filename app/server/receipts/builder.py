"""The receipt of a booking as :class:`~app.receipts.ReceiptData`, read from the database.

The desk's "Print receipt", ``GET /bookings/{id}/receipt`` and e-mail attachments all
render what :func:`receipt_for` returns, so every copy of a receipt says the same thing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.receipts import ReceiptData, ReceiptLine, ReceiptPayment, ReceiptVenue
from app.server.core.errors import NotFound
from app.server.db.models import (
    Activity,
    ActivitySession,
    Booking,
    Customer,
    Payment,
    Refund,
    Venue,
)

PAYMENT_METHODS = {
    "card": "Card (online)",
    "cash": "Cash",
    "card_terminal": "Card terminal",
    "other": "Other",
}
REFUND_METHODS = {
    "card": "Refund to card",
    "cash": "Cash refund",
    "card_terminal": "Refund on card terminal",
    "other": "Refund (other)",
}


def payment_line(payment: Payment) -> ReceiptPayment:
    """One received payment as the receipt prints it."""
    return ReceiptPayment(
        "payment",
        payment.amount,
        payment.created_at,
        PAYMENT_METHODS.get(payment.method, payment.method),
        payment.stripe_payment_intent_id,
    )


def refund_line(refund: Refund) -> ReceiptPayment:
    """One refund given back as the receipt prints it (a refund made in Stripe says so)."""
    method = REFUND_METHODS.get(refund.method or "other", "Refund")
    if refund.origin == "stripe_dashboard":
        method = f"{method} (Stripe)"
    return ReceiptPayment(
        "refund", refund.amount, refund.created_at, method, refund.stripe_refund_id
    )


def venue_of(venue: Venue) -> ReceiptVenue:
    """The venue block of the receipt; its time zone is the one every time is printed in."""
    lines = tuple(line.strip() for line in venue.address.splitlines() if line.strip())
    return ReceiptVenue(
        name=venue.name,
        address_lines=lines,
        timezone=venue.timezone,
        email=venue.email,
        phone=venue.phone,
    )


async def receipt_for(
    session: AsyncSession, booking_id: uuid.UUID, *, now: datetime | None = None
) -> ReceiptData:
    """What the receipt of ``booking_id`` shows: party, prices, payments, refunds, balance.

    Only money that actually moved is listed: succeeded payments and succeeded refunds.
    """
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking.")
    slot, activity, venue = (
        await session.execute(
            select(ActivitySession, Activity, Venue)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .join(Venue, Venue.id == booking.venue_id)
            .where(ActivitySession.id == booking.session_id)
        )
    ).one()
    customer = await session.get(Customer, booking.customer_id) if booking.customer_id else None
    email: str | None
    if customer is not None:
        name = f"{customer.first_name} {customer.last_name}".strip()
        email, phone = customer.email, customer.phone
    else:
        name, email, phone = booking.contact_name, booking.contact_email, booking.contact_phone
    lines = [ReceiptLine("Adult", booking.adult_count, booking.adult_unit_amount)]
    if booking.child_count:
        lines.append(ReceiptLine("Child", booking.child_count, booking.child_unit_amount))
    payments = await session.scalars(
        select(Payment)
        .where(Payment.booking_id == booking.id, Payment.status == "succeeded")
        .order_by(Payment.created_at, Payment.id)
    )
    refunds = await session.scalars(
        select(Refund)
        .where(Refund.booking_id == booking.id, Refund.status == "succeeded")
        .order_by(Refund.created_at, Refund.id)
    )
    movements = sorted(
        [payment_line(p) for p in payments] + [refund_line(r) for r in refunds],
        key=lambda m: m.at,
    )
    return ReceiptData(
        booking_number=booking.booking_number,
        venue=venue_of(venue),
        customer_name=name or email or "Guest",
        customer_email=email,
        customer_phone=phone,
        activity_name=activity.name,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        currency=booking.currency,
        lines=tuple(lines),
        discount_amount=booking.discount_amount,
        discount_label=booking.promo_code,
        payments=tuple(movements),
        status=booking.status,
        issued_at=now or datetime.now(UTC),
    )
