"""Rescheduling: moving a booking to another session, its seats and its price with it.

The seats move in one transaction that locks both sessions in id order (so two moves in
opposite directions cannot deadlock): the booking never holds both sessions' seats, nor
neither. Status, check-in, guests arrived and notes stay as they are. The price
difference is shown before and settled during the move: charged at the desk, sent as a
payment link, or refunded (a manager's decision).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import BookingStatus, local_today
from app.domain.money import format_amount
from app.domain.pricing import Promo, PromoKind, Quote, discount
from app.receipts.formatting import format_datetime
from app.server.bookings import repository as bookings
from app.server.bookings.events import Actor, record_event
from app.server.bookings.service import (
    check_party,
    load_session,
    seats_refusal,
    venue_timezone,
)
from app.server.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.server.db.models import Activity, ActivitySession, Booking, PromoCode, Venue
from app.server.notifications.outbox import (
    BOOKING_RESCHEDULED,
    PAYMENT_LINK,
    queue_booking_messages,
)
from app.server.payments.stripe_gateway import PaymentsNotConfigured, StripeGateway
from app.server.refunds import ledger
from app.server.refunds.payment_links import close_checkout, link_deadline, open_payment_link
from app.server.refunds.service import RefundOrder, give_back, locked_booking

MOVABLE = frozenset({BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN})
SETTLE_MODES = ("none", "charge_at_desk", "refund", "payment_link")


@dataclass(frozen=True, slots=True)
class RescheduleOption:
    """A session the booking could move to, with what the move would cost."""

    session_id: uuid.UUID
    activity_id: uuid.UUID
    activity_name: str
    starts_at: datetime
    ends_at: datetime
    remaining: int
    total_amount: int
    difference: int
    currency: str


@dataclass(frozen=True, slots=True)
class Settlement:
    """How the price difference of a move is settled."""

    mode: str = "none"
    payment_method: str | None = None
    may_refund: bool = False
    public_url: str = ""
    request_key: str | None = None


def check_movable(booking: Booking) -> None:
    """Refuse to move a booking that is not confirmed or checked in."""
    status = BookingStatus(booking.status)
    if status not in MOVABLE:
        raise Conflict(
            "Only a confirmed or checked-in booking can be rescheduled; this one is "
            f"{status.value.replace('_', ' ')}.",
            code="invalid_transition",
        )


async def reprice(session: AsyncSession, booking: Booking, activity: Activity) -> Quote:
    """The booking's party priced in ``activity``.

    The same activity keeps the prices the booking was sold at; another activity has its
    own. A promo code the booking used applies again (its use was already counted).
    """
    same = activity.id == booking.activity_id
    adult = booking.adult_unit_amount if same else activity.adult_price
    child = booking.child_unit_amount if same else activity.child_price
    subtotal = booking.adult_count * adult + booking.child_count * child
    off = min(booking.discount_amount, subtotal)
    if booking.promo_code and not same:
        row = await session.scalar(
            select(PromoCode).where(func.upper(PromoCode.code) == booking.promo_code.upper())
        )
        if row is not None:
            promo = Promo(row.code, PromoKind(row.kind), row.value, row.currency)
            off = discount(promo, subtotal)
    return Quote(booking.adult_count, booking.child_count, adult, child, off, booking.currency)


async def _target_activity(
    session: AsyncSession, booking: Booking, activity_id: uuid.UUID | None
) -> tuple[Activity, Venue]:
    row = (
        await session.execute(
            select(Activity, Venue)
            .join(Venue, Venue.id == Activity.venue_id)
            .where(Activity.id == (activity_id or booking.activity_id))
        )
    ).first()
    if row is None:
        raise NotFound("No such activity.")
    activity, venue = row
    _check_activity(booking, activity)
    return activity, venue


def _check_activity(booking: Booking, activity: Activity) -> None:
    if activity.currency != booking.currency:
        raise Invalid(f"{activity.name} is priced in {activity.currency}, not {booking.currency}.")
    if booking.adult_count < activity.min_adults:
        raise Invalid(f"{activity.name} needs at least {activity.min_adults} adults.")
    if activity.id != booking.activity_id and not activity.active:
        raise Invalid(f"{activity.name} is not open for booking.", code="activity_closed")


async def options(
    session: AsyncSession,
    booking_id: uuid.UUID,
    day: date | None,
    activity_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> list[RescheduleOption]:
    """Sessions of ``activity_id`` (default: the booking's) on ``day`` (default: the
    booking's) with room for the party."""
    now = now or datetime.now(UTC)
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("No such booking.")
    check_movable(booking)
    activity, venue = await _target_activity(session, booking, activity_id)
    day = day or booking.booking_date
    zone = ZoneInfo(venue.timezone)
    first = datetime.combine(day, time.min, tzinfo=zone)
    rows = await session.scalars(
        select(ActivitySession)
        .where(
            ActivitySession.activity_id == activity.id,
            ActivitySession.starts_at >= max(first, now),
            ActivitySession.starts_at < datetime.combine(day + timedelta(days=1), time.min, zone),
            ActivitySession.status == "open",
            ActivitySession.id != booking.session_id,
            ActivitySession.capacity - ActivitySession.reserved >= booking.party_size,
        )
        .order_by(ActivitySession.starts_at, ActivitySession.id)
    )
    price = await reprice(session, booking, activity)
    return [
        RescheduleOption(
            session_id=slot.id,
            activity_id=activity.id,
            activity_name=activity.name,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            remaining=slot.capacity - slot.reserved,
            total_amount=price.total_amount,
            difference=price.total_amount - booking.total_amount,
            currency=booking.currency,
        )
        for slot in rows
    ]


def _check_settlement(booking: Booking, price: Quote, settle: Settlement) -> int:
    """The amount the move collects (> 0) or gives back (< 0) under ``settle``; or refuse."""
    difference = price.total_amount - booking.total_amount
    if settle.mode == "none":
        return 0
    if settle.mode in ("charge_at_desk", "payment_link"):
        if difference <= 0:
            raise Invalid("The new session costs no more; there is nothing to charge.")
        if settle.mode == "charge_at_desk" and settle.payment_method is None:
            raise Invalid("Say how the difference is paid: cash or card terminal.")
        kept = booking.amount_paid - booking.refunded_amount
        due = price.total_amount - kept
        if due <= 0:
            raise Invalid("What was paid already covers the new price; nothing to charge.")
        return min(difference, due)
    if difference >= 0:
        raise Invalid("The new session costs no less; there is nothing to refund.")
    if not settle.may_refund:
        raise Forbidden("Refunding the difference needs the manager role or higher.")
    overpaid = booking.amount_paid - booking.refunded_amount - price.total_amount
    return -min(-difference, max(overpaid, 0))


async def _move_seats(session: AsyncSession, booking: Booking, target_id: uuid.UUID) -> None:
    """Take the party's seats in the target and give them back in the old session.

    Both session rows are locked first, in id order, so moves in opposite directions wait
    for each other instead of deadlocking; the counts then change in SQL on locked rows.
    """
    await session.execute(
        select(ActivitySession.id)
        .where(ActivitySession.id.in_([booking.session_id, target_id]))
        .order_by(ActivitySession.id)
        .with_for_update()
    )
    if await bookings.reserve_seats(session, target_id, booking.party_size) is None:
        target = await session.get_one(ActivitySession, target_id, populate_existing=True)
        raise seats_refusal(target)
    await bookings.release_seats(session, booking.session_id, booking.party_size)


async def reschedule(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking_id: uuid.UUID,
    target_id: uuid.UUID,
    settle: Settlement,
    actor: Actor,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> Booking:
    """Move the booking to ``target_id`` and settle the price difference as asked."""
    now = now or datetime.now(UTC)
    booking = await locked_booking(session, booking_id)
    check_movable(booking)
    if target_id == booking.session_id:
        raise Invalid("The booking is already in this session.", code="same_session")
    slot, activity, venue = await load_session(session, target_id)
    _check_activity(booking, activity)
    if slot.starts_at <= now:
        raise Invalid("This session has already started; choose a later one.", code="session_past")
    check_party(activity, slot, booking.adult_count, booking.child_count)
    price = await reprice(session, booking, activity)
    amount = _check_settlement(booking, price, settle)
    if slot.status != "open" or slot.reserved + booking.party_size > slot.capacity:
        raise seats_refusal(slot)  # full when we looked: no link opened, no lock queued for
    old_session_id, old_total = booking.session_id, booking.total_amount
    old_starts = (await session.get_one(ActivitySession, old_session_id)).starts_at
    old_where = await _describe(session, booking.activity_id, old_starts)

    link = None
    earlier_link = booking.stripe_checkout_session_id if booking.payment_link_url else None
    if settle.mode == "payment_link":
        if gateway is None:
            raise PaymentsNotConfigured("Stripe is not set up, so no payment link can be sent.")
        link = await open_payment_link(
            session,
            gateway,
            booking,
            amount=amount,
            public_url=settle.public_url,
            deadline=link_deadline(slot.starts_at, now),
            idempotency_key=f"difference-{booking.id}-{uuid.uuid4()}",
            now=now,
        )
    try:
        await _move_seats(session, booking, slot.id)
    except Exception:
        if link is not None:
            await close_checkout(session, gateway, booking, link.id)
        raise
    if link is not None and earlier_link:
        # The new link replaces an unpaid one for an earlier difference.
        await close_checkout(session, gateway, booking, earlier_link)
    _apply_new_session(booking, slot, activity, venue, price)
    await session.flush()

    settled = ""
    if settle.mode == "charge_at_desk":
        assert settle.payment_method is not None
        await ledger.record_desk_payment(session, booking, amount, settle.payment_method, actor)
        method = settle.payment_method.replace("_", " ")
        settled = f"; {format_amount(amount, booking.currency)} charged at the desk ({method})"
    elif settle.mode == "refund" and amount < 0:
        order = RefundOrder(
            -amount,
            reason or "Price difference after rescheduling.",
            settle.payment_method,
            settle.request_key,
        )
        await give_back(session, gateway, booking, order, actor)
        settled = f"; {format_amount(-amount, booking.currency)} refunded"
    elif link is not None:
        settled = f"; payment link for {format_amount(amount, booking.currency)} sent"
    await ledger.settle_money(session, booking)

    new_where = await _describe(session, activity.id, slot.starts_at)
    event = await record_event(
        session,
        booking,
        "reschedule",
        actor,
        message=f"Moved from {old_where} to {new_where}{settled}."
        + (f" {reason}" if reason else ""),
        data={
            "from_session_id": str(old_session_id),
            "to_session_id": str(slot.id),
            "old_starts_at": old_starts.isoformat(),
            "new_starts_at": slot.starts_at.isoformat(),
            "difference": price.total_amount - old_total,
            "settle": settle.mode,
        },
    )
    await queue_booking_messages(
        session,
        booking,
        BOOKING_RESCHEDULED,
        cause=f"reschedule:{event.id}",
        context={"old_starts_at": old_starts.isoformat()},
        now=now,
    )
    if link is not None:
        await queue_booking_messages(
            session,
            booking,
            PAYMENT_LINK,
            cause=f"payment-link:{link.id}",
            context={"url": link.url, "amount": amount},
            now=now,
        )
    timezone = await venue_timezone(session, booking)
    await ledger.refresh_customer(session, booking, local_today(timezone, now), timezone)
    return booking


def _apply_new_session(
    booking: Booking, slot: ActivitySession, activity: Activity, venue: Venue, price: Quote
) -> None:
    zone = ZoneInfo(venue.timezone)
    start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
    booking.session_id = slot.id
    booking.activity_id = activity.id
    booking.venue_id = venue.id
    booking.booking_date = start.date()
    booking.start_time = start.time().replace(tzinfo=None)
    booking.end_time = end.time().replace(tzinfo=None)
    booking.adult_unit_amount = price.adult_unit_amount
    booking.child_unit_amount = price.child_unit_amount
    booking.subtotal_amount = price.subtotal_amount
    booking.discount_amount = price.discount_amount
    booking.total_amount = price.total_amount


async def _describe(session: AsyncSession, activity_id: uuid.UUID, starts_at: datetime) -> str:
    name, timezone = (
        await session.execute(
            select(Activity.name, Venue.timezone)
            .join(Venue, Venue.id == Activity.venue_id)
            .where(Activity.id == activity_id)
        )
    ).one()
    return f"{name}, {format_datetime(starts_at, timezone)}"
