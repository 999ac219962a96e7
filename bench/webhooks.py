"""Stripe webhooks: signed events posted as fast as they are accepted, then processed.

The real service runs as in production (``bookingtms server --workers 2``, no job worker,
no Stripe key — paid events carry everything needed). N pending bookings are made with
``reserve_hold`` and given their Checkout Session id, as the checkout does; each gets the
two events Stripe sends when that session is paid by card (``payment_intent.succeeded``
then ``checkout.session.completed``), shaped like the payloads the Stripe emulator
delivers and signed like Stripe signs them.

Phase 1 (accept): C clients post them from a child process; accepted/s and the ack
latency, after the events of ``--warmup`` bookings (posted first, not timed, and again as
redeliveries over each batch's own connections: the latency is that of a steady stream,
not of C connections opened at the same instant).
``--clients 50,20,10`` repeats it with fresh bookings for each client count.
Phase 2 (process): the job workers of the service processes (one per ``--service-workers``,
as each ``server`` process runs one) run the Stripe-event jobs until none is left;
processed/s. Then every booking must be confirmed, paid, with exactly one payment row.
Phase 3 (e-mail): the same workers send the confirmations those events queued (the
``file`` provider, into a temporary directory); sent/s, and every message must be sent.

Each phase should last seconds, not fractions of one: with 300 bookings the accept phase
took 0.4 s and its p99 was the sixth-slowest of 600 deliveries, so a single stall of the
shared machine decided it; hence 1,000 bookings (2,000 events) by default.

    .venv/bin/python -m bench.webhooks [--bookings 1000] [--clients 50[,20,...]] [--workers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import json
import multiprocessing
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import stripe
import uvloop
from sqlalchemy import event, text, update

from app.server.core.db import Database
from app.server.core.runtime import scratch_database
from app.server.core.settings import Settings
from app.server.db.models import Booking
from app.server.jobs import STRIPE_QUEUE, JobRunner, build_queue
from app.server.payments.checkout import CheckoutRequest, checkout_metadata, reserve_hold
from bench.common import (
    Row,
    machine,
    make_sessions,
    ms,
    percentile,
    print_table,
    process_tree_cpu,
    quiet_logs,
    rate,
    report_checks,
    service_process,
)
from tests.factories import Org, make_org

WEBHOOK_URL = "/api/v1/webhooks/stripe"
API_VERSION = "2026-10-28.endive"  # what the emulator stamps on its events
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
MAIL_ROUNDS = 20


def stripe_id(prefix: str, length: int = 14) -> str:
    return prefix + "".join(random.choices(ALPHABET, k=length))


@dataclass(frozen=True)
class Pending:
    """A booking waiting for its payment, with what its events need."""

    id: uuid.UUID
    total: int
    currency: str
    email: str
    metadata: dict[str, str]
    checkout_session_id: str


def envelope(event_type: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    """Stripe's event envelope, keys in Stripe's order."""
    return {
        "id": stripe_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def paid_events(booking: Pending, created: int) -> list[dict[str, Any]]:
    """The events of a Checkout Session paid by card, in the order Stripe sends them."""
    intent_id, charge_id = stripe_id("pi_"), stripe_id("ch_")
    session_id = booking.checkout_session_id
    currency = booking.currency.lower()
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": booking.total,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": booking.total,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{intent_id}_secret_{stripe_id('', 20)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "description": f"Mystery Room {booking.metadata['booking_number']}",
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": charge_id,
        "livemode": False,
        "metadata": booking.metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": stripe_id("pm_"),
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    session: dict[str, Any] = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": booking.total,
        "amount_total": booking.total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": f"http://widget.example/booking/cancelled?booking="
        f"{booking.metadata['booking_number']}",
        "client_reference_id": str(booking.id),
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": "if_required",
        "customer_details": {
            "address": {
                "city": None,
                "country": "US",
                "line1": None,
                "line2": None,
                "postal_code": "42424",
                "state": None,
            },
            "email": booking.email,
            "name": booking.metadata["customer_name"],
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": booking.email,
        "discounts": [],
        "expires_at": created + 31 * 60,
        "invoice": None,
        "livemode": False,
        "locale": None,
        "metadata": booking.metadata,
        "mode": "payment",
        "payment_intent": intent_id,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "complete",
        "submit_type": None,
        "subscription": None,
        "success_url": "http://widget.example/booking/confirmed?session_id={CHECKOUT_SESSION_ID}",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
    }
    return [
        envelope("payment_intent.succeeded", intent, created),
        envelope("checkout.session.completed", session, created),
    ]


async def make_pending(db: Database, org: Org, count: int, batch: int = 50) -> list[Pending]:
    """``count`` pending bookings made as the checkout makes them, on uncontended sessions."""
    sessions = await make_sessions(db, org, count, capacity=4)
    made: list[Pending] = []

    async def one_batch(ids: list[uuid.UUID]) -> None:
        now = datetime.now(UTC)
        async with db.tenant(org.id) as session:
            for i, session_id in enumerate(ids):
                email = f"guest{len(made) + i}-{secrets.token_hex(3)}@example.com"
                hold = await reserve_hold(
                    session,
                    org.id,
                    CheckoutRequest(
                        session_id=session_id,
                        adult_count=2,
                        child_count=1,
                        name="Ada Lovelace",
                        email=email,
                        phone="+13125550142",
                        promo_code=None,
                        special_requests="",
                    ),
                    now,
                    hold_minutes=30,
                )
                b = hold.booking
                # As start_checkout does once Stripe has opened the payment page.
                checkout_session_id = stripe_id("cs_test_", 58)
                await session.execute(
                    update(Booking)
                    .where(Booking.id == b.id)
                    .values(stripe_checkout_session_id=checkout_session_id)
                )
                made.append(
                    Pending(
                        b.id,
                        b.total_amount,
                        b.currency,
                        email,
                        checkout_metadata(b, hold.organization, hold.starts_local),
                        checkout_session_id,
                    )
                )

    chunks = [sessions[i : i + batch] for i in range(0, len(sessions), batch)]
    for group in range(0, len(chunks), 4):
        await asyncio.gather(*(one_batch(c) for c in chunks[group : group + 4]))
    return made


@dataclass
class Posted:
    """What the posting clients saw."""

    latencies: list[float]
    elapsed: float
    errors: list[str]
    retried: list[str]
    client_cpu: float = 0.0
    server_cpu: float = 0.0


def post_all(
    base: str, bodies: list[bytes], secret: str, clients: int, warm: list[bytes] | None = None
) -> Posted:
    """Post every body, signed at send time, from ``clients`` concurrent clients; ``warm``
    first, untimed, over the same connections (the figures are then those of a steady
    stream, not of fifty connections opened at the same instant).

    aiohttp rather than httpx: the load generator shares the machine with the service, and
    aiohttp spends a third of httpx's CPU per request.
    """

    async def go() -> Posted:
        latencies: list[float] = []
        errors: list[str] = []
        retried: list[str] = []
        queue = iter(bodies)
        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as http:
            async with http.get("/readyz") as r:
                await r.read()

            async def deliver(body: bytes) -> None:
                # Like Stripe: a delivery that gets no answer is sent again (once here).
                for attempt in range(2):
                    header = stripe.WebhookSignature.generate_signature_header(
                        body.decode(), secret, timestamp=int(time.time())
                    )
                    headers = {"Stripe-Signature": header, "Content-Type": "application/json"}
                    began = time.perf_counter()
                    try:
                        async with http.post(WEBHOOK_URL, data=body, headers=headers) as r:
                            answer = await r.read()
                            status = r.status
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        if attempt == 0:
                            retried.append(repr(exc)[:200])
                            continue
                        errors.append(repr(exc)[:200])
                        return
                    latencies.append(time.perf_counter() - began)
                    if status != 200 or json.loads(answer) != {"received": True, "handled": True}:
                        errors.append(f"HTTP {status}: {answer[:160]!r}")
                    return

            async def client() -> None:
                for body in queue:
                    await deliver(body)

            if warm:
                queue = iter(warm)
                await asyncio.gather(*(client() for _ in range(clients)))
                latencies.clear()
                queue = iter(bodies)
            begun, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(client() for _ in range(clients)))
            elapsed, cpu = time.perf_counter() - begun, time.process_time() - cpu
            return Posted(latencies, elapsed, errors, retried, client_cpu=cpu)

    return asyncio.run(go())


async def check_final(db: Database, bookings: int, events: int) -> tuple[list[str], dict[str, int]]:
    """Every booking confirmed and paid with one payment; every event processed once."""
    async with db.system() as session:
        b = (
            await session.execute(
                text(
                    """
                    SELECT count(*),
                           count(*) FILTER (WHERE b.status = 'confirmed'
                                            AND b.payment_status = 'paid'
                                            AND b.amount_paid = b.total_amount),
                           count(*) FILTER (WHERE p.n = 1),
                           count(*) FILTER (WHERE b.customer_id IS NOT NULL)
                    FROM bookings b
                    LEFT JOIN (SELECT booking_id, count(*) AS n FROM payments
                               GROUP BY booking_id) p ON p.booking_id = b.id
                    """
                )
            )
        ).one()
        e = (
            await session.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE processed_at IS NOT NULL"
                    " AND last_error IS NULL) FROM stripe_events"
                )
            )
        ).one()
        payment_events = await session.scalar(
            text("SELECT count(*) FROM booking_events WHERE kind = 'payment'")
        )
        jobs: dict[str, int] = dict(
            (
                await session.execute(
                    text(
                        "SELECT status::text, count(*) FROM procrastinate_jobs"
                        " WHERE task_name = 'process_stripe_event' GROUP BY status"
                    )
                )
            ).all()
        )
    totals = {
        "bookings": b[0],
        "confirmed_paid": b[1],
        "one_payment": b[2],
        "with_customer": b[3],
        "events_stored": e[0],
        "events_processed": e[1],
        "payment_timeline_rows": int(payment_events or 0),
    }
    failures = []
    if b[0] != bookings:
        failures.append(f"{b[0]} bookings in the database, {bookings} made")
    if b[1] != bookings:
        failures.append(f"{bookings - b[1]} bookings not confirmed+paid in full")
    if b[2] != bookings:
        failures.append(f"{bookings - b[2]} bookings without exactly one payment row")
    if b[3] != bookings:
        failures.append(f"{bookings - b[3]} confirmed bookings without a customer")
    if e[0] != events:
        failures.append(f"{e[0]} events stored, {events} posted")
    if e[1] != events:
        failures.append(f"{events - e[1]} events unprocessed or with an error")
    if payment_events != bookings:
        failures.append(f"{payment_events} 'payment' timeline rows for {bookings} bookings")
    if any(status != "succeeded" and n for status, n in jobs.items()):
        failures.append(f"jobs left behind: {jobs}")
    return failures, totals


@dataclass
class Processed:
    """How the workers did: wall time from the common start to the last one idle."""

    elapsed: float
    cpu: float
    statements: int


# A barrier shared by the worker processes (set by ``_join``), so they start together.
_barrier: Any = None


def _join(barrier: Any) -> None:
    global _barrier
    _barrier = barrier


def work_process(
    url: str, workers: int, queues: list[str] | None
) -> tuple[float, float, float, int]:
    """One service process's job worker, run until ``queues`` are empty: (start, end, CPU
    seconds, SQL statements)."""
    quiet_logs()

    async def go() -> tuple[float, float, float, int]:
        db = Database(url, pool_size=workers)
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        for engine in (db.app_engine, db.owner_engine):
            event.listen(engine.sync_engine, "after_cursor_execute", count)
        runner = JobRunner(build_queue(db, None, pool_size=workers), run_worker=False)
        await runner.start()
        gc.freeze()  # as the service does once started (app.server.core.app)
        try:
            await asyncio.to_thread(_barrier.wait)
            begun, cpu = time.perf_counter(), time.process_time()
            await runner.run_until_idle(concurrency=workers, queues=queues)
            ended, cpu = time.perf_counter(), time.process_time() - cpu
        finally:
            await runner.stop()
            await db.dispose()
        return begun, ended, cpu, statements

    # The service runs its job worker in uvicorn's event loop, which is uvloop.
    return uvloop.run(go())


def process_all(url: str, processes: int, workers: int, queues: list[str] | None) -> Processed:
    """Run the job workers of ``processes`` service processes until the queues are empty."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    with concurrent.futures.ProcessPoolExecutor(
        processes, mp_context=context, initializer=_join, initargs=(barrier,)
    ) as pool:
        parts = [
            f.result()
            for f in [pool.submit(work_process, url, workers, queues) for _ in range(processes)]
        ]
    return Processed(
        max(p[1] for p in parts) - min(p[0] for p in parts),
        sum(p[2] for p in parts),
        sum(p[3] for p in parts),
    )


def accept_phase(
    url: str, warmup: list[bytes], batches: list[list[bytes]], args: argparse.Namespace
) -> list[Posted]:
    """The service up (``bookingtms server --workers N``, no job worker), each batch of
    events posted to it from a child process by its number of clients (``--clients``),
    after the ``warmup`` events (not timed: the first requests of a fresh process open its
    database connections)."""
    secret = "whsec_" + secrets.token_hex(24)
    settings = {
        "stripe_webhook_secret": secret,
        "run_jobs": "false",
        "db_pool_size": str(args.pool),
    }
    posted = []
    with service_process(url, args.service_workers, **settings) as (base, pid):
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            pool.submit(time.sleep, 0).result()  # the child is up before the clock starts
            if warmup:
                pool.submit(post_all, base, warmup, secret, args.clients[0]).result()
            # Each batch opens its connections with the warm-up's events again: Stripe
            # delivering them a second time, answered and not stored twice.
            for bodies, clients in zip(batches, args.clients, strict=True):
                cpu = process_tree_cpu(pid)
                result = pool.submit(post_all, base, bodies, secret, clients, warmup).result()
                result.server_cpu = process_tree_cpu(pid) - cpu
                posted.append(result)
    return posted


async def prepare(url: str, count: int) -> list[bytes]:
    db = Database(url, pool_size=4)
    try:
        org = await make_org(db, capacity=4)
        pending = await make_pending(db, org, count)
    finally:
        await db.dispose()
    created = int(time.time())
    return [
        json.dumps(event).encode() for booking in pending for event in paid_events(booking, created)
    ]


async def verify(url: str, bookings: int, events: int) -> tuple[list[str], dict[str, int]]:
    db = Database(url, pool_size=2)
    try:
        return await check_final(db, bookings, events)
    finally:
        await db.dispose()


async def outbox_counts(url: str) -> dict[str, int]:
    """Outbox messages by status ('scheduled': pending, not due yet)."""
    db = Database(url, pool_size=2)
    try:
        async with db.system() as session:
            rows = await session.execute(
                text(
                    "SELECT CASE WHEN status = 'pending' AND send_after > now()"
                    " THEN 'scheduled' ELSE status END, count(*) FROM email_outbox GROUP BY 1"
                )
            )
            return {status: int(n) for status, n in rows.all()}
    finally:
        await db.dispose()


def client_counts(text: str) -> list[int]:
    """``--clients 50`` or a sweep ``--clients 50,20,10``."""
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("clients: positive integers, comma-separated")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bookings",
        type=int,
        default=1000,
        help="pending bookings (2 events each) per --clients value",
    )
    parser.add_argument(
        "--clients",
        type=client_counts,
        default=[50],
        help="concurrent posting clients; a comma-separated list posts a batch for each",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=50,
        help="bookings whose events are posted before the clock starts (then processed too)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=Settings().job_concurrency,
        help="job worker concurrency of each service process in phase 2",
    )
    parser.add_argument(
        "--pool", type=int, default=Settings().db_pool_size, help="the service's db_pool_size"
    )
    parser.add_argument(
        "--service-workers",
        type=int,
        default=2,
        help="service processes (server --workers): accept in phase 1, job workers in phase 2",
    )
    args = parser.parse_args(argv)
    quiet_logs()
    sweep = len(args.clients)
    bookings = args.bookings * sweep + args.warmup
    with (
        scratch_database("bench_wh") as url,
        tempfile.TemporaryDirectory(prefix="bench-wh-mail-") as mail,
    ):
        os.environ["BOOKINGTMS_DATA_DIR"] = mail  # the e-mail of phase 3 lands here
        began = time.perf_counter()
        bodies = asyncio.run(prepare(url, bookings))
        setup = time.perf_counter() - began
        per, skip = 2 * args.bookings, 2 * args.warmup
        batches = [bodies[skip + i * per : skip + (i + 1) * per] for i in range(sweep)]
        posted = accept_phase(url, bodies[:skip], batches, args)
        processing = process_all(url, args.service_workers, args.workers, [STRIPE_QUEUE])
        failures, totals = asyncio.run(verify(url, bookings, len(bodies)))
        mailing = Processed(0.0, 0.0, 0)
        for _ in range(MAIL_ROUNDS):
            # A send job queues the next one when a run leaves mail behind; a service's
            # worker picks that up at once, run_until_idle only on its next call.
            done = process_all(url, args.service_workers, args.workers, None)
            mailing.elapsed, mailing.cpu = mailing.elapsed + done.elapsed, mailing.cpu + done.cpu
            outbox = asyncio.run(outbox_counts(url))
            if not outbox.get("pending"):
                break

    errors = [e for p in posted for e in p.errors]
    if errors:
        failures.insert(0, f"{len(errors)} events refused, first: {errors[0]}")
    if outbox.get("sent", 0) != sum(outbox.values()) - outbox.get("scheduled", 0):
        failures.append(f"outbox not all sent: {outbox}")
    processed = totals["events_processed"]
    process_rate = processed / processing.elapsed
    rows: list[Row] = [
        ("bookings (pending, via reserve_hold)", str(bookings)),
        ("events posted (PI succeeded + CS completed)", str(len(bodies))),
        ("accept: warm-up events (not timed)", str(2 * args.warmup)),
        ("setup s (bookings made)", f"{setup:.1f}"),
    ]
    for result, clients in zip(posted, args.clients, strict=True):
        accepted = len(result.latencies)
        rows += [
            ("", ""),
            ("accept: clients", f"{clients}"),
            ("accept: accepted", str(accepted)),
            ("accept: refused/errors", str(len(result.errors))),
            ("accept: deliveries retried (no answer)", str(len(result.retried))),
            ("accept: accepted/s", rate(accepted, result.elapsed)),
            ("accept: ack p50 ms", ms(percentile(result.latencies, 50))),
            ("accept: ack p95 ms", ms(percentile(result.latencies, 95))),
            ("accept: ack p99 ms", ms(percentile(result.latencies, 99))),
            ("accept: elapsed s", f"{result.elapsed:.1f}"),
            (
                "accept: service CPU ms per event",
                f"{result.server_cpu / max(accepted, 1) * 1000:.1f}" if result.server_cpu else "-",
            ),
            (
                "accept: client CPU ms per event",
                f"{result.client_cpu / max(len(result.latencies), 1) * 1000:.1f}",
            ),
        ]
    sent = outbox.get("sent", 0)
    rows += [
        ("", ""),
        ("process: worker processes x concurrency", f"{args.service_workers} x {args.workers}"),
        ("process: events processed", str(processed)),
        ("process: processed/s", rate(processed, processing.elapsed)),
        ("process: elapsed s", f"{processing.elapsed:.1f}"),
        ("process: worker CPU ms per event", f"{processing.cpu / max(processed, 1) * 1000:.1f}"),
        (
            "process: service SQL statements per event",
            f"{processing.statements / max(processed, 1):.1f}",
        ),
        ("", ""),
        ("e-mail: messages sent", str(sent)),
        ("e-mail: sent/s", rate(sent, mailing.elapsed)),
        ("e-mail: worker CPU ms per message", f"{mailing.cpu / max(sent, 1) * 1000:.1f}"),
        (
            "events + their e-mail: paid bookings/s",
            rate(bookings, processing.elapsed + mailing.elapsed),
        ),
        ("", ""),
        ("bookings confirmed+paid", str(totals["confirmed_paid"])),
        ("bookings with exactly one payment", str(totals["one_payment"])),
        ("bookings with a customer", str(totals["with_customer"])),
        ("'payment' timeline rows", str(totals["payment_timeline_rows"])),
    ]
    print_table(
        f"Stripe webhooks — {machine()}\n"
        f"service: bookingtms server --workers {args.service_workers}; "
        "clients (aiohttp) in a child process; "
        f"phase 2 runs the Stripe-event queue, phase 3 the e-mail it caused",
        rows,
    )
    first = posted[0]
    accept_rate = len(first.latencies) / first.elapsed
    p99 = percentile(first.latencies, 99)
    print(
        f"targets ({args.clients[0]} clients): accepted/s >= 500 -> {accept_rate:.0f} "
        f"{'met' if accept_rate >= 500 else 'MISSED'}; ack p99 < 50 ms -> {p99 * 1000:.1f} "
        f"{'met' if p99 < 0.05 else 'MISSED'}; processed/s >= 300 -> {process_rate:.0f} "
        f"{'met' if process_rate >= 300 else 'MISSED'}"
    )
    retried = [r for p in posted for r in p.retried]
    if retried:
        print(f"first delivery retried after: {retried[0]}")
    return report_checks(failures)


if __name__ == "__main__":
    sys.exit(main())
