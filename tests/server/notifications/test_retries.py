"""Retries with backoff, giving up, leases of crashed senders, parallel senders, rollbacks.

Time is passed in (``send_due(now)``), never slept through.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import SecretStr

from app.server.core.db import Database
from app.server.core.settings import Settings
from app.server.db.models import Booking
from app.server.notifications import repository
from app.server.notifications.outbox import queue_booking_messages
from app.server.notifications.providers import ResendEmailProvider
from tests.server.notifications.conftest import (
    T0,
    make_booking,
    make_sender,
    outbox_rows,
    queue,
    smtp_provider,
)


def resend(endpoint) -> ResendEmailProvider:
    return ResendEmailProvider("re_test", endpoint.url)


async def test_failing_twice_then_succeeding_sends_once(db, org, http_endpoint):
    http_endpoint.script = [(503, {"message": "busy"}), (500, {"message": "oops"})]
    http_endpoint.default = (200, {"id": "re_final"})
    booking_id = await make_booking(db, org)
    await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")
    sender = make_sender(db, resend(http_endpoint), max_attempts=3)

    first = await sender.send_due(T0, organization_id=org.id)
    [row] = await outbox_rows(db, org)
    assert (first.retrying, row.status, row.attempts) == (1, "pending", 1)
    assert row.last_error == "Resend answered 503: busy"
    # 10 s base, with jitter: between half and all of it.
    assert T0 + timedelta(seconds=5) <= row.send_after <= T0 + timedelta(seconds=10)
    first_retry = row.send_after

    early = await sender.send_due(first_retry - timedelta(seconds=1), organization_id=org.id)
    assert early.handled == 0 and len(http_endpoint.received) == 1

    await sender.send_due(first_retry, organization_id=org.id)
    [row] = await outbox_rows(db, org)
    assert (row.status, row.attempts, row.last_error) == ("pending", 2, "Resend answered 500: oops")
    assert (
        first_retry + timedelta(seconds=10) <= row.send_after <= first_retry + timedelta(seconds=20)
    )

    last = await sender.send_due(row.send_after, organization_id=org.id)
    [row] = await outbox_rows(db, org)
    assert last.sent == 1
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert row.provider_message_id == "re_final"
    keys = {request.headers["Idempotency-Key"] for request in http_endpoint.received}
    assert len(http_endpoint.received) == 3 and keys == {str(row.id)}

    later = await sender.send_due(row.send_after + timedelta(days=1), organization_id=org.id)
    assert later.handled == 0 and len(http_endpoint.received) == 3


async def test_after_the_last_attempt_the_message_is_failed_with_its_error(db, org, http_endpoint):
    http_endpoint.default = (502, {"message": "bad gateway"})
    booking_id = await make_booking(db, org)
    await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")
    sender = make_sender(db, resend(http_endpoint), max_attempts=3)

    now = T0
    for _ in range(3):
        await sender.send_due(now, organization_id=org.id)
        [row] = await outbox_rows(db, org)
        now = row.send_after

    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "Resend answered 502: bad gateway (gave up after 3 attempts)"
    nothing = await sender.send_due(now + timedelta(days=1), organization_id=org.id)
    assert nothing.handled == 0 and len(http_endpoint.received) == 3


async def test_a_crashed_senders_message_is_taken_over_after_its_lease(db, org, smtp_server):
    booking_id = await make_booking(db, org)
    await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")
    # A sender claims the message and dies before sending it.
    async with db.system() as s:
        [crashed] = await repository.claim_due(
            s, T0, lease_until=T0 + timedelta(minutes=5), limit=10, organization_id=org.id
        )
    [row] = await outbox_rows(db, org)
    assert (row.status, row.lease_expires_at) == ("sending", T0 + timedelta(minutes=5))

    survivor = make_sender(db, smtp_provider(smtp_server))
    during = await survivor.send_due(T0 + timedelta(minutes=4), organization_id=org.id)
    assert during.handled == 0 and smtp_server.mailbox.messages == []

    after = await survivor.send_due(T0 + timedelta(minutes=5), organization_id=org.id)
    assert after.sent == 1
    assert len(smtp_server.mailbox.by_outbox_id(row.id)) == 1
    [row] = await outbox_rows(db, org)
    assert (row.status, row.attempts, row.lease_expires_at) == ("sent", 2, None)

    # The first sender coming back late cannot overwrite the outcome.
    async with db.system() as s:
        assert not await repository.mark_failed(s, crashed, error="late", subject=None)
    [row] = await outbox_rows(db, org)
    assert row.status == "sent"


async def test_two_senders_in_parallel_never_send_one_message_twice(
    database_url, db, org, smtp_server
):
    booking_id = await make_booking(db, org)
    async with db.tenant(org.id) as s:
        booking = await s.get_one(Booking, booking_id)
        for n in range(40):
            await queue_booking_messages(s, booking, "booking_cancelled", cause=f"c{n}", now=T0)
    ids = {m.id for m in await outbox_rows(db, org)}
    assert len(ids) == 40

    # Two service instances: separate pools, same database.
    other = Database(database_url, pool_size=5)
    try:
        first = make_sender(db, smtp_provider(smtp_server), batch_size=4)
        second = make_sender(other, smtp_provider(smtp_server), batch_size=4)
        reports = await asyncio.gather(
            first.send_due(T0, organization_id=org.id),
            second.send_due(T0, organization_id=org.id),
        )
    finally:
        await other.dispose()

    received = [m["X-BookingTMS-Outbox-Id"] for m in smtp_server.mailbox.messages]
    assert sorted(received) == sorted(str(i) for i in ids)  # each exactly once
    assert sum(r.sent for r in reports) == 40
    assert all(r.sent > 0 for r in reports)  # both took part
    assert {m.status for m in await outbox_rows(db, org)} == {"sent"}


async def test_nothing_is_sent_for_a_rolled_back_change(db, org, smtp_server):
    booking_id = await make_booking(db, org)
    try:
        async with db.tenant(org.id) as s:
            booking = await s.get_one(Booking, booking_id)
            booking.status = "cancelled"
            await queue_booking_messages(s, booking, "booking_cancelled", cause="c", now=T0)
            raise RuntimeError("the refund failed")
    except RuntimeError:
        pass

    report = await make_sender(db, smtp_provider(smtp_server)).send_due(
        T0 + timedelta(days=30), organization_id=org.id
    )
    assert report.handled == 0
    assert smtp_server.mailbox.messages == []


def test_secrets_stay_out_of_the_settings_repr():
    settings = Settings(
        resend_api_key=SecretStr("re_live_secret"),
        smtp_password=SecretStr("smtp-secret"),
        twilio_auth_token=SecretStr("tw-secret"),
    )
    shown = repr(settings) + str(settings.model_dump())
    for secret in ("re_live_secret", "smtp-secret", "tw-secret"):
        assert secret not in shown
