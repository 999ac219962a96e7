"""The sending job on the service's procrastinate queue."""

from __future__ import annotations

from datetime import UTC, datetime

from app.server.core.settings import Settings
from app.server.jobs import JobRunner, build_queue, defer_outbox_send
from tests.server.notifications.conftest import make_booking, outbox_rows, queue


async def test_a_deferred_send_mails_what_was_committed(database_url, db, org, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    runner = JobRunner(build_queue(db, None, pool_size=2, settings=settings), run_worker=False)
    await runner.start()
    try:
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "booking_cancelled", cause="c1", now=datetime.now(UTC))
        await defer_outbox_send(runner.queue)
        await defer_outbox_send(runner.queue)  # a second request while one is queued: no-op
        await runner.run_until_idle()
    finally:
        await runner.stop()

    [row] = await outbox_rows(db, org)
    assert row.status == "sent"
    assert (tmp_path / "outbox" / f"{row.id}.eml").is_file()
