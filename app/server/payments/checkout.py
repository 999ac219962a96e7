"""Online checkout: reserve the seats as a 10-minute hold, then open a Stripe Checkout Session.

The ``pending_payment`` booking is written and its seats taken (by PostgreSQL, at commit)
in one short transaction that commits before Stripe is called, so the session's row lock
is never held across the network. If Stripe cannot open the payment page the hold is
given back at once.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Insert, Row, Table, bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.domain.booking_numbers import new_booking_number
from app.domain.lifecycle import BookingStatus, PaymentStatus, local_today
from app.domain.money import format_amount
from app.domain.pricing import Promo, Quote, application_fee, quote
from app.server.bookings.events import Actor
from app.server.bookings.service import (
    NUMBER_ATTEMPTS,
    booking_values,
    check_party,
    promo_for,
    seats_left_refusal,
    seats_refusal,
)
from app.server.core.db import Database
from app.server.core.errors import Conflict, Invalid, NotFound
from app.server.db.models import (
    Activity,
    ActivitySession,
    Booking,
    BookingEvent,
    Organization,
    Venue,
)
from app.server.payments import holds
from app.server.payments.confirmation import attach_customer
from app.server.payments.stripe_gateway import (
    PaymentProviderError,
    PaymentsNotConfigured,
    StripeGateway,
)

# Stripe refuses a Checkout Session that expires sooner than 30 minutes; our own hold is
# shorter and is enforced by the expiry job, which expires the session through the API.
STRIPE_MIN_SESSION_SECONDS = 30 * 60 + 60
SEATS_GONE_SQLSTATE = "BK001"  # raised by the commit trigger of migration 0008
CUSTOMER = Actor("customer", None, "Customer (online)")
# Built once (with a bound session id): building a four-table select per checkout costs
# about as much CPU as running it. Plain columns, not entities: a checkout reads a few
# fields once, and loading four ORM objects into the identity map cost ~0.2 ms of CPU more.
# ``capacity`` is the session's, so the row reads as the session and as the activity for
# ``check_party`` and ``seats_refusal``.
_SESSION_FOR_HOLD = (
    select(
        ActivitySession.id,
        ActivitySession.starts_at,
        ActivitySession.ends_at,
        ActivitySession.capacity,
        ActivitySession.reserved,
        ActivitySession.status,
        Activity.id.label("activity_id"),
        Activity.name,
        Activity.active,
        Activity.min_adults,
        Activity.adult_price,
        Activity.child_price,
        Activity.currency,
        Venue.id.label("venue_id"),
        Venue.timezone,
        Organization.stripe_account_id,
        Organization.platform_fee_bps,
        func.set_config("app.seats_at_commit", "on", True),
    )
    .join(Activity, Activity.id == ActivitySession.activity_id)
    .join(Venue, Venue.id == Activity.venue_id)
    .join(Organization, Organization.id == ActivitySession.organization_id)
    .where(ActivitySession.id == bindparam("session_id"))
)


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What the booking widget sends."""

    session_id: uuid.UUID
    adult_count: int
    child_count: int
    name: str
    email: str
    phone: str | None
    promo_code: str | None
    special_requests: str


@dataclass(frozen=True, slots=True)
class CheckoutStarted:
    """What the widget needs to send the customer to pay."""

    booking_id: uuid.UUID
    booking_number: str
    status: str
    checkout_session_id: str | None
    checkout_url: str | None
    expires_at: datetime | None
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class HeldBooking:
    """The booking a hold wrote, as the payment page and the widget's answer read it."""

    id: uuid.UUID
    organization_id: uuid.UUID
    venue_id: uuid.UUID
    activity_id: uuid.UUID
    session_id: uuid.UUID
    booking_number: str
    status: str
    party_size: int
    adult_count: int
    child_count: int
    currency: str
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    promo_code: str | None
    special_requests: str
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Payee:
    """Who the payment goes to: the organization's connected Stripe account and its fee."""

    stripe_account_id: str | None
    platform_fee_bps: int


@dataclass(frozen=True, slots=True)
class Hold:
    """A pending booking holding its seats, with what the payment page needs."""

    booking: HeldBooking
    organization: Payee
    activity_name: str
    price: Quote
    starts_local: datetime


async def start_checkout(
    db: Database,
    gateway: StripeGateway | None,
    organization_id: uuid.UUID,
    req: CheckoutRequest,
    *,
    public_url: str,
    hold_minutes: int,
    now: datetime | None = None,
) -> CheckoutStarted:
    """Hold the seats and open the payment page; a free booking is confirmed at once."""
    now = now or datetime.now(UTC)
    try:
        async with db.tenant(organization_id) as session:
            hold = await reserve_hold(session, organization_id, req, now, hold_minutes)
    except DBAPIError as exc:
        raise seats_gone_refusal(exc) or exc from exc
    booking = hold.booking
    if hold.price.total_amount == 0:
        return _started(booking, None)
    if gateway is None:
        await holds.give_back(db, organization_id, booking.id, "Online payments are not set up.")
        raise PaymentsNotConfigured("This venue does not take online payments yet.")
    account = hold.organization.stripe_account_id
    try:
        if hold.price.discount_amount:
            await gateway.create_coupon(
                f"promo-{booking.id}",
                hold.price.discount_amount,
                hold.price.currency,
                account=account,
                metadata={"promo_code": booking.promo_code or "", "booking_id": str(booking.id)},
            )
        ref = await gateway.create_checkout_session(
            _session_params(hold, req, public_url, now),
            account=account,
            idempotency_key=f"checkout-{booking.id}",
        )
    except PaymentProviderError:
        await holds.give_back(db, organization_id, booking.id, "The payment page could not open.")
        raise
    async with db.tenant(organization_id) as session:
        await session.execute(
            update(Booking)
            .where(Booking.id == booking.id)
            .values(stripe_checkout_session_id=ref.id)
        )
    return _started(booking, ref.id, ref.url)


def seats_gone_refusal(exc: DBAPIError) -> Conflict | None:
    """The 409 for a commit refused because the seats went meanwhile; None for other errors.

    The commit trigger reports ``<seats left>;<session status>`` in the error's detail.
    """
    if getattr(exc.orig, "sqlstate", None) != SEATS_GONE_SQLSTATE:
        return None
    diag = getattr(exc.orig, "diag", None)
    left, _, status = (getattr(diag, "message_detail", None) or "0;open").partition(";")
    return seats_left_refusal(status, int(left) if left.isdigit() else 0)


def _started(
    booking: HeldBooking, session_id: str | None, url: str | None = None
) -> CheckoutStarted:
    return CheckoutStarted(
        booking_id=booking.id,
        booking_number=booking.booking_number,
        status=booking.status,
        checkout_session_id=session_id,
        checkout_url=url,
        expires_at=booking.expires_at,
        subtotal_amount=booking.subtotal_amount,
        discount_amount=booking.discount_amount,
        total_amount=booking.total_amount,
        currency=booking.currency,
    )


async def reserve_hold(
    session: AsyncSession,
    organization_id: uuid.UUID,
    req: CheckoutRequest,
    now: datetime,
    hold_minutes: int,
) -> Hold:
    """Check the request, take the seats and write the ``pending_payment`` booking.

    Two statements on the hot path of a popular session: one reads the session with its
    activity, venue and organization (and asks for the seats to be taken at commit), one
    writes the booking with its ``created`` event. Both go through the transaction's Core
    connection: nothing of the hold needs the ORM's unit of work.
    """
    conn = await session.connection()
    row = await _load_for_hold(conn, req.session_id)
    if not row.active:
        raise Invalid(f"{row.name} is not open for booking.", code="activity_closed")
    if row.starts_at <= now:
        raise Invalid("This session has already started; choose a later one.", code="session_past")
    # The row carries the activity's and the session's fields these checks read.
    party = check_party(row, row, req.adult_count, req.child_count)
    if row.status != "open" or row.reserved + party > row.capacity:
        raise seats_refusal(row)  # already full when we looked: no need to queue for the lock

    promo = await _claim_promo(session, req.promo_code, row.currency, now)
    price = quote(
        req.adult_count,
        req.child_count,
        row.adult_price,
        row.child_price,
        row.currency,
        promo,
    )
    free = price.total_amount == 0
    values = _booking_values(organization_id, row, price, req, promo, now, hold_minutes)
    await _insert_hold(conn, values, _created_message(values, promo), promo)
    if free:
        # The customer is attached at once: that needs the booking as a persistent row.
        booking = await session.get_one(Booking, values["id"])
        await attach_customer(session, booking, local_today(row.timezone, now), row.timezone)
    held = HeldBooking(**{name: values[name] for name in _HELD_FIELDS})
    starts_local = row.starts_at.astimezone(ZoneInfo(row.timezone))
    payee = Payee(row.stripe_account_id, row.platform_fee_bps)
    return Hold(held, payee, row.name, price, starts_local)


_HELD_FIELDS = tuple(HeldBooking.__dataclass_fields__)


def _booking_values(
    organization_id: uuid.UUID,
    row: Row[Any],
    price: Quote,
    req: CheckoutRequest,
    promo: Promo | None,
    now: datetime,
    hold_minutes: int,
) -> dict[str, Any]:
    """The new online booking's columns: pending payment for the hold time, or confirmed
    if free. A dict, not an ORM object: the booking is written by one Core statement."""
    free = price.total_amount == 0
    return {
        "id": uuid.uuid4(),
        "booking_number": new_booking_number(),
        **booking_values(
            organization_id,
            slot_id=row.id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            activity_id=row.activity_id,
            venue_id=row.venue_id,
            timezone=row.timezone,
            price=price,
        ),
        "status": (BookingStatus.CONFIRMED if free else BookingStatus.PENDING_PAYMENT).value,
        "payment_status": (PaymentStatus.PAID if free else PaymentStatus.UNPAID).value,
        "source": "widget",
        "promo_code": promo.code if promo else None,
        "special_requests": req.special_requests,
        "contact_name": req.name,
        "contact_email": req.email,
        "contact_phone": req.phone,
        "expires_at": None if free else now + timedelta(minutes=hold_minutes),
        "confirmed_at": now if free else None,
        "created_at": now,
        "version": 1,
    }


async def _load_for_hold(conn: AsyncConnection, session_id: uuid.UUID) -> Row[Any]:
    """The session, its activity, venue and organization, in one statement.

    The same statement asks PostgreSQL to take the seats as this transaction commits
    (migration 0008): the session's row stays locked only inside the commit, so checkouts
    of one popular session do not queue behind each other's round trips. A refusal rolls
    the transaction back, setting and all. See ``seats_gone_refusal``.
    """
    row = (await conn.execute(_SESSION_FOR_HOLD, {"session_id": session_id})).first()
    if row is None:
        raise NotFound("No such session.")
    return cast(Row[Any], row)


@functools.cache
def _hold_statement(fields: tuple[str, ...]) -> Insert:
    """``INSERT`` a booking with ``fields`` (nothing on a booking-number collision) and,
    only if it went in, its ``created`` event: one statement, returning the booking's id.

    Built once (Core tables, bound parameters): constructing a 35-column statement per
    checkout costs more CPU than running it.
    """
    bookings, events = cast(Table, Booking.__table__), cast(Table, BookingEvent.__table__)
    inserted = (
        insert(bookings)
        .values({name: bindparam(name, type_=bookings.c[name].type) for name in fields})
        .on_conflict_do_nothing(index_elements=["organization_id", "booking_number"])
        .returning(bookings.c.id)
        .cte("inserted")
    )
    event = select(
        bindparam("organization_id", type_=events.c.organization_id.type),
        inserted.c.id,
        literal("created"),
        literal(CUSTOMER.type),
        literal(CUSTOMER.name),
        bindparam("status", type_=events.c.to_status.type),
        bindparam("event_message", type_=events.c.message.type),
        bindparam("event_data", type_=events.c.data.type),
    )
    columns = ["organization_id", "booking_id", "kind", "actor_type", "actor_name", "to_status"]
    return (
        insert(events)
        .from_select([*columns, "message", "data"], event)
        .returning(events.c.booking_id)
    )


async def _insert_hold(
    conn: AsyncConnection, values: dict[str, Any], message: str, promo: Promo | None
) -> None:
    """Write the booking and its event, drawing another number on the (rare) collision.

    ``ON CONFLICT DO NOTHING`` instead of a savepoint per attempt: a collision inserts
    nothing and the statement is simply sent again with a fresh number (``values`` keeps
    the number that went in).
    """
    statement = _hold_statement(tuple(values))
    params = {
        **values,
        "event_message": message,
        "event_data": {"promo_code": promo.code} if promo else {},
    }
    for _ in range(NUMBER_ATTEMPTS):
        if await conn.scalar(statement, params) is not None:
            values["booking_number"] = params["booking_number"]
            return
        params["booking_number"] = new_booking_number()
    raise Conflict("Could not allocate a booking number; please try again.")  # pragma: no cover


def _created_message(values: dict[str, Any], promo: Promo | None) -> str:
    currency = values["currency"]
    message = (
        f"Booked online for {values['party_size']} ({values['adult_count']} adults, "
        f"{values['child_count']} children), "
        f"{format_amount(values['total_amount'], currency)}"
    )
    if promo:
        off = format_amount(values["discount_amount"], currency)
        message += f" after {off} off with {promo.code}"
    return message + "."


async def _claim_promo(
    session: AsyncSession, code: str | None, currency: str, now: datetime
) -> Promo | None:
    """The promo code, checked and counted as used, or a clear refusal."""
    return await promo_for(session, code, currency, now, claim=True)


def checkout_metadata(
    booking: Booking | HeldBooking, organization: Organization | Payee, starts_local: datetime
) -> dict[str, str]:
    """The seed's CheckoutMetadata, plus our booking's id and number; Stripe wants strings."""
    metadata = {
        "booking_id": str(booking.id),
        "booking_number": booking.booking_number,
        "activity_id": str(booking.activity_id),
        "organization_id": str(booking.organization_id),
        "venue_id": str(booking.venue_id),
        "session_id": str(booking.session_id),
        "customer_name": booking.contact_name,
        "customer_email": booking.contact_email or "",
        "customer_phone": booking.contact_phone or "",
        "booking_date": starts_local.date().isoformat(),
        "booking_time": starts_local.strftime("%H:%M"),
        "party_size": str(booking.party_size),
        "adult_count": str(booking.adult_count),
        "child_count": str(booking.child_count),
        "platform_fee_percent": f"{organization.platform_fee_bps / 100:g}",
    }
    if booking.promo_code:
        metadata["promo_code"] = booking.promo_code
    if booking.special_requests:
        metadata["special_requests"] = booking.special_requests[:500]
    return metadata


def _session_params(
    hold: Hold, req: CheckoutRequest, public_url: str, now: datetime
) -> dict[str, Any]:
    price = hold.price
    tiers = [("Adult", price.adult_count, price.adult_unit_amount)]
    if price.child_count:
        tiers.append(("Child", price.child_count, price.child_unit_amount))
    return session_params(
        hold.booking,
        hold.organization,
        hold.activity_name,
        hold.starts_local,
        tiers=tiers,
        total=price.total_amount,
        public_url=public_url,
        expires_at=int(now.timestamp()) + STRIPE_MIN_SESSION_SECONDS,
        coupon=f"promo-{hold.booking.id}" if price.discount_amount else None,
    )


def session_params(
    booking: Booking | HeldBooking,
    organization: Organization | Payee,
    activity_name: str,
    starts_local: datetime,
    *,
    tiers: list[tuple[str, int, int]],
    total: int,
    public_url: str,
    expires_at: int,
    coupon: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Checkout Session that asks ``total`` for ``booking``: ``tiers`` are (label,
    quantity, unit amount) lines, ``coupon`` the promo's discount, ``expires_at`` a Unix
    time 30 minutes to 24 hours ahead. Used by the widget and by desk payment links."""
    currency = booking.currency.lower()
    when = starts_local.strftime("%a %d %b %Y, %H:%M")
    metadata = {**checkout_metadata(booking, organization, starts_local), **(metadata or {})}
    payment_intent_data: dict[str, Any] = {
        "metadata": metadata,
        "description": f"{activity_name} {booking.booking_number}",
    }
    if organization.stripe_account_id and organization.platform_fee_bps:
        payment_intent_data["application_fee_amount"] = application_fee(
            total, organization.platform_fee_bps
        )
    base = public_url.rstrip("/")
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": count,
                "price_data": {
                    "currency": currency,
                    "unit_amount": unit,
                    "product_data": {
                        "name": f"{activity_name} — {tier}",
                        "description": when,
                    },
                },
            }
            for tier, count, unit in tiers
            if count
        ],
        "customer_email": booking.contact_email,
        "client_reference_id": str(booking.id),
        "metadata": metadata,
        "payment_intent_data": payment_intent_data,
        "expires_at": expires_at,
        "success_url": f"{base}/booking/confirmed?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base}/booking/cancelled?booking={booking.booking_number}",
    }
    if coupon:
        params["discounts"] = [{"coupon": coupon}]
    return params
