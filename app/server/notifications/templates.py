"""Rendering the outbox's messages from ``resources/email/`` (Jinja2).

Each template has ``<name>.subject.txt``, ``<name>.txt`` and ``<name>.html`` (HTML is
autoescaped, text is not); confirmation and reminder also have ``<name>.sms.txt``. They see
one :class:`BookingFacts` (``b``) plus the template's own values (refund, old time, link).
Dates and times are shown in the venue's time zone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.money import format_amount
from app.paths import resource
from app.receipts.formatting import format_date, format_datetime, format_time_range
from app.server.db.models import (
    Activity,
    ActivitySession,
    Booking,
    Customer,
    Organization,
    Venue,
)
from app.server.notifications.outbox import (
    BOOKING_CANCELLED,
    BOOKING_RESCHEDULED,
    PAYMENT_LINK,
    SMS_TEMPLATES,
    TEMPLATES,
)

CARD_REFUND_DAYS = "5–10 business days"


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What a message says about a booking, read in one transaction."""

    booking_id: uuid.UUID | None
    booking_number: str
    status: str
    source: str
    organization_name: str
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    activity_name: str
    what_to_bring: str
    venue_name: str
    venue_address_lines: tuple[str, ...]
    venue_email: str | None
    venue_phone: str | None
    timezone: str
    starts_at: datetime
    ends_at: datetime
    adult_count: int
    child_count: int
    currency: str
    total_amount: int
    amount_paid: int
    refunded_amount: int
    special_requests: str
    paid_online: bool

    @property
    def party_size(self) -> int:
        return self.adult_count + self.child_count

    @property
    def party(self) -> str:
        """``"3 adults, 1 child"``."""
        parts = [f"{self.adult_count} adult{'s' if self.adult_count != 1 else ''}"]
        if self.child_count:
            parts.append(f"{self.child_count} child{'ren' if self.child_count != 1 else ''}")
        return ", ".join(parts)

    @property
    def when(self) -> str:
        """Date and times in the venue's zone, naming the zone."""
        return format_time_range(self.starts_at, self.ends_at, self.timezone)

    @property
    def date(self) -> str:
        return format_date(self.starts_at, self.timezone)

    @property
    def start_time(self) -> str:
        return f"{self.starts_at.astimezone(ZoneInfo(self.timezone)):%H:%M}"

    @property
    def total(self) -> str:
        return format_amount(self.total_amount, self.currency)

    @property
    def paid(self) -> str:
        return format_amount(self.amount_paid - self.refunded_amount, self.currency)

    @property
    def balance_due_amount(self) -> int:
        return max(self.total_amount - (self.amount_paid - self.refunded_amount), 0)

    @property
    def balance_due(self) -> str:
        return format_amount(self.balance_due_amount, self.currency)

    @property
    def venue_address(self) -> str:
        return ", ".join(self.venue_address_lines)


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One e-mail's subject and its two bodies."""

    subject: str
    text: str
    html: str


@cache
def environment() -> Environment:
    """The Jinja2 environment over ``resources/email`` (HTML autoescaped, strict names)."""
    return Environment(
        loader=FileSystemLoader(resource("email")),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_values(template: str, facts: BookingFacts, context: dict[str, Any]) -> dict[str, Any]:
    """What ``template`` sees: the booking, plus its own values computed from ``context``."""
    values: dict[str, Any] = {"b": facts, "template": template}
    if template == BOOKING_CANCELLED:
        refund = int(context.get("refund_amount") or 0)
        values["refund_amount"] = refund
        values["refund"] = format_amount(refund, facts.currency)
        values["refund_note"] = refund_note(refund, context.get("refund_method"), facts)
    elif template == BOOKING_RESCHEDULED:
        old = context.get("old_starts_at")
        values["old_when"] = (
            format_datetime(datetime.fromisoformat(old), facts.timezone) if old else None
        )
    elif template == PAYMENT_LINK:
        values["url"] = str(context.get("url") or "")
        amount = context.get("amount")
        values["amount"] = format_amount(
            int(amount) if amount else facts.balance_due_amount, facts.currency
        )
    return values


def refund_note(amount: int, method: str | None, facts: BookingFacts) -> str:
    """When the customer should expect their money, by how it was refunded."""
    if amount <= 0:
        if facts.amount_paid <= 0:
            return "Nothing was charged, so there is nothing to refund."
        return "No refund was made for this cancellation."
    if method == "cash":
        return "The refund was given to you in cash at the desk."
    if method in ("card_terminal", "card") or (method is None and facts.paid_online):
        return (
            f"It goes back to the card you paid with; banks usually show it within "
            f"{CARD_REFUND_DAYS}."
        )
    return f"The venue will return it to you; contact {facts.venue_name} with any question."


def render_email(template: str, facts: BookingFacts, context: dict[str, Any]) -> RenderedEmail:
    """The subject, plain text and HTML of ``template`` for this booking."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown template: {template!r}")
    env = environment()
    values = template_values(template, facts, context)
    subject = env.get_template(f"{template}.subject.txt").render(values)
    return RenderedEmail(
        subject=" ".join(subject.split())[:300],
        text=env.get_template(f"{template}.txt").render(values),
        html=env.get_template(f"{template}.html").render(values),
    )


def render_sms(template: str, facts: BookingFacts, context: dict[str, Any]) -> str:
    """The text message of ``template`` (confirmation and reminder only)."""
    if template not in SMS_TEMPLATES:
        raise ValueError(f"no SMS for template: {template!r}")
    body = (
        environment()
        .get_template(f"{template}.sms.txt")
        .render(template_values(template, facts, context))
    )
    return " ".join(body.split())


async def booking_facts(session: AsyncSession, booking_id: uuid.UUID) -> BookingFacts | None:
    """The booking as messages describe it, or None when it is not visible."""
    row = (
        await session.execute(
            select(Booking, ActivitySession, Activity, Venue, Organization)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .join(Activity, Activity.id == Booking.activity_id)
            .join(Venue, Venue.id == Booking.venue_id)
            .join(Organization, Organization.id == Booking.organization_id)
            .where(Booking.id == booking_id)
        )
    ).first()
    if row is None:
        return None
    booking, slot, activity, venue, org = row
    customer = await session.get(Customer, booking.customer_id) if booking.customer_id else None
    name = f"{customer.first_name} {customer.last_name}".strip() if customer else ""
    return BookingFacts(
        booking_id=booking.id,
        booking_number=booking.booking_number,
        status=booking.status,
        source=booking.source,
        organization_name=org.name,
        customer_name=name or booking.contact_name or "there",
        customer_email=(customer.email if customer else None) or booking.contact_email,
        customer_phone=(customer.phone if customer else None) or booking.contact_phone,
        activity_name=activity.name,
        what_to_bring=activity.what_to_bring.strip(),
        venue_name=venue.name,
        venue_address_lines=tuple(
            line.strip() for line in venue.address.splitlines() if line.strip()
        ),
        venue_email=venue.email,
        venue_phone=venue.phone,
        timezone=venue.timezone,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        adult_count=booking.adult_count,
        child_count=booking.child_count,
        currency=booking.currency,
        total_amount=booking.total_amount,
        amount_paid=booking.amount_paid,
        refunded_amount=booking.refunded_amount,
        special_requests=booking.special_requests.strip(),
        paid_online=booking.stripe_payment_intent_id is not None,
    )


SAMPLE = BookingFacts(
    booking_id=None,
    booking_number="BK-7KX9QF-M2TD",
    status="confirmed",
    source="widget",
    organization_name="Sample Venue",
    customer_name="Alex Sample",
    customer_email="alex@example.com",
    customer_phone="+14155550123",
    activity_name="Mystery Room",
    what_to_bring="Comfortable shoes. Please arrive 15 minutes early.",
    venue_name="Sample Venue",
    venue_address_lines=("1 Main Street", "Springfield"),
    venue_email="hello@example.com",
    venue_phone="+14155550100",
    timezone="UTC",
    starts_at=datetime(2026, 12, 5, 14, 0, tzinfo=UTC),
    ends_at=datetime(2026, 12, 5, 15, 0, tzinfo=UTC),
    adult_count=3,
    child_count=1,
    currency="USD",
    total_amount=10500,
    amount_paid=10500,
    refunded_amount=0,
    special_requests="Birthday party: one guest uses a wheelchair.",
    paid_online=True,
)


async def sample_facts(session: AsyncSession, now: datetime) -> BookingFacts:
    """A made-up booking at the organization's own venue and activity, for previews."""
    venue = await session.scalar(select(Venue).order_by(Venue.created_at).limit(1))
    activity = await session.scalar(
        select(Activity).where(Activity.active).order_by(Activity.created_at).limit(1)
    )
    org = await session.scalar(select(Organization).limit(1))
    facts = SAMPLE
    if venue is not None:
        zone = ZoneInfo(venue.timezone)
        start = (now.astimezone(zone) + timedelta(days=7)).replace(
            hour=14, minute=0, second=0, microsecond=0
        )
        facts = replace(
            facts,
            venue_name=venue.name,
            venue_address_lines=tuple(
                line.strip() for line in venue.address.splitlines() if line.strip()
            ),
            venue_email=venue.email,
            venue_phone=venue.phone,
            timezone=venue.timezone,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
        )
    if activity is not None:
        total = activity.adult_price * 3 + activity.child_price
        facts = replace(
            facts,
            activity_name=activity.name,
            what_to_bring=activity.what_to_bring.strip(),
            ends_at=facts.starts_at + timedelta(minutes=activity.duration_minutes),
            currency=activity.currency,
            total_amount=total,
            amount_paid=total,
        )
    if org is not None:
        facts = replace(facts, organization_name=org.name)
    return facts


def sample_for(template: str, facts: BookingFacts) -> tuple[BookingFacts, dict[str, Any]]:
    """The sample booking as ``template`` would find it, with plausible template values."""
    if template == BOOKING_CANCELLED:
        cancelled = replace(facts, status="cancelled", refunded_amount=facts.amount_paid)
        return cancelled, {"refund_amount": facts.amount_paid, "refund_method": None}
    if template == BOOKING_RESCHEDULED:
        return facts, {"old_starts_at": (facts.starts_at - timedelta(days=2)).isoformat()}
    if template == PAYMENT_LINK:
        unpaid = replace(facts, status="pending_payment", amount_paid=0, paid_online=False)
        return unpaid, {"url": "https://checkout.stripe.com/c/pay/cs_test_sample"}
    return facts, {}
