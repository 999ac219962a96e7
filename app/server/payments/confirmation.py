"""Applying payment facts to a locked booking: confirm, fail, expire, refund, late payments.

Every function here runs inside the caller's tenant transaction with the booking row
locked, and is idempotent: figures are set from absolute amounts (max of what is known),
rows are upserted by their Stripe ids, and a status only moves forward.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import replace
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from app.domain.lifecycle import (
    REVIVABLE_BY_LATE_PAYMENT,
    BookingStatus,
    local_today,
)
from app.domain.money import format_amount
from app.domain.segmentation import CustomerAnalytics, analyse
from app.server.bookings import repository as bookings
from app.server.bookings.events import Actor, record_event
from app.server.bookings.service import venue_timezone
from app.server.customers import repository as customers_repository
from app.server.customers import service as customers
from app.server.db.models import (
    ActivitySession,
    Booking,
    Customer,
    Organization,
    Payment,
    Refund,
    StaffUser,
)
from app.server.notifications.outbox import (
    ADMIN_NEW_BOOKING,
    BOOKING_CONFIRMATION,
    queue_booking_messages,
)
from app.server.payments import holds
from app.server.payments.facts import FactKind, PaymentFact, RefundFact
from app.server.payments.stripe_gateway import StripeGateway
from app.server.refunds import ledger

STRIPE = Actor("stripe", None, "Stripe")
REFUND_STATUS_RANK = {
    "pending": 0,
    "requires_action": 0,
    "failed": 1,
    "canceled": 1,
    "succeeded": 2,
}


class RetryLater(Exception):
    """The event cannot be applied yet (its payment is not known); the job retries it."""


OUTBOX_WRITTEN = "payments.outbox_written"
"""Key of ``session.info`` set when applying a fact wrote messages into the outbox."""
PAYMENTS_IN_HAND = "payments.in_hand"
"""Key of ``session.info``: the payments rows this transaction created or locked, by
PaymentIntent id."""


async def apply_fact(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking: Booking,
    fact: PaymentFact,
    now: datetime,
    *,
    timezone: str | None = None,
) -> None:
    """Bring the booking in line with one fact; ``timezone`` is its venue's, if known."""
    if fact.kind is FactKind.PAID:
        await _paid(session, gateway, booking, fact, now, timezone)
    elif fact.kind is FactKind.PROCESSING:
        await _processing(session, booking, fact)
    elif fact.kind is FactKind.FAILED:
        await _failed(session, booking, fact, now)
    elif fact.kind is FactKind.EXPIRED:
        if booking.status == BookingStatus.PENDING_PAYMENT:
            await holds.end_hold(
                session,
                booking,
                BookingStatus.EXPIRED,
                STRIPE,
                "The payment page expired; seats released.",
                now=now,
            )
    elif fact.kind is FactKind.REFUNDED:
        await _refunded(session, gateway, booking, fact, now, timezone)


async def attach_customer(
    session: AsyncSession, booking: Booking, today: date, timezone: str
) -> None:
    """Find or create the booking's customer from its contact and refresh their analytics."""
    if booking.customer_id is None and booking.contact_email:
        first, _, last = booking.contact_name.strip().partition(" ")
        customer = await customers.find_or_create(
            session,
            booking.organization_id,
            email=booking.contact_email,
            first_name=first or booking.contact_email.split("@")[0],
            last_name=last,
            phone=booking.contact_phone,
            created_via="booking_widget",
        )
        booking.customer_id = customer.id
        await session.flush()
    if booking.customer_id is not None:
        await customers.refresh_analytics(session, booking.customer_id, today, timezone)


@functools.cache
def _insert_card_payment() -> ReturningInsert[Payment]:
    """A succeeded Stripe card payment, unless its PaymentIntent has a row (nothing then).
    Built once: constructing it per event costs more CPU than running it."""
    table = cast(Table, Payment.__table__)
    given = (
        "organization_id", "booking_id", "amount", "currency", "stripe_payment_intent_id",
        "stripe_charge_id",
    )  # fmt: skip
    return (
        insert(Payment)
        .values(
            {
                **{name: bindparam(name, type_=table.c[name].type) for name in given},
                "provider": "stripe",
                "method": "card",
                "status": "succeeded",
                "refunded_amount": 0,
            }
        )
        .on_conflict_do_nothing(index_elements=[Payment.stripe_payment_intent_id])
        .returning(Payment)
    )


async def _upsert_payment(
    session: AsyncSession, booking: Booking, fact: PaymentFact
) -> tuple[Payment, bool]:
    """The payments row of this PaymentIntent, and whether it is new (written as succeeded).

    First sight is one ``INSERT … RETURNING``; a row already there is read locked, unless
    this transaction has it already (the second event of one payment, applied with the
    first).
    """
    assert fact.payment_intent_id is not None
    mine: dict[str, Payment] = session.info.setdefault(PAYMENTS_IN_HAND, {})
    known = mine.get(fact.payment_intent_id)
    if known is not None:
        if fact.charge_id and not known.stripe_charge_id:
            known.stripe_charge_id = fact.charge_id
        return known, False
    created = await session.scalar(
        _insert_card_payment(),
        {
            "organization_id": booking.organization_id,
            "booking_id": booking.id,
            "amount": fact.amount or booking.total_amount,
            "currency": (fact.currency or booking.currency).upper(),
            "stripe_payment_intent_id": fact.payment_intent_id,
            "stripe_charge_id": fact.charge_id,
        },
    )
    if created is not None:
        mine[fact.payment_intent_id] = created
        return created, True
    payment = await session.scalar(
        select(Payment)
        .where(Payment.stripe_payment_intent_id == fact.payment_intent_id)
        .with_for_update()
    )
    assert payment is not None
    mine[fact.payment_intent_id] = payment
    if fact.charge_id and not payment.stripe_charge_id:
        payment.stripe_charge_id = fact.charge_id
    return payment, False


async def _settle_money(session: AsyncSession, booking: Booking, **changes: Any) -> None:
    """Set ``changes`` and the paid/refunded figures and payment state on the booking.

    What is pending is written first (the ledger sums the payment rows); the booking's
    changes are set only then, so they go out with its figures in one ``UPDATE``.
    """
    await session.flush()
    _set(booking, changes)
    with session.no_autoflush:
        await ledger.settle_money(session, booking)


async def _paid(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking: Booking,
    fact: PaymentFact,
    now: datetime,
    timezone: str | None = None,
) -> Payment:
    """Record a succeeded payment and confirm, revive or refund the booking; the payment."""
    if fact.payment_intent_id is None:
        # A session paid without a PaymentIntent id in the event: the PI event follows.
        if fact.checkout_session_id and not booking.stripe_checkout_session_id:
            booking.stripe_checkout_session_id = fact.checkout_session_id
        raise RetryLater("The payment's PaymentIntent is not known yet.")
    payment, new = await _upsert_payment(session, booking, fact)
    changes: dict[str, Any] = {
        "stripe_payment_intent_id": booking.stripe_payment_intent_id or fact.payment_intent_id
    }
    if fact.checkout_session_id:
        changes["stripe_checkout_session_id"] = fact.checkout_session_id
    if payment.status == "succeeded" and not new:
        _set(booking, changes)
        return payment  # applied before: a repeat of it says nothing new
    if payment.status != "succeeded":
        payment.status = "succeeded"
    current = BookingStatus(booking.status)
    timezone = timezone or await venue_timezone(session, booking)
    today = local_today(timezone, now)
    figures = customers.NO_HISTORY
    if current is BookingStatus.PENDING_PAYMENT and new:
        # A customer made now is written with the figures this confirmation gives them,
        # so refreshing them below changes nothing and the row is not written twice.
        about_to_be = customers.booking_fact(booking, ZoneInfo(timezone))
        figures = analyse(
            [
                replace(
                    about_to_be,
                    amount_paid=about_to_be.amount_paid + payment.amount,
                    status=BookingStatus.CONFIRMED,
                )
            ],
            today,
        )
    customer, created = await _find_customer(session, booking, figures)
    if customer is not None:
        changes["customer_id"] = customer.id
    amount = format_amount(payment.amount, payment.currency)
    if current is BookingStatus.PENDING_PAYMENT:
        await _confirm(
            session,
            booking,
            payment,
            current,
            now,
            "payment",
            f"Paid {amount} online; booking confirmed.",
            changes,
        )
    elif current in REVIVABLE_BY_LATE_PAYMENT or current is BookingStatus.CANCELLED:
        _set(booking, changes)
        await _late_payment(session, gateway, booking, payment, current, now)
    else:
        await _settle_money(session, booking, **changes)
        await record_event(
            session,
            booking,
            "payment",
            STRIPE,
            message=f"Paid {amount} online.",
            data={"payment_intent": payment.stripe_payment_intent_id},
        )
    if customer is not None:
        await customers.refresh_analytics(
            session,
            customer.id,
            today,
            timezone,
            locked=customer,
            all_bookings=[booking] if created else None,
        )
    return payment


def _set(booking: Booking, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(booking, name, value)


async def _find_customer(
    session: AsyncSession, booking: Booking, figures: CustomerAnalytics
) -> tuple[Customer | None, bool]:
    """The booking's customer (found or created from its contact, with ``figures``),
    locked; and whether it was created just now. The caller links it to the booking."""
    if booking.customer_id is not None:
        return await customers_repository.get(session, booking.customer_id, lock=True), False
    if not booking.contact_email:
        return None, False
    first, _, last = booking.contact_name.strip().partition(" ")
    customer, created = await customers.find_or_add(
        session,
        booking.organization_id,
        email=booking.contact_email,
        first_name=first or booking.contact_email.split("@")[0],
        last_name=last,
        phone=booking.contact_phone,
        created_via="booking_widget",
        figures=figures,
    )
    return customer, created


async def _confirm(
    session: AsyncSession,
    booking: Booking,
    payment: Payment,
    current: BookingStatus,
    now: datetime,
    kind: str,
    message: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """Confirm a paid booking, with its money, its timeline row and its messages;
    ``changes`` are written to the booking with its new status."""
    await _settle_money(
        session,
        booking,
        **(changes or {}),
        status=BookingStatus.CONFIRMED.value,
        confirmed_at=now,
    )
    await record_event(
        session,
        booking,
        kind,
        STRIPE,
        from_status=current.value,
        to_status=booking.status,
        message=message,
        data={"payment_intent": payment.stripe_payment_intent_id},
    )
    # Written with the confirmation, so a rolled-back event mails nothing.
    cause = f"payment:{payment.id}"
    await queue_booking_messages(
        session, booking, BOOKING_CONFIRMATION, ADMIN_NEW_BOOKING, cause=cause, now=now
    )
    session.info[OUTBOX_WRITTEN] = True


async def _late_payment(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking: Booking,
    payment: Payment,
    current: BookingStatus,
    now: datetime,
) -> None:
    """Money for a hold that already ended: take the seats again, or give the money back."""
    amount = format_amount(payment.amount, payment.currency)
    if current is not BookingStatus.CANCELLED and await bookings.reserve_seats(
        session, booking.session_id, booking.party_size
    ):
        await holds.claim_promo_use(session, booking.promo_code)
        await _confirm(
            session,
            booking,
            payment,
            current,
            now,
            "late_payment",
            f"Paid {amount} after the hold ended; seats taken again and booking confirmed.",
        )
        return
    why = (
        "the booking had been cancelled"
        if current is BookingStatus.CANCELLED
        else "the session had no seats left"
    )
    await _settle_money(session, booking)
    if payment.refunded_amount < payment.amount:
        await _refund_automatically(session, gateway, booking, payment, why, now)
    booking.attention_reason = (
        f"Payment of {amount} arrived after the hold ended and {why}; "
        "it was refunded automatically."
    )
    await record_event(
        session,
        booking,
        "late_payment_refunded",
        STRIPE,
        message=booking.attention_reason,
        data={"payment_intent": payment.stripe_payment_intent_id},
    )


async def _refund_automatically(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking: Booking,
    payment: Payment,
    why: str,
    now: datetime,
) -> None:
    if gateway is None:
        raise RetryLater("Stripe is not configured, so the late payment cannot be refunded.")
    assert payment.stripe_payment_intent_id is not None
    source = booking.stripe_checkout_session_id or payment.stripe_payment_intent_id
    key = f"late-payment-refund-{source}"
    remaining = payment.amount - payment.refunded_amount
    account = await stripe_account(session, booking.organization_id)
    refund = await gateway.refund(
        payment.stripe_payment_intent_id,
        remaining,
        account=account,
        idempotency_key=key,
        metadata={"booking_id": str(booking.id), "origin": "automatic"},
    )
    await _upsert_refund(
        session,
        booking,
        payment,
        RefundFact(
            id=refund["id"],
            amount=int(refund["amount"]),
            status=refund["status"],
            reason=None,
            metadata={"origin": "automatic"},
        ),
        reason=f"Late payment: {why}.",
        idempotency_key=key,
    )
    if refund["status"] == "succeeded":
        payment.refunded_amount = max(payment.refunded_amount, payment.amount)
    await _settle_money(session, booking)


async def stripe_account(session: AsyncSession, organization_id: uuid.UUID) -> str | None:
    """The organization's connected Stripe account, if it has one."""
    return await session.scalar(
        select(Organization.stripe_account_id).where(Organization.id == organization_id)
    )


async def _processing(session: AsyncSession, booking: Booking, fact: PaymentFact) -> None:
    """Checkout done with a delayed method: keep the seats until the bank answers."""
    if fact.payment_intent_id and not booking.stripe_payment_intent_id:
        booking.stripe_payment_intent_id = fact.payment_intent_id
    if booking.status != BookingStatus.PENDING_PAYMENT:
        return
    starts_at = await session.scalar(
        select(ActivitySession.starts_at).where(ActivitySession.id == booking.session_id)
    )
    if starts_at and (booking.expires_at is None or booking.expires_at < starts_at):
        booking.expires_at = starts_at
        await session.flush()
        await record_event(
            session,
            booking,
            "payment_processing",
            STRIPE,
            message="Checkout completed; the payment is processing. Seats held until it clears.",
            data={"payment_intent": fact.payment_intent_id},
        )


async def _failed(
    session: AsyncSession, booking: Booking, fact: PaymentFact, now: datetime
) -> None:
    if fact.payment_intent_id and not booking.stripe_payment_intent_id:
        booking.stripe_payment_intent_id = fact.payment_intent_id
    if booking.status != BookingStatus.PENDING_PAYMENT:
        return  # paid meanwhile, or already ended: a stale failure changes nothing
    reason = fact.failure_message or "The payment was declined."
    await holds.end_hold(
        session,
        booking,
        BookingStatus.PAYMENT_FAILED,
        STRIPE,
        f"Payment failed: {reason} Seats released.",
        now=now,
    )


async def _refunded(
    session: AsyncSession,
    gateway: StripeGateway | None,
    booking: Booking,
    fact: PaymentFact,
    now: datetime,
    timezone: str | None = None,
) -> None:
    """Refunds made by us or in the Stripe dashboard: amounts, rows and payment state."""
    payment = None
    if fact.payment_intent_id:
        payment = await session.scalar(
            select(Payment)
            .where(Payment.stripe_payment_intent_id == fact.payment_intent_id)
            .with_for_update()
        )
    if payment is None or payment.status != "succeeded":
        if fact.amount is None or fact.payment_intent_id is None:
            raise RetryLater("The refunded payment is not recorded yet.")
        # A refunded charge was paid: record the payment first, whatever came before.
        payment = await _paid(session, gateway, booking, fact, now, timezone)
    before = payment.refunded_amount
    external = False
    for refund in fact.refunds:
        row, created = await _upsert_refund(session, booking, payment, refund)
        external = external or (created and row.origin == "stripe_dashboard")
    succeeded = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status == "succeeded"
        )
    )
    payment.refunded_amount = min(
        payment.amount, max(payment.refunded_amount, fact.amount_refunded or 0, int(succeeded or 0))
    )
    await _settle_money(session, booking)
    if payment.refunded_amount > before:
        await record_event(
            session,
            booking,
            "refund",
            STRIPE,
            message=(
                f"Refunded {format_amount(payment.refunded_amount - before, payment.currency)}"
                f"{' in the Stripe dashboard' if external else ''}; "
                f"{format_amount(payment.refunded_amount, payment.currency)} of "
                f"{format_amount(payment.amount, payment.currency)} refunded in all."
            ),
            data={"payment_intent": payment.stripe_payment_intent_id},
        )
    if booking.customer_id:
        timezone = timezone or await venue_timezone(session, booking)
        await customers.refresh_analytics(
            session, booking.customer_id, local_today(timezone, now), timezone
        )


async def _upsert_refund(
    session: AsyncSession,
    booking: Booking,
    payment: Payment,
    refund: RefundFact,
    *,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[Refund, bool]:
    """The refunds row of one Stripe Refund, and whether it is new; status only moves forward.

    A refund the desk asked for names its row in ``metadata.refund_id``: that row (written
    before Stripe was called) is the one reconciled, or recreated under the same id when
    the desk's transaction was lost after Stripe had refunded.
    """
    metadata = refund.metadata
    origin = metadata.get("origin")
    known_id = _uuid(metadata.get("refund_id"))
    same_id: dict[str, uuid.UUID] = {}
    if known_id is not None:
        mine = await session.get(Refund, known_id, with_for_update=True)
        if mine is None:
            same_id["id"] = known_id
        elif mine.stripe_refund_id is None:
            mine.stripe_refund_id = refund.id
            await session.flush()
    external = origin not in ("desk", "automatic")
    created = await session.scalar(
        insert(Refund)
        .values(
            **same_id,
            organization_id=booking.organization_id,
            booking_id=booking.id,
            payment_id=payment.id,
            provider="stripe",
            origin="stripe_dashboard" if external else origin,
            method="card",
            status="pending",
            amount=refund.amount,
            currency=payment.currency,
            reason=(
                reason
                or metadata.get("reason")
                or refund.reason
                or ("Refunded in the Stripe dashboard." if external else "Refunded in Stripe.")
            )[:500],
            stripe_refund_id=refund.id,
            idempotency_key=idempotency_key or (f"refund-{known_id}" if same_id else None),
            created_by=await _staff_id(session, metadata.get("staff_id")),
        )
        .on_conflict_do_nothing()
        .returning(Refund.id)
    )
    row = await session.scalar(
        select(Refund).where(Refund.stripe_refund_id == refund.id).with_for_update()
    )
    assert row is not None
    status = "cancelled" if refund.status == "canceled" else refund.status
    if status in ("pending", "succeeded", "failed", "cancelled") and REFUND_STATUS_RANK.get(
        refund.status, 0
    ) >= REFUND_STATUS_RANK.get("canceled" if row.status == "cancelled" else row.status, 0):
        row.status = status
    await session.flush()
    return row, created is not None


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


async def _staff_id(session: AsyncSession, raw: str | None) -> uuid.UUID | None:
    """The member of staff named in a refund's metadata, if they are one of this venue's."""
    staff_id = _uuid(raw)
    if staff_id is None:
        return None
    return await session.scalar(select(StaffUser.id).where(StaffUser.id == staff_id))
