"""The sending job: claim due outbox rows, render, hand them to a provider, record the outcome.

A claim is a short transaction that marks rows ``sending`` with a lease; sending happens
outside any transaction; the outcome is recorded only if this sender still owns the row.
Failures wait exponentially longer (with jitter, so a provider outage does not end in a
thundering herd) until the last attempt marks the message failed with its error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.core.db import Database
from app.server.core.settings import Settings
from app.server.db.models import ActivitySession, Booking
from app.server.notifications import repository
from app.server.notifications.mime import Attachment, build_email
from app.server.notifications.outbox import (
    ADMIN_NEW_BOOKING,
    BOOKING_CONFIRMATION,
    BOOKING_REMINDER,
    REMINDED_STATUSES,
    reminder_cause,
)
from app.server.notifications.providers import (
    DeliveryError,
    EmailProvider,
    SmsProvider,
    email_provider_from,
    sms_provider_from,
)
from app.server.notifications.repository import Claimed
from app.server.notifications.templates import (
    BookingFacts,
    booking_facts,
    render_email,
    render_sms,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 20
PARALLEL_SENDS = 5
RUN_LIMIT = 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts a message gets and how long to wait between them."""

    max_attempts: int = 8
    base_seconds: float = 30.0
    max_seconds: float = 3600.0

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """Wait after failed attempt number ``attempt`` (1-based): doubling from the base up
        to the cap, and a random half of it, so retries of many messages spread out."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


@dataclass(slots=True)
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    lost: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.cancelled + self.lost


@dataclass(frozen=True, slots=True)
class Skip:
    """A message that must not go out any more, and why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ready:
    """A rendered message, ready for its provider."""

    subject: str | None
    email: EmailMessage | None = None
    sms_body: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """Preparing failed: ``subject`` (if rendering got that far) and the error."""

    error: str
    permanent: bool = False
    subject: str | None = None


async def receipt_pdf(session: AsyncSession, booking_id: uuid.UUID) -> bytes:
    """The booking's PDF receipt: the same bytes ``GET /bookings/{id}/receipt`` serves."""
    from app.receipts.render import render_receipt
    from app.server.receipts.builder import receipt_for

    data = await receipt_for(session, booking_id)
    return await asyncio.to_thread(render_receipt, data)


def describe(exc: BaseException) -> str:
    """A one-line account of an unexpected error for the outbox row."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


@dataclass
class OutboxSender:
    """Sends due outbox messages of every organization; safe to run in many instances."""

    db: Database
    email: EmailProvider
    sms: SmsProvider | None
    sender_address: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    lease: timedelta = timedelta(minutes=5)
    batch_size: int = BATCH_SIZE
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> OutboxSender:
        """The sender the service's settings describe."""
        return cls(
            db=db,
            email=email_provider_from(settings),
            sms=sms_provider_from(settings),
            sender_address=settings.email_from,
            policy=RetryPolicy(
                max_attempts=settings.outbox_max_attempts,
                base_seconds=settings.outbox_retry_base_seconds,
                max_seconds=settings.outbox_retry_max_seconds,
            ),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )

    async def send_due(
        self,
        now: datetime | None = None,
        *,
        limit: int = RUN_LIMIT,
        organization_id: uuid.UUID | None = None,
    ) -> SendReport:
        """Send what is due at ``now`` (default: the clock), batch after batch, up to
        ``limit`` messages, of every organization or only ``organization_id``."""
        report = SendReport()
        while report.handled < limit:
            at = now or self.clock()
            async with self.db.system() as session:
                batch = await repository.claim_due(
                    session,
                    at,
                    lease_until=at + self.lease,
                    limit=min(self.batch_size, limit - report.handled),
                    organization_id=organization_id,
                )
            if not batch:
                break
            await self._deliver_batch(batch, at, report)
        return report

    async def _deliver_batch(self, batch: list[Claimed], now: datetime, report: SendReport) -> None:
        gate = asyncio.Semaphore(PARALLEL_SENDS)

        async def deliver(claimed: Claimed) -> None:
            async with gate:
                await self._deliver(claimed, now, report)

        await asyncio.gather(*(deliver(claimed) for claimed in batch))

    async def _deliver(self, claimed: Claimed, now: datetime, report: SendReport) -> None:
        try:
            prepared = await self._prepare(claimed, now)
        except Exception as exc:
            log.exception("outbox message %s could not be prepared", claimed.id)
            prepared = Failure(describe(exc))
        if isinstance(prepared, Skip):
            await self._record(claimed, report, "cancelled", reason=prepared.reason)
            return
        if isinstance(prepared, Failure):
            await self._fail(claimed, now, report, prepared)
            return
        key = str(claimed.id)
        try:
            if prepared.email is not None:
                provider_id = await self.email.send(prepared.email, key=key)
            else:
                assert self.sms is not None and prepared.sms_body is not None
                provider_id = await self.sms.send(claimed.recipient, prepared.sms_body, key=key)
        except DeliveryError as exc:
            await self._fail(
                claimed, now, report, Failure(str(exc), exc.permanent, prepared.subject)
            )
            return
        except Exception as exc:
            log.exception("outbox message %s: unexpected provider error", claimed.id)
            await self._fail(claimed, now, report, Failure(describe(exc), False, prepared.subject))
            return
        log.info("outbox message %s (%s %s) sent", claimed.id, claimed.channel, claimed.template)
        await self._record(
            claimed, report, "sent", now=now, provider_id=provider_id, subject=prepared.subject
        )

    async def _prepare(self, claimed: Claimed, now: datetime) -> Ready | Skip | Failure:
        if claimed.booking_id is None:
            return Skip("Not sent: the message is not about a booking.")
        if claimed.channel == "sms" and self.sms is None:
            return Skip("Not sent: SMS is not configured on the service (BOOKINGTMS_TWILIO_*).")
        async with self.db.tenant(claimed.organization_id) as session:
            facts = await booking_facts(session, claimed.booking_id)
            if facts is None:
                return Skip("Not sent: the booking no longer exists.")
            if claimed.template == BOOKING_REMINDER:
                stale = await _stale_reminder(session, claimed)
                if stale:
                    return Skip(stale)
            if claimed.channel == "sms":
                body = render_sms(claimed.template, facts, claimed.context)
                return Ready(subject=None, sms_body=body)
            rendered = render_email(claimed.template, facts, claimed.context)
            attachments: tuple[Attachment, ...] = ()
            if claimed.template == BOOKING_CONFIRMATION:
                try:
                    pdf = await receipt_pdf(session, claimed.booking_id)
                except Exception as exc:
                    log.exception("receipt for outbox message %s failed", claimed.id)
                    return Failure(f"The receipt could not be made: {describe(exc)}")
                attachments = (Attachment(f"receipt-{facts.booking_number}.pdf", pdf),)
        message = build_email(
            message_id=claimed.id,
            sender=self.sender_address,
            to=claimed.recipient,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            date=now,
            reply_to=_reply_to(claimed, facts),
            attachments=attachments,
        )
        return Ready(subject=rendered.subject, email=message)

    async def _fail(
        self, claimed: Claimed, now: datetime, report: SendReport, failure: Failure
    ) -> None:
        if failure.permanent or claimed.attempts >= self.policy.max_attempts:
            why = "" if failure.permanent else f" (gave up after {claimed.attempts} attempts)"
            await self._record(
                claimed, report, "failed", error=failure.error + why, subject=failure.subject
            )
            log.warning("outbox message %s failed: %s", claimed.id, failure.error)
            return
        wait = self.policy.delay(claimed.attempts, self.rng)
        await self._record(
            claimed,
            report,
            "retrying",
            error=failure.error,
            send_after=now + wait,
            subject=failure.subject,
        )
        log.info(
            "outbox message %s attempt %d failed; next in %ds",
            claimed.id,
            claimed.attempts,
            wait.total_seconds(),
        )

    async def _record(
        self,
        claimed: Claimed,
        report: SendReport,
        outcome: str,
        *,
        now: datetime | None = None,
        provider_id: str = "",
        subject: str | None = None,
        error: str = "",
        reason: str = "",
        send_after: datetime | None = None,
    ) -> None:
        async with self.db.system() as session:
            if outcome == "sent":
                assert now is not None
                owned = await repository.mark_sent(
                    session, claimed, now=now, provider_message_id=provider_id, subject=subject
                )
            elif outcome == "retrying":
                assert send_after is not None
                owned = await repository.mark_retry(
                    session, claimed, error=error, send_after=send_after, subject=subject
                )
            elif outcome == "failed":
                owned = await repository.mark_failed(session, claimed, error=error, subject=subject)
            else:
                owned = await repository.mark_cancelled(session, claimed, reason=reason)
        if owned:
            setattr(report, outcome, getattr(report, outcome) + 1)
        else:
            # The lease ran out and another sender took the row over; its outcome stands.
            report.lost += 1
            log.warning("outbox message %s: lease lost before recording %s", claimed.id, outcome)


async def _stale_reminder(session: AsyncSession, claimed: Claimed) -> str | None:
    """Why a reminder must not go out (booking cancelled or moved), or None."""
    row = (
        await session.execute(
            select(Booking.status, ActivitySession.starts_at)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .where(Booking.id == claimed.booking_id)
        )
    ).first()
    if row is None:  # pragma: no cover - checked by the caller
        return "Not sent: the booking no longer exists."
    status, starts_at = row
    if status not in REMINDED_STATUSES:
        return f"Not sent: the booking is {status.replace('_', ' ')}."
    if reminder_cause(starts_at) != claimed.cause:
        return "Not sent: the booking moved to another time."
    return None


def _reply_to(claimed: Claimed, facts: BookingFacts) -> str | None:
    """Customers reply to the venue; staff reply to the customer."""
    if claimed.template == ADMIN_NEW_BOOKING:
        return facts.customer_email or None
    return facts.venue_email or None
