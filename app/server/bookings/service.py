"""Booking use cases: desk bookings, lifecycle actions with their capacity effect, stats.

Services never commit; the caller's transaction does. Every change writes a timeline row
and keeps the customer's analytics true in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.booking_numbers import new_booking_number
from app.domain.checkin import describe_day
from app.domain.lifecycle import (
    Action,
    BookingStatus,
    PaymentStatus,
    TransitionError,
    capacity_delta,
    check_action,
    local_today,
    undo_check_in_allowed,
)
from app.domain.money import format_amount
from app.domain.pricing import Promo, PromoKind, PromoRefused, Quote, check_promo, quote
from app.server.bookings import repository
from app.server.bookings.events import Actor, record_event
from app.server.core.errors import Conflict, Invalid, NotFound
from app.server.customers import repository as customers_repository
from app.server.customers import service as customers
from app.server.db.models import Activity, ActivitySession, Booking, Customer, PromoCode, Venue
from app.server.sessions.repository import organization_timezone

NUMBER_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class DeskBookingRequest:
    """What staff enter for a booking taken at the desk or on the phone.

    The customer is ``customer_id`` when staff picked one, else found or created by
    ``email`` (with ``first_name``, ``last_name``, ``phone``).
    """

    session_id: uuid.UUID
    adult_count: int
    child_count: int
    email: str | None = None
    first_name: str | None = None
    last_name: str = ""
    phone: str | None = None
    special_requests: str = ""
    source: str = "admin"
    customer_id: uuid.UUID | None = None
    promo_code: str | None = None


async def load_session(
    session: AsyncSession, session_id: uuid.UUID
) -> tuple[ActivitySession, Activity, Venue]:
    row = (
        await session.execute(
            select(ActivitySession, Activity, Venue)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .join(Venue, Venue.id == Activity.venue_id)
            .where(ActivitySession.id == session_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such session.")
    return row[0], row[1], row[2]


async def insert_with_number(session: AsyncSession, booking: Booking) -> None:
    """Insert the booking, drawing another number on the (rare) collision."""
    for _ in range(NUMBER_ATTEMPTS):
        booking.booking_number = new_booking_number()
        try:
            async with session.begin_nested():
                session.add(booking)
                await session.flush()
            return
        except IntegrityError as exc:
            if "uq_bookings_organization_id_booking_number" not in str(exc.orig):
                raise
    raise Conflict("Could not allocate a booking number; please try again.")  # pragma: no cover


class PartyRules(Protocol):
    """What ``check_party`` reads of an activity (an ORM row or a plain row)."""

    @property
    def name(self) -> str: ...
    @property
    def min_adults(self) -> int: ...


class Seats(Protocol):
    """What the seat checks read of a session (an ORM row or a plain row)."""

    @property
    def status(self) -> str: ...
    @property
    def capacity(self) -> int: ...
    @property
    def reserved(self) -> int: ...


def check_party(activity: PartyRules, slot: Seats, adult_count: int, child_count: int) -> int:
    """The party size, or a clear refusal when the activity or the session cannot take it."""
    party = adult_count + child_count
    if adult_count < activity.min_adults:
        raise Invalid(
            f"{activity.name} needs at least {activity.min_adults} adult"
            f"{'s' if activity.min_adults > 1 else ''}."
        )
    if party > slot.capacity:
        raise Invalid(f"A party of {party} does not fit a session of {slot.capacity} seats.")
    return party


def seats_refusal(slot: Seats) -> Conflict:
    """Why a session could not give the seats asked for: closed, or how many are left."""
    return seats_left_refusal(slot.status, max(slot.capacity - slot.reserved, 0))


def seats_left_refusal(status: str, remaining: int) -> Conflict:
    """The refusal for a session in ``status`` with ``remaining`` seats."""
    if status != "open":
        return Conflict("This session is closed for booking.", code="session_closed")
    return Conflict(
        f"Only {remaining} seat{'s' if remaining != 1 else ''} left in this session.",
        code="session_full",
        remaining=remaining,
    )


def new_booking(
    organization_id: uuid.UUID,
    slot: ActivitySession,
    activity: Activity,
    venue: Venue,
    price: Quote,
    **fields: Any,
) -> Booking:
    """A booking of ``slot`` at ``price``, dated in the venue's time zone; ``fields`` add
    status, source, contact and the rest that differ between desk and online bookings."""
    return Booking(
        **booking_values(
            organization_id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            activity_id=activity.id,
            venue_id=venue.id,
            timezone=venue.timezone,
            price=price,
        ),
        **fields,
    )


def booking_values(
    organization_id: uuid.UUID,
    *,
    slot_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    activity_id: uuid.UUID,
    venue_id: uuid.UUID,
    timezone: str,
    price: Quote,
) -> dict[str, Any]:
    """The columns every new booking shares: its session, dated in the venue's ``timezone``,
    and its price, with nothing paid, refunded or arrived yet."""
    zone = ZoneInfo(timezone)
    local_start, local_end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return {
        "organization_id": organization_id,
        "venue_id": venue_id,
        "activity_id": activity_id,
        "session_id": slot_id,
        "booking_date": local_start.date(),
        "start_time": local_start.time().replace(tzinfo=None),
        "end_time": local_end.time().replace(tzinfo=None),
        "party_size": price.adult_count + price.child_count,
        "adult_count": price.adult_count,
        "child_count": price.child_count,
        "guests_arrived": 0,
        "currency": price.currency,
        "adult_unit_amount": price.adult_unit_amount,
        "child_unit_amount": price.child_unit_amount,
        "subtotal_amount": price.subtotal_amount,
        "discount_amount": price.discount_amount,
        "total_amount": price.total_amount,
        "amount_paid": 0,
        "refunded_amount": 0,
        "notes": "",
    }


async def promo_for(
    session: AsyncSession, code: str | None, currency: str, now: datetime, *, claim: bool
) -> Promo | None:
    """The promo code checked for use now (and counted as used when ``claim``), or a refusal.

    Claiming locks the code's row, so two bookings can never both take its last use.
    """
    if not code or not code.strip():
        return None
    stmt = select(PromoCode).where(func.upper(PromoCode.code) == code.strip().upper())
    row = await session.scalar(stmt.with_for_update() if claim else stmt)
    if row is None:
        raise Invalid(f"Promo code {code.strip().upper()} does not exist.", code="promo_unknown")
    promo = Promo(
        code=row.code.upper(),
        kind=PromoKind(row.kind),
        value=row.value,
        currency=row.currency,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        usage_limit=row.usage_limit,
        times_used=row.times_used,
        active=row.active,
    )
    try:
        check_promo(promo, currency, now)
    except PromoRefused as exc:
        raise Invalid(str(exc), code="promo_refused") from exc
    if claim:
        row.times_used += 1
    return promo


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The price of a party in a session, and the seats the session has left."""

    price: Quote
    promo_code: str | None
    remaining: int


async def quote_party(
    session: AsyncSession,
    session_id: uuid.UUID,
    adult_count: int,
    child_count: int,
    promo_code: str | None,
    now: datetime | None = None,
) -> PriceQuote:
    """Price a party as a desk booking would (the promo is checked, not used up)."""
    now = now or datetime.now(UTC)
    slot, activity, _ = await load_session(session, session_id)
    check_bookable(slot, now)
    party = check_party(activity, slot, adult_count, child_count)
    promo = await promo_for(session, promo_code, activity.currency, now, claim=False)
    if slot.status != "open" or slot.reserved + party > slot.capacity:
        raise seats_refusal(slot)
    price = quote(
        adult_count,
        child_count,
        activity.adult_price,
        activity.child_price,
        activity.currency,
        promo,
    )
    return PriceQuote(price, promo.code if promo else None, slot.capacity - slot.reserved)


def check_bookable(slot: ActivitySession, now: datetime) -> None:
    """Refuse a session that is already over."""
    if slot.ends_at <= now:
        raise Invalid("This session is over; choose a later one.", code="session_past")


async def desk_customer(
    session: AsyncSession, organization_id: uuid.UUID, req: DeskBookingRequest
) -> Customer:
    """The customer staff picked, or the one with the e-mail entered (created on first sight)."""
    if req.customer_id is not None:
        customer = await customers_repository.get(session, req.customer_id)
        # A merged record points at the one kept; the booking goes to that one.
        while customer is not None and customer.merged_into_id is not None:
            customer = await customers_repository.get(session, customer.merged_into_id)
        if customer is None:
            raise Invalid("No such customer.", code="customer_unknown")
    else:
        if not req.email or not req.first_name:
            raise Invalid("Choose a customer, or enter an e-mail and a first name.")
        customer = await customers.find_or_create(
            session,
            organization_id,
            email=req.email,
            first_name=req.first_name,
            last_name=req.last_name,
            phone=req.phone,
            created_via="walk_in" if req.source == "walk_in" else "admin",
        )
    if customer.status == "blocked":
        raise Conflict("This customer is blocked from booking.", code="customer_blocked")
    return customer


async def prepare_desk_booking(
    session: AsyncSession,
    organization_id: uuid.UUID,
    req: DeskBookingRequest,
    actor: Actor,
    now: datetime,
    *,
    pending_until: datetime | None = None,
) -> Booking:
    """Check the request and write the booking, without its seats yet (see :func:`take_seats`).

    Confirmed at once, or ``pending_payment`` until ``pending_until`` when a payment link
    is to be paid first. The promo code's use is claimed here.
    """
    slot, activity, venue = await load_session(session, req.session_id)
    check_bookable(slot, now)
    party = check_party(activity, slot, req.adult_count, req.child_count)
    if slot.status != "open" or slot.reserved + party > slot.capacity:
        raise seats_refusal(slot)  # full when we looked: no need to queue for the lock
    customer = await desk_customer(session, organization_id, req)
    promo = await promo_for(session, req.promo_code, activity.currency, now, claim=True)
    price = quote(
        req.adult_count,
        req.child_count,
        activity.adult_price,
        activity.child_price,
        activity.currency,
        promo,
    )
    pending = pending_until is not None
    booking = new_booking(
        organization_id,
        slot,
        activity,
        venue,
        price,
        customer_id=customer.id,
        status=(BookingStatus.PENDING_PAYMENT if pending else BookingStatus.CONFIRMED).value,
        # A free booking has nothing to pay.
        payment_status=(
            PaymentStatus.PAID if price.total_amount == 0 else PaymentStatus.UNPAID
        ).value,
        source=req.source,
        promo_code=promo.code if promo else None,
        special_requests=req.special_requests,
        contact_name=f"{customer.first_name} {customer.last_name}".strip(),
        contact_email=customer.email,
        contact_phone=customer.phone,
        expires_at=pending_until,
        confirmed_at=None if pending else now,
        created_by=actor.id,
        created_at=now,
    )
    await insert_with_number(session, booking)
    message = (
        f"Booked at the desk for {party} ({req.adult_count} adults, "
        f"{req.child_count} children), {format_amount(price.total_amount, price.currency)}"
    )
    if promo:
        message += f" after {format_amount(price.discount_amount, price.currency)} off with "
        message += promo.code
    await record_event(
        session,
        booking,
        "created",
        actor,
        to_status=booking.status,
        message=message + ("; waiting for the payment link to be paid." if pending else "."),
        data={"promo_code": promo.code} if promo else {},
    )
    return booking


async def take_seats(session: AsyncSession, booking: Booking) -> None:
    """Reserve the booking's seats in one conditional statement, or refuse (nothing kept).

    Done last in the transaction so the session's row lock lasts only until the commit.
    """
    if await repository.reserve_seats(session, booking.session_id, booking.party_size) is None:
        slot = await session.get_one(ActivitySession, booking.session_id)
        await session.refresh(slot)
        raise seats_refusal(slot)


async def create_desk_booking(
    session: AsyncSession,
    organization_id: uuid.UUID,
    req: DeskBookingRequest,
    actor: Actor,
    now: datetime | None = None,
) -> Booking:
    """Reserve seats and create a confirmed, unpaid booking (payment comes later)."""
    now = now or datetime.now(UTC)
    booking = await prepare_desk_booking(session, organization_id, req, actor, now)
    await take_seats(session, booking)
    await refresh_customer_of(session, booking, now)
    return booking


async def refresh_customer_of(session: AsyncSession, booking: Booking, now: datetime) -> None:
    """Recompute the booking's customer's analytics as of today at the venue."""
    if booking.customer_id is not None:
        timezone = await venue_timezone(session, booking)
        await customers.refresh_analytics(
            session, booking.customer_id, local_today(timezone, now), timezone
        )


async def venue_timezone(session: AsyncSession, booking: Booking) -> str:
    """The time zone of the booking's venue (its dates and today are read in it)."""
    tz = await session.scalar(select(Venue.timezone).where(Venue.id == booking.venue_id))
    return tz or await organization_timezone(session)


def unpaid_balance(booking: Booking) -> int:
    """What is still owed on the booking, in minor units."""
    return max(booking.total_amount - (booking.amount_paid - booking.refunded_amount), 0)


async def apply_action(
    session: AsyncSession,
    booking_id: uuid.UUID,
    action: Action,
    actor: Actor,
    *,
    reason: str | None = None,
    guests_arrived: int | None = None,
    override_unpaid: bool = False,
    now: datetime | None = None,
) -> Booking:
    """Move a booking through its lifecycle, with capacity and timeline in one transaction."""
    now = now or datetime.now(UTC)
    booking = await repository.get(session, booking_id, lock=True)
    if booking is None:
        raise NotFound("No such booking.")
    current = BookingStatus(booking.status)
    target = check_action(action, current)
    timezone = await venue_timezone(session, booking)
    today = local_today(timezone, now)

    if action is Action.CHECK_IN:
        if booking.booking_date != today:
            raise Conflict(
                f"Booking is for {describe_day(booking.booking_date, today)}.",
                code="not_today",
                booking_date=booking.booking_date.isoformat(),
            )
        due = unpaid_balance(booking)
        if due and not override_unpaid:
            raise Conflict(
                f"Unpaid: {format_amount(due, booking.currency)} due.",
                code="unpaid",
                balance_due=due,
            )
        arrived = booking.party_size if guests_arrived is None else guests_arrived
        if not 1 <= arrived <= booking.party_size:
            raise Invalid(f"Guests arrived must be between 1 and {booking.party_size}.")
        booking.guests_arrived = arrived
        booking.checked_in_at = now
        booking.checked_in_by = actor.id
    elif action is Action.UNDO_CHECK_IN:
        assert booking.checked_in_at is not None
        if not undo_check_in_allowed(booking.checked_in_at, now, timezone):
            raise TransitionError(
                current, target, "A check-in can only be undone on the day it was made."
            )
        booking.guests_arrived = 0
        booking.checked_in_at = None
        booking.checked_in_by = None
    elif action is Action.NO_SHOW:
        slot_start = await session.scalar(
            select(ActivitySession.starts_at).where(ActivitySession.id == booking.session_id)
        )
        if slot_start is not None and slot_start > now:
            raise Conflict(
                "A booking can only be marked no-show once its session has started.",
                code="too_early",
            )
    elif action is Action.CANCEL:
        if not reason:
            raise Invalid("Give a reason for the cancellation.")
        booking.cancelled_at = now
        booking.cancelled_by = actor.id
        booking.cancel_reason = reason

    delta = capacity_delta(current, target, booking.party_size)
    if delta < 0:
        await repository.release_seats(session, booking.session_id, -delta)
    elif delta > 0:  # pragma: no cover - no staff action re-takes seats
        raise Conflict("This action would need seats again.")
    booking.status = target.value
    await session.flush()
    await record_event(
        session,
        booking,
        action.value,
        actor,
        from_status=current.value,
        to_status=target.value,
        message=reason or "",
        data={"guests_arrived": booking.guests_arrived} if action is Action.CHECK_IN else {},
    )
    if booking.customer_id:
        await customers.refresh_analytics(session, booking.customer_id, today, timezone)
    return booking


async def set_guests_arrived(
    session: AsyncSession, booking_id: uuid.UUID, guests: int, actor: Actor
) -> Booking:
    """Record more of a checked-in party arriving (parties arrive in parts)."""
    booking = await repository.get(session, booking_id, lock=True)
    if booking is None:
        raise NotFound("No such booking.")
    if booking.status != BookingStatus.CHECKED_IN:
        raise Conflict("Only a checked-in booking has guests arriving.", code="not_checked_in")
    if not 1 <= guests <= booking.party_size:
        raise Invalid(f"Guests arrived must be between 1 and {booking.party_size}.")
    before = booking.guests_arrived
    booking.guests_arrived = guests
    await session.flush()
    await record_event(
        session,
        booking,
        "guests_arrived",
        actor,
        message=f"{guests} of {booking.party_size} arrived (was {before}).",
        data={"guests_arrived": guests, "before": before},
    )
    return booking


@dataclass(frozen=True, slots=True)
class BookingStats:
    """The Bookings page header."""

    today: int
    this_week: int
    revenue: int
    currency: str
    revenue_from: date
    revenue_to: date


async def stats(
    session: AsyncSession,
    currency: str,
    revenue_from: date | None,
    revenue_to: date | None,
    now: datetime | None = None,
) -> BookingStats:
    """Today's and this week's bookings (venue dates) and revenue for a range (default: week)."""
    today = local_today(await organization_timezone(session), now or datetime.now(UTC))
    week_start = today - timedelta(days=today.weekday())
    week_end = week_start + timedelta(days=6)
    first, last = revenue_from or week_start, revenue_to or week_end
    if last < first:
        raise Invalid("The revenue range ends before it starts.")
    return BookingStats(
        today=await repository.count_between(session, today, today),
        this_week=await repository.count_between(session, week_start, week_end),
        revenue=await repository.revenue_between(session, first, last),
        currency=currency,
        revenue_from=first,
        revenue_to=last,
    )
