"""``/bookings``: list, stats, detail, desk bookings and the lifecycle actions."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import date, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import Action, BookingStatus
from app.receipts import render_receipt
from app.server.auth.principal import Principal
from app.server.bookings import repository, service
from app.server.bookings.events import Actor
from app.server.bookings.schemas import (
    BookingDetail,
    BookingEventRead,
    BookingPage,
    BookingRead,
    BookingStatsRead,
    CheckInRequest,
    DeskBookingCreate,
    GuestsArrivedRequest,
    PaymentRead,
    QuoteRead,
    RefundRead,
)
from app.server.core.db import Database
from app.server.core.deps import DbDep, IdempotencyKeyDep, SettingsDep, StaffUser
from app.server.core.errors import Invalid, NotFound
from app.server.core.idempotency import run_once
from app.server.core.validation import check_reasonable_date
from app.server.db.models import (
    Activity,
    ActivitySession,
    Booking,
    Customer,
    Organization,
    Venue,
)
from app.server.db.models import (
    StaffUser as StaffUserRow,
)
from app.server.notifications.router import send_soon
from app.server.payments.public_router import GatewayDep
from app.server.receipts.builder import receipt_for
from app.server.refunds.desk_bookings import DeskPaymentChoice, take_desk_booking
from app.server.refunds.service import refundable_amount

router = APIRouter(prefix="/bookings", tags=["bookings"])

MAX_PAGE = 500


def encode_cursor(booking: Booking) -> str:
    raw = f"{booking.booking_date.isoformat()}|{booking.start_time.isoformat()}|{booking.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> repository.Cursor:
    try:
        day, start, booking_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return date.fromisoformat(day), time.fromisoformat(start), uuid.UUID(booking_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one this service gave out.") from exc


CustomerFields = tuple[str | None, str | None, str | None, str | None]


def _read(booking: Booking, customer: CustomerFields, activity_name: str) -> dict[str, Any]:
    """The list row of a booking: its columns plus customer, activity and balance."""
    first, last, email, phone = customer
    return {
        **{c: getattr(booking, c) for c in BookingRead.model_fields if hasattr(booking, c)},
        "activity_name": activity_name,
        # An online booking not paid yet has no customer, only the contact it was made with.
        "customer_name": f"{first or ''} {last or ''}".strip() or booking.contact_name,
        "customer_email": email or booking.contact_email,
        "customer_phone": phone or booking.contact_phone,
        "balance_due": service.unpaid_balance(booking),
    }


@router.get("")
async def list_bookings(
    principal: StaffUser,
    db: DbDep,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    status: Annotated[list[BookingStatus] | None, Query()] = None,
    activity_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> BookingPage:
    """Bookings matching the filters, in date and time order, one page at a time."""
    check_reasonable_date(date_from, "from")
    check_reasonable_date(date_to, "to")
    if date_from and date_to and date_to < date_from:
        raise Invalid("'to' must not be before 'from'.")
    filters = repository.BookingFilter(
        date_from=date_from,
        date_to=date_to,
        statuses=tuple(s.value for s in status or ()),
        activity_id=activity_id,
        customer_id=customer_id,
        q=q or None,
    )
    after = decode_cursor(cursor) if cursor else None
    async with db.tenant(principal.organization_id) as session:
        rows = await repository.list_page(session, filters, after=after, limit=limit + 1)
    items = []
    for row in rows[:limit]:
        booking = row[0]
        customer = (row.first_name, row.last_name, row.email, row.phone)
        items.append(BookingRead.model_validate(_read(booking, customer, row.activity_name)))
    next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return BookingPage(items=items, next_cursor=next_cursor)


@router.get("/stats")
async def booking_stats(
    principal: StaffUser,
    db: DbDep,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> BookingStatsRead:
    """Today's and this week's bookings, and revenue for a range (default this week)."""
    check_reasonable_date(date_from, "from")
    check_reasonable_date(date_to, "to")
    async with db.tenant(principal.organization_id) as session:
        org = await session.get_one(Organization, principal.organization_id)
        figures = await service.stats(session, org.currency, date_from, date_to)
    return BookingStatsRead.model_validate(figures)


@router.get("/quote")
async def quote(
    principal: StaffUser,
    db: DbDep,
    session_id: uuid.UUID,
    adults: Annotated[int, Query(ge=0, le=500)],
    children: Annotated[int, Query(ge=0, le=500)] = 0,
    promo_code: Annotated[str | None, Query(max_length=40)] = None,
) -> QuoteRead:
    """What a party would pay in a session (the promo is checked, not used), and seats left."""
    async with db.tenant(principal.organization_id) as session:
        found = await service.quote_party(session, session_id, adults, children, promo_code)
    return QuoteRead(
        subtotal_amount=found.price.subtotal_amount,
        discount_amount=found.price.discount_amount,
        total_amount=found.price.total_amount,
        currency=found.price.currency,
        promo_code=found.promo_code,
        remaining=found.remaining,
    )


# A payment link is worth showing while the money is still owed and the booking alive.
LINK_STATUSES = frozenset({BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED})


async def booking_detail(session: AsyncSession, booking_id: uuid.UUID) -> BookingDetail:
    """The full view of one booking, read inside the caller's transaction."""
    booking = await repository.get(session, booking_id)
    if booking is None:
        raise NotFound("No such booking.")
    customer = await session.get(Customer, booking.customer_id) if booking.customer_id else None
    contact: CustomerFields = (
        (customer.first_name, customer.last_name, customer.email, customer.phone)
        if customer
        else (None, None, None, None)
    )
    slot = await session.get_one(ActivitySession, booking.session_id)
    venue = await session.get_one(Venue, booking.venue_id)
    activity = await session.get_one(Activity, booking.activity_id)
    checked_in_by = (
        await session.get(StaffUserRow, booking.checked_in_by) if booking.checked_in_by else None
    )
    link_open = booking.status in LINK_STATUSES and service.unpaid_balance(booking) > 0
    fields = {c: getattr(booking, c) for c in BookingDetail.model_fields if hasattr(booking, c)}
    return BookingDetail.model_validate(
        {
            **fields,
            **_read(booking, contact, activity.name),
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "timezone": venue.timezone,
            "checked_in_by_name": checked_in_by.name if checked_in_by else None,
            "payment_link_url": booking.payment_link_url if link_open else None,
            "refundable_amount": await refundable_amount(session, booking.id, lock=False),
            "events": [
                BookingEventRead.model_validate(e)
                for e in await repository.timeline(session, booking.id)
            ],
            "payments": [
                PaymentRead.model_validate(p)
                for p in await repository.payments_of(session, booking.id)
            ],
            "refunds": [
                RefundRead.model_validate(r)
                for r in await repository.refunds_of(session, booking.id)
            ],
        }
    )


@router.get("/{booking_id}")
async def get_booking(booking_id: uuid.UUID, principal: StaffUser, db: DbDep) -> BookingDetail:
    """One booking with its timeline, payments and refunds."""
    async with db.tenant(principal.organization_id) as session:
        return await booking_detail(session, booking_id)


@router.get(
    "/{booking_id}/receipt",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The PDF receipt."}},
)
async def receipt(booking_id: uuid.UUID, principal: StaffUser, db: DbDep) -> Response:
    """The booking's PDF receipt: the same document the service attaches to e-mails."""
    async with db.tenant(principal.organization_id) as session:
        data = await receipt_for(session, booking_id)
    pdf = await asyncio.to_thread(render_receipt, data)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="receipt-{data.booking_number}.pdf"'},
    )


@router.post("", status_code=201)
async def create_booking(
    body: DeskBookingCreate,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    settings: SettingsDep,
    gateway: GatewayDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Take a booking at the desk: paid now, by a link sent by e-mail, or on arrival."""
    fields = body.model_dump(exclude={"payment"})

    async with db.tenant(principal.organization_id) as session:

        async def create() -> dict[str, Any]:
            booking = await take_desk_booking(
                session,
                gateway,
                principal.organization_id,
                service.DeskBookingRequest(**fields),
                DeskPaymentChoice(**body.payment.model_dump()),
                Actor.staff(principal),
                public_url=settings.public_url,
            )
            return (await booking_detail(session, booking.id)).model_dump(mode="json")

        answer = await run_once(
            session,
            principal,
            key,
            "POST",
            request.url.path,
            body.model_dump(mode="json"),
            create,
        )
    await send_soon(request)  # the confirmation e-mail goes now, not next minute
    return BookingDetail.model_validate(answer)


async def _act(
    db: Database,
    principal: Principal,
    request: Request,
    key: str | None,
    booking_id: uuid.UUID,
    action: Action,
    body: dict[str, Any],
    **options: Any,
) -> BookingDetail:
    async with db.tenant(principal.organization_id) as session:

        async def run() -> dict[str, Any]:
            await service.apply_action(
                session, booking_id, action, Actor.staff(principal), **options
            )
            return (await booking_detail(session, booking_id)).model_dump(mode="json")

        answer = await run_once(session, principal, key, "POST", request.url.path, body, run)
    return BookingDetail.model_validate(answer)


@router.post("/{booking_id}/check-in")
async def check_in(
    booking_id: uuid.UUID,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    key: IdempotencyKeyDep,
    body: CheckInRequest | None = None,
) -> BookingDetail:
    """Check the party in (today's bookings; unpaid ones need ``override_unpaid``)."""
    body = body or CheckInRequest()
    return await _act(
        db,
        principal,
        request,
        key,
        booking_id,
        Action.CHECK_IN,
        body.model_dump(),
        guests_arrived=body.guests_arrived,
        override_unpaid=body.override_unpaid,
    )


@router.post("/{booking_id}/undo-check-in")
async def undo_check_in(
    booking_id: uuid.UUID,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Take back a check-in made today."""
    return await _act(db, principal, request, key, booking_id, Action.UNDO_CHECK_IN, {})


@router.post("/{booking_id}/no-show")
async def no_show(
    booking_id: uuid.UUID,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Mark a confirmed booking whose session has started as a no-show; seats are freed."""
    return await _act(db, principal, request, key, booking_id, Action.NO_SHOW, {})


@router.post("/{booking_id}/complete")
async def complete(
    booking_id: uuid.UUID,
    request: Request,
    principal: StaffUser,
    db: DbDep,
    key: IdempotencyKeyDep,
) -> BookingDetail:
    """Mark a checked-in booking as completed; seats are freed."""
    return await _act(db, principal, request, key, booking_id, Action.COMPLETE, {})


@router.post("/{booking_id}/guests-arrived")
async def guests_arrived(
    booking_id: uuid.UUID, body: GuestsArrivedRequest, principal: StaffUser, db: DbDep
) -> BookingDetail:
    """Update how many of a checked-in party have arrived."""
    async with db.tenant(principal.organization_id) as session:
        await service.set_guests_arrived(
            session, booking_id, body.guests_arrived, Actor.staff(principal)
        )
        return await booking_detail(session, booking_id)
