"""Payment links: a Stripe Checkout page for a desk booking's total or a price difference.

The page is the widget's own Checkout (same metadata, same webhook path), so a paid link
confirms a ``pending_payment`` booking, or records the difference on a confirmed one,
exactly like an online payment.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.db.models import Activity, ActivitySession, Booking, Organization, Venue
from app.server.payments.checkout import STRIPE_MIN_SESSION_SECONDS, session_params
from app.server.payments.stripe_gateway import (
    CheckoutSessionRef,
    PaymentProviderError,
    StripeGateway,
)

log = logging.getLogger(__name__)

# Stripe closes a Checkout Session at most 24 hours after it opens.
LONGEST_LINK = timedelta(hours=23)


def link_deadline(starts_at: datetime, now: datetime) -> datetime:
    """Until when a payment link may be paid: the session's start, at most 23 hours away."""
    return min(starts_at, now + LONGEST_LINK)


def _stripe_expiry(deadline: datetime, now: datetime) -> int:
    # Stripe wants 30 minutes to 24 hours; a shorter deadline is enforced by the hold job.
    return max(int(deadline.timestamp()), int(now.timestamp()) + STRIPE_MIN_SESSION_SECONDS)


async def open_payment_link(
    session: AsyncSession,
    gateway: StripeGateway,
    booking: Booking,
    *,
    amount: int,
    public_url: str,
    deadline: datetime,
    idempotency_key: str,
    now: datetime,
) -> CheckoutSessionRef:
    """Open a Checkout page asking ``amount`` for ``booking``; remembered on the booking.

    ``amount`` equal to the booking's total bills its party (with the promo's discount);
    any other amount is billed as one "price difference" line.
    """
    organization = await session.get_one(Organization, booking.organization_id)
    activity_name, timezone, starts_at = (
        await session.execute(
            select(Activity.name, Venue.timezone, ActivitySession.starts_at)
            .join(Venue, Venue.id == Activity.venue_id)
            .join(ActivitySession, ActivitySession.activity_id == Activity.id)
            .where(ActivitySession.id == booking.session_id)
        )
    ).one()
    account = organization.stripe_account_id
    whole = amount == booking.total_amount
    coupon = None
    if whole:
        tiers = [("Adult", booking.adult_count, booking.adult_unit_amount)]
        if booking.child_count:
            tiers.append(("Child", booking.child_count, booking.child_unit_amount))
        if booking.discount_amount:
            coupon = f"promo-{booking.id}"
            await gateway.create_coupon(
                coupon,
                booking.discount_amount,
                booking.currency,
                account=account,
                metadata={"promo_code": booking.promo_code or "", "booking_id": str(booking.id)},
            )
    else:
        tiers = [("Price difference", 1, amount)]
    params = session_params(
        booking,
        organization,
        activity_name,
        starts_at.astimezone(ZoneInfo(timezone)),
        tiers=tiers,
        total=amount,
        public_url=public_url,
        expires_at=_stripe_expiry(deadline, now),
        coupon=coupon,
        metadata={"purpose": "desk_payment_link" if whole else "price_difference"},
    )
    ref = await gateway.create_checkout_session(
        params, account=account, idempotency_key=idempotency_key
    )
    booking.payment_link_url = ref.url
    booking.stripe_checkout_session_id = ref.id
    return ref


async def close_payment_link(
    session: AsyncSession, gateway: StripeGateway | None, booking: Booking
) -> None:
    """Close the booking's open payment page, if any, so it can no longer be paid."""
    if booking.payment_link_url and booking.stripe_checkout_session_id:
        await close_checkout(session, gateway, booking, booking.stripe_checkout_session_id)


async def close_checkout(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking: Booking,
    checkout_session_id: str,
) -> None:
    """Expire one Checkout Session of the booking.

    Best effort: a link paid anyway arrives as a late payment, which is refunded
    automatically for a cancelled booking.
    """
    if gateway is None:
        return
    account = await session.scalar(
        select(Organization.stripe_account_id).where(Organization.id == booking.organization_id)
    )
    try:
        await gateway.expire_checkout_session(checkout_session_id, account)
    except PaymentProviderError as exc:
        log.warning("could not close %s: %s", checkout_session_id, exc)
