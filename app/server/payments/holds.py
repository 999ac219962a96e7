"""The 10-minute hold of an online booking: ending it, and the job that ends the stale ones.

A hold ends as ``expired`` (time ran out), ``payment_failed`` (the payment was declined)
or ``cancelled`` (the payment page could not open); in every case the seats and the promo
code's use go back in the same transaction as the status.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import BookingStatus, capacity_delta, check_transition
from app.server.bookings import repository as bookings
from app.server.bookings.events import Actor, record_event
from app.server.core.db import Database
from app.server.db.models import Booking, Organization, PromoCode
from app.server.payments.stripe_gateway import PaymentProviderError, StripeGateway

log = logging.getLogger(__name__)

SYSTEM = Actor.system("Hold expiry")
EXPIRY_BATCH = 200


async def end_hold(
    session: AsyncSession,
    booking: Booking,
    target: BookingStatus,
    actor: Actor,
    message: str,
    *,
    now: datetime | None = None,
) -> None:
    """Move a ``pending_payment`` booking to ``target`` and give its seats back."""
    current = BookingStatus(booking.status)
    check_transition(current, target)
    seats = -capacity_delta(current, target, booking.party_size)
    if seats:
        await bookings.release_seats(session, booking.session_id, seats)
    await release_promo_use(session, booking.promo_code)
    booking.status = target.value
    if target is BookingStatus.PAYMENT_FAILED:
        booking.payment_status = "failed"
    if target is BookingStatus.CANCELLED:
        booking.cancelled_at = now or datetime.now(UTC)
        booking.cancel_reason = message
    await session.flush()
    await record_event(
        session,
        booking,
        target.value,
        actor,
        from_status=current.value,
        to_status=target.value,
        message=message,
    )


async def release_promo_use(session: AsyncSession, code: str | None) -> None:
    """Give back one use of a promo code whose booking did not go ahead."""
    if code:
        await session.execute(
            update(PromoCode)
            .where(func.upper(PromoCode.code) == code.upper(), PromoCode.times_used > 0)
            .values(times_used=PromoCode.times_used - 1)
        )


async def claim_promo_use(session: AsyncSession, code: str | None) -> None:
    """Count a use again for a booking revived by a late payment, within the usage limit."""
    if code:
        await session.execute(
            update(PromoCode)
            .where(
                func.upper(PromoCode.code) == code.upper(),
                (PromoCode.usage_limit.is_(None)) | (PromoCode.times_used < PromoCode.usage_limit),
            )
            .values(times_used=PromoCode.times_used + 1)
        )


async def give_back(
    db: Database, organization_id: uuid.UUID, booking_id: uuid.UUID, why: str
) -> None:
    """Cancel a hold whose payment page never opened, so its seats are free at once."""
    async with db.tenant(organization_id) as session:
        booking = await bookings.get(session, booking_id, lock=True)
        if booking is not None and booking.status == BookingStatus.PENDING_PAYMENT:
            await end_hold(session, booking, BookingStatus.CANCELLED, SYSTEM, why)


@dataclass(frozen=True, slots=True)
class ExpiredHold:
    booking_id: uuid.UUID
    checkout_session_id: str | None
    stripe_account: str | None


async def expire_due_holds(
    db: Database, gateway: StripeGateway | None, now: datetime | None = None
) -> int:
    """Expire every hold past its time, release its seats, close its Stripe session.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` in batches, so several instances
    running this at once share the work and never expire a booking twice; a payment
    that still lands on a closed hold is handled as a late payment.
    """
    now = now or datetime.now(UTC)
    total = 0
    while True:
        expired = await _expire_batch(db, now)
        total += len(expired)
        if gateway is not None:
            for hold in expired:
                if hold.checkout_session_id:
                    try:
                        await gateway.expire_checkout_session(
                            hold.checkout_session_id, hold.stripe_account
                        )
                    except PaymentProviderError as exc:
                        # Stripe expires the session itself after 30 minutes; a payment
                        # made meanwhile arrives as a late payment and is handled there.
                        log.warning("could not expire %s: %s", hold.checkout_session_id, exc)
        if len(expired) < EXPIRY_BATCH:
            return total


async def _expire_batch(db: Database, now: datetime) -> list[ExpiredHold]:
    async with db.system() as session:
        rows = (
            await session.execute(
                select(Booking, Organization.stripe_account_id)
                .join(Organization, Organization.id == Booking.organization_id)
                .where(
                    Booking.status == BookingStatus.PENDING_PAYMENT.value,
                    Booking.expires_at <= now,
                )
                .order_by(Booking.expires_at)
                .limit(EXPIRY_BATCH)
                .with_for_update(of=Booking, skip_locked=True)
            )
        ).all()
        expired = []
        for booking, account in rows:
            await end_hold(
                session,
                booking,
                BookingStatus.EXPIRED,
                SYSTEM,
                "Payment was not completed within the hold time; seats released.",
                now=now,
            )
            expired.append(ExpiredHold(booking.id, booking.stripe_checkout_session_id, account))
        return expired
