"""Timed and background jobs, on a PostgreSQL queue (procrastinate) shared by all instances.

Each service instance builds its own queue app over the owner's connection, defers work
to it, and (unless told not to) runs a worker in its event loop. Periodic jobs are
deferred once per tick across all instances (procrastinate deduplicates them), and each
job is itself safe to run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import JobDeferrer
from procrastinate.tasks import configure_task
from procrastinate.types import JSONValue
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.core.db import Database
from app.server.core.settings import Settings
from app.server.customers.service import refresh_all_analytics
from app.server.notifications.sender import RUN_LIMIT as OUTBOX_RUN_LIMIT
from app.server.notifications.sender import OutboxSender
from app.server.payments import holds, stripe_events
from app.server.payments.stripe_gateway import StripeGateway
from app.server.sessions.repository import organization_timezone

log = logging.getLogger(__name__)

# 2, 4, 8 … seconds, then about an hour apart: Stripe itself retries for three days.
STRIPE_EVENT_RETRY = procrastinate.RetryStrategy(max_attempts=15, exponential_wait=2)
PROCESS_STRIPE_EVENT = "process_stripe_event"
PROCESS_STRIPE_EVENTS = "process_stripe_events"
# Events stored together are processed by jobs of up to this many: the queue's own cost
# (fetch, finish) is paid per job, while enough jobs remain to keep every worker busy.
EVENTS_PER_JOB = 10
# Stripe events have a queue of their own: a worker may be told to run only these (the
# benchmark does, to time them apart from the e-mail they cause); the service's workers
# run every queue.
STRIPE_QUEUE = "stripe"
SEND_OUTBOX = "send_outbox"
NIGHTLY_LOCAL_HOUR = 3


def conninfo(sqlalchemy_url: str) -> str:
    """The libpq form of a SQLAlchemy URL."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def build_queue(
    db: Database,
    gateway: StripeGateway | None,
    *,
    pool_size: int = 4,
    settings: Settings | None = None,
) -> procrastinate.App:
    """The job queue of one service instance, with every task of the service.

    ``settings`` configure the outbox's providers (default: read from the environment).
    """
    sender = OutboxSender.from_settings(db, settings or Settings())
    queue = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(db.url), min_size=1, max_size=pool_size
        )
    )

    @queue.task(name=PROCESS_STRIPE_EVENT, queue=STRIPE_QUEUE, retry=STRIPE_EVENT_RETRY)
    async def process_stripe_event(event_id: str) -> str:
        try:
            outcome = await stripe_events.process_event(db, gateway, event_id)
        except Exception as exc:
            await stripe_events.record_failure(db, event_id, exc)
            raise
        if outcome == "applied_with_messages":
            await _send_soon(queue)
        return outcome

    @queue.task(name=PROCESS_STRIPE_EVENTS, queue=STRIPE_QUEUE, retry=STRIPE_EVENT_RETRY)
    async def process_stripe_events(groups: list[list[str]]) -> dict[str, int]:
        """Events stored together (groups about one booking); if any failed the job is
        retried, which finds the others already processed."""
        outcomes, failure = await stripe_events.process_batch(db, gateway, groups)
        if outcomes["applied_with_messages"]:
            await _send_soon(queue)
        if failure is not None:
            raise failure
        return dict(outcomes)

    @queue.periodic(cron="* * * * *")
    @queue.task(name=SEND_OUTBOX, queueing_lock=SEND_OUTBOX)
    async def send_outbox(timestamp: int) -> int:
        report = await sender.send_due()
        if report.handled >= OUTBOX_RUN_LIMIT:
            # A burst left more than one run can send: go on now, not at the next tick.
            await _send_soon(queue)
        return report.handled

    @queue.periodic(cron="* * * * *")
    @queue.task(name="expire_holds", queueing_lock="expire_holds")
    async def expire_holds(timestamp: int) -> int:
        return await holds.expire_due_holds(db, gateway)

    @queue.periodic(cron="* * * * *")
    @queue.task(name="requeue_stripe_events", queueing_lock="requeue_stripe_events")
    async def requeue_stripe_events(timestamp: int) -> int:
        return await requeue_unprocessed_events(queue, db)

    @queue.periodic(cron="5 * * * *")
    @queue.task(name="refresh_segments", queueing_lock="refresh_segments")
    async def refresh_segments(timestamp: int) -> int:
        return await refresh_segments_at_night(db, datetime.fromtimestamp(timestamp, UTC))

    return queue


def _stripe_event_job(queue: procrastinate.App, event_id: str) -> JobDeferrer:
    return configure_task(
        name=PROCESS_STRIPE_EVENT,
        job_manager=queue.job_manager,
        queue=STRIPE_QUEUE,
        queueing_lock=f"stripe-event:{event_id}",
    )


async def defer_stripe_event(queue: procrastinate.App, event_id: str) -> None:
    """Queue the processing of a stored event (once: a queued duplicate is enough)."""
    with contextlib.suppress(AlreadyEnqueued):
        await _stripe_event_job(queue, event_id).defer_async(event_id=event_id)


async def defer_stripe_events_in(
    session: AsyncSession, groups: list[list[str]], *, queue: procrastinate.App
) -> None:
    """Queue the processing of events stored just now, in the caller's transaction: the
    jobs exist exactly when the events do. ``groups`` (events about one booking) are
    never split between jobs."""
    deferrer = configure_task(
        name=PROCESS_STRIPE_EVENTS, job_manager=queue.job_manager, queue=STRIPE_QUEUE
    )
    chunks = job_chunks(groups)
    jobs = [deferrer.make_new_job(groups=chunk) for chunk in chunks]
    connection = await (await session.connection()).get_raw_connection()
    await queue.job_manager.batch_defer_jobs_async(jobs, connection=connection.driver_connection)


def job_chunks(groups: list[list[str]]) -> list[list[JSONValue]]:
    """``groups`` (events about one booking, never split) in as many jobs as the events
    need, filled evenly: 22 events make jobs of 8, 8 and 6, not 10, 10 and 2 (a small job
    pays the queue's and a transaction's cost for little)."""
    events = sum(len(group) for group in groups)
    if not events:
        return []
    per_job = -(-events // -(-events // EVENTS_PER_JOB)) + max(map(len, groups)) - 1
    chunks: list[list[JSONValue]] = [[]]
    size = 0
    for group in groups:
        if size and size + len(group) > per_job:
            chunks.append([])
            size = 0
        chunks[-1].append(list[JSONValue](group))
        size += len(group)
    return chunks


async def _send_soon(queue: procrastinate.App) -> None:
    """Run the outbox sender now, not at the next tick (which still sends what is due if
    this request to the queue fails)."""
    try:
        await defer_outbox_send(queue)
    except Exception:
        log.warning("could not queue an immediate outbox send", exc_info=True)


async def defer_outbox_send(queue: procrastinate.App) -> None:
    """Run the outbox sender soon (once: a send already queued picks up every due row)."""
    with contextlib.suppress(AlreadyEnqueued):
        await configure_task(
            name=SEND_OUTBOX, job_manager=queue.job_manager, queueing_lock=SEND_OUTBOX
        ).defer_async(timestamp=int(datetime.now(UTC).timestamp()))


async def requeue_unprocessed_events(queue: procrastinate.App, db: Database) -> int:
    """Queue again events whose job was lost (stored, then the instance died)."""
    ids = await stripe_events.unprocessed_event_ids(db, datetime.now(UTC) - timedelta(minutes=1))
    for event_id in ids:
        await defer_stripe_event(queue, event_id)
    return len(ids)


async def refresh_segments_at_night(db: Database, now: datetime, *, force: bool = False) -> int:
    """Recompute customer analytics of every organization where it is now 03:00-ish."""
    async with db.system() as session:
        org_ids = list((await session.scalars(text("SELECT id FROM organizations"))).all())
    changed = 0
    for org_id in org_ids:
        async with db.tenant(org_id) as session:
            timezone = await organization_timezone(session)
            local = now.astimezone(ZoneInfo(timezone))
            if force or local.hour == NIGHTLY_LOCAL_HOUR:
                changed += await refresh_all_analytics(session, local.date(), timezone)
    return changed


class JobRunner:
    """Starts and stops the queue (and its worker) with the service."""

    def __init__(self, queue: procrastinate.App, *, run_worker: bool, concurrency: int = 8) -> None:
        self.queue = queue
        self._run_worker = run_worker
        self._concurrency = concurrency
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.queue.open_async()
        if self._run_worker:
            self._worker = asyncio.create_task(
                self.queue.run_worker_async(
                    concurrency=self._concurrency,
                    install_signal_handlers=False,
                    delete_jobs="successful",
                    fetch_job_polling_interval=1.0,
                ),
                name="job-worker",
            )

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.queue.close_async()

    async def run_until_idle(self, **options: Any) -> None:
        """Run every queued job now and return when none is left (tests, CLI)."""
        await self.queue.run_worker_async(
            wait=False, install_signal_handlers=False, delete_jobs="successful", **options
        )
