"""The widget's checkout: ``POST /public/{org_slug}/checkout-sessions`` and the verify call."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select, text

from app.domain.lifecycle import BookingStatus
from app.server.bookings import repository as bookings
from app.server.core.deps import DbDep, SettingsDep
from app.server.core.errors import NotFound
from app.server.db.models import Activity, ActivitySession, Booking, Venue
from app.server.payments.checkout import CheckoutRequest, start_checkout
from app.server.payments.confirmation import RetryLater, apply_fact, stripe_account
from app.server.payments.facts import FactKind, fact_of
from app.server.payments.schemas import CheckoutCreate, CheckoutCreated, CheckoutVerified
from app.server.payments.stripe_gateway import StripeGateway
from app.server.sessions.public_router import venue_org

router = APIRouter(prefix="/public", tags=["public"])

STATUS_MESSAGES = {
    BookingStatus.PENDING_PAYMENT: "We are waiting for your payment to complete.",
    BookingStatus.CONFIRMED: "Your booking is confirmed. See you soon!",
    BookingStatus.CHECKED_IN: "You are checked in. Enjoy!",
    BookingStatus.COMPLETED: "Thanks for visiting!",
    BookingStatus.EXPIRED: "This booking expired before payment; the seats were released.",
    BookingStatus.PAYMENT_FAILED: "The payment did not go through; the seats were released.",
    BookingStatus.CANCELLED: "This booking was cancelled.",
    BookingStatus.NO_SHOW: "This booking was marked as a no-show.",
}


def get_gateway(request: Request) -> StripeGateway | None:
    gateway: StripeGateway | None = request.app.state.gateway
    return gateway


GatewayDep = Annotated[StripeGateway | None, Depends(get_gateway)]


@router.post("/{org_slug}/checkout-sessions", status_code=201)
async def create_checkout_session(
    org_slug: str, body: CheckoutCreate, db: DbDep, settings: SettingsDep, gateway: GatewayDep
) -> CheckoutCreated:
    """Hold the seats for the hold time and answer the Stripe payment page to send them to."""
    org_id = await venue_org(db, org_slug)
    started = await start_checkout(
        db,
        gateway,
        org_id,
        CheckoutRequest(
            session_id=body.session_id,
            adult_count=body.adults,
            child_count=body.children,
            name=body.customer.name,
            email=str(body.customer.email),
            phone=body.customer.phone,
            promo_code=body.promo_code or None,
            special_requests=body.special_requests,
        ),
        public_url=settings.public_url,
        hold_minutes=settings.hold_minutes,
    )
    return CheckoutCreated.model_validate(started)


@router.get("/checkout-sessions/{checkout_session_id}")
async def verify_checkout_session(
    checkout_session_id: str, db: DbDep, gateway: GatewayDep
) -> CheckoutVerified:
    """The booking behind a Checkout Session, as the success page shows it.

    If the customer is back before Stripe's webhook, the session is read from Stripe and
    a completed payment is applied now, exactly as the webhook would apply it.
    """
    async with db.anonymous() as session:
        row = (
            await session.execute(
                text("SELECT organization_id, booking_id FROM app_booking_by_stripe_ref(:r)"),
                {"r": checkout_session_id},
            )
        ).first()
    if row is None or not checkout_session_id.startswith("cs_"):
        raise NotFound("No booking for this payment.")
    org_id, booking_id = row
    async with db.tenant(org_id) as session:
        booking = await bookings.get(session, booking_id, lock=True)
        assert booking is not None
        account = await stripe_account(session, org_id)
        if booking.status == BookingStatus.PENDING_PAYMENT and gateway is not None:
            stripe_session = await gateway.retrieve_checkout_session(checkout_session_id, account)
            fact = fact_of(
                {"type": "checkout.session.completed", "data": {"object": stripe_session}}
            )
            if stripe_session["status"] == "complete" and fact and fact.kind is FactKind.PAID:
                # RetryLater: the webhook will finish it; meanwhile the page says "waiting".
                with contextlib.suppress(RetryLater):
                    await apply_fact(session, gateway, booking, fact, datetime.now(UTC))
        activity, venue, starts_at = (
            await session.execute(
                select(Activity.name, Venue, ActivitySession.starts_at)
                .join(Venue, Venue.id == Activity.venue_id)
                .join(ActivitySession, ActivitySession.activity_id == Activity.id)
                .where(Activity.id == booking.activity_id, ActivitySession.id == booking.session_id)
            )
        ).one()
        return _verified(booking, activity, venue, starts_at)


def _verified(
    booking: Booking, activity: str, venue: Venue, starts_at: datetime
) -> CheckoutVerified:
    return CheckoutVerified(
        booking_number=booking.booking_number,
        status=booking.status,
        payment_status=booking.payment_status,
        message=STATUS_MESSAGES[BookingStatus(booking.status)],
        activity_name=activity,
        venue_name=venue.name,
        starts_at=starts_at.astimezone(ZoneInfo(venue.timezone)),
        party_size=booking.party_size,
        adult_count=booking.adult_count,
        child_count=booking.child_count,
        currency=booking.currency,
        total_amount=booking.total_amount,
        amount_paid=booking.amount_paid,
        contact_name=booking.contact_name,
        contact_email=booking.contact_email,
    )
