"""Real parts for the outbox tests: an SMTP server (aiosmtpd), a local HTTP endpoint that
stands in for Resend and Twilio, and bookings written straight into the database."""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.domain.booking_numbers import new_booking_number
from app.server.background import free_port
from app.server.core.db import Database
from app.server.db.models import (
    Activity,
    ActivitySession,
    Booking,
    Customer,
    Organization,
    OutboxMessage,
    Venue,
)
from app.server.notifications.outbox import queue_booking_messages
from tests.factories import Org, make_session

_starts = itertools.count()
T0 = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)
"""The tests' "now": far enough ahead that sessions made relative to it are in the future."""


# -- SMTP ------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def by_outbox_id(self, message_id: uuid.UUID) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-BookingTMS-Outbox-Id"] == str(message_id)]


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 accepting the login ``desk`` / ``s3cret``."""
    mailbox = Mailbox()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
            b"desk",
            b"s3cret",
        )
        if ok:
            mailbox.logins.append((auth.login.decode(), mechanism))
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, mailbox)
    finally:
        controller.stop()


# -- HTTP (Resend, Twilio) -------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body.decode()))


@dataclass
class HttpEndpoint:
    """A real HTTP server on 127.0.0.1 that records requests and answers from a script."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    default: tuple[int, dict[str, Any]] = (200, {"id": "ok"})

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(request.method, request.path, dict(request.headers), await request.read())
        )
        status, payload = self.script.pop(0) if self.script else self.default
        return web.json_response(payload, status=status)


@pytest.fixture
async def http_endpoint() -> AsyncIterator[HttpEndpoint]:
    endpoint = HttpEndpoint()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", endpoint.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    endpoint.url = f"http://{host}:{port}"
    try:
        yield endpoint
    finally:
        await runner.cleanup()


# -- bookings --------------------------------------------------------------------------


async def make_booking(
    db: Database,
    org: Org,
    *,
    starts_at: datetime | None = None,
    status: str = "confirmed",
    email_address: str | None = "guest@example.com",
    phone: str | None = None,
    sms_opt_in: bool = False,
    adults: int = 2,
    children: int = 1,
    paid: bool = True,
    what_to_bring: str = "Closed-toe shoes.",
) -> uuid.UUID:
    """A booking of the org's activity with a customer, written directly (no messages)."""
    start = starts_at or T0 + timedelta(days=3, seconds=next(_starts))
    session_id = await make_session(db, org, starts_at=start)
    async with db.tenant(org.id) as s:
        activity = await s.get_one(Activity, org.activity_id)
        activity.what_to_bring = what_to_bring
        slot = await s.get_one(ActivitySession, session_id)
        venue = await s.get_one(Venue, org.venue_id)
        slot.reserved += adults + children
        customer_id = None
        if email_address:
            customer = await s.scalar(select(Customer).where(Customer.email == email_address))
            if customer is None:
                customer = Customer(
                    organization_id=org.id,
                    first_name="Dana",
                    last_name="Guest",
                    email=email_address,
                    created_via="admin",
                    segment="new",
                    status="active",
                    notes="",
                )
                s.add(customer)
            customer.phone, customer.sms_opt_in = phone, sms_opt_in
            await s.flush()
            customer_id = customer.id
        from zoneinfo import ZoneInfo

        local_start = slot.starts_at.astimezone(ZoneInfo(venue.timezone))
        local_end = slot.ends_at.astimezone(ZoneInfo(venue.timezone))
        total = adults * activity.adult_price + children * activity.child_price
        booking = Booking(
            organization_id=org.id,
            booking_number=new_booking_number(),
            venue_id=venue.id,
            activity_id=activity.id,
            customer_id=customer_id,
            session_id=slot.id,
            booking_date=local_start.date(),
            start_time=local_start.time().replace(tzinfo=None),
            end_time=local_end.time().replace(tzinfo=None),
            party_size=adults + children,
            adult_count=adults,
            child_count=children,
            guests_arrived=0,
            currency=activity.currency,
            adult_unit_amount=activity.adult_price,
            child_unit_amount=activity.child_price,
            subtotal_amount=total,
            discount_amount=0,
            total_amount=total,
            amount_paid=total if paid else 0,
            refunded_amount=0,
            status=status,
            payment_status="paid" if paid else "unpaid",
            source="admin",
            special_requests="",
            contact_name="Dana Guest",
            contact_email=email_address,
            contact_phone=phone,
            notes="",
            expires_at=T0 + timedelta(minutes=10) if status == "pending_payment" else None,
        )
        s.add(booking)
        await s.flush()
        return booking.id


async def queue(
    db: Database,
    org: Org,
    booking_id: uuid.UUID,
    template: str,
    *,
    cause: str = "test",
    context: dict[str, Any] | None = None,
    now: datetime = T0,
) -> None:
    """Queue ``template`` for the booking in its own committed transaction."""
    async with db.tenant(org.id) as s:
        booking = await s.get_one(Booking, booking_id)
        await queue_booking_messages(s, booking, template, cause=cause, context=context, now=now)


async def outbox_rows(db: Database, org: Org, **where: Any) -> list[OutboxMessage]:
    """The org's outbox rows (optionally filtered by column values), oldest first."""
    async with db.tenant(org.id) as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.channel)
        for column, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, column) == value)
        return list((await s.scalars(stmt)).all())


async def set_notification_email(db: Database, org: Org, address: str | None) -> None:
    async with db.system() as s:
        (await s.get_one(Organization, org.id)).notification_email = address


async def gather(*aws: Any) -> list[Any]:
    return list(await asyncio.gather(*aws))


# -- senders ---------------------------------------------------------------------------


def make_sender(
    db: Database,
    email_provider: Any,
    *,
    sms: Any = None,
    max_attempts: int = 3,
    batch_size: int = 20,
    seed: int = 7,
) -> Any:
    """An outbox sender with a short retry policy (10 s doubling, 60 s cap) and fixed jitter."""
    import random

    from app.server.notifications.sender import OutboxSender, RetryPolicy

    return OutboxSender(
        db=db,
        email=email_provider,
        sms=sms,
        sender_address="Bookings <bookings@venue.example>",
        policy=RetryPolicy(max_attempts=max_attempts, base_seconds=10, max_seconds=60),
        lease=timedelta(minutes=5),
        batch_size=batch_size,
        rng=random.Random(seed),
    )


def smtp_provider(server: SmtpServer, **options: Any) -> Any:
    from app.server.notifications.providers import SmtpEmailProvider

    options.setdefault("security", "none")
    return SmtpEmailProvider(host=server.host, port=server.port, timeout=10, **options)
