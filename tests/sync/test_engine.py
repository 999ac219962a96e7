"""The engine against the real service: first sync with progress, live changes through the
stream, local check-ins sent and settled, refusals listed, the feed restarting when the
service's database was replaced."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from app.domain.checkin import CheckInResult
from app.domain.roles import Role
from app.sync import actions, conflicts, queries
from app.sync.cache import Cache
from app.sync.engine import CacheChanged, Progress, SyncEngine, SyncEvent
from tests.factories import make_org
from tests.sync.conftest import DeskFactory, make_bookings, until


def cached(desk: SyncEngine, booking_id: Any) -> dict[str, Any] | None:
    with desk.cache.read() as conn:
        return queries.booking(conn, str(booking_id))


async def server_booking(service_url: str, staff: Any, booking_id: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        r = await http.get(f"/bookings/{booking_id}", headers=staff.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())


async def test_first_sync_reports_progress_then_follows_the_stream(
    db: Any, service_url: str, desks: DeskFactory
) -> None:
    org = await make_org(db)
    bookings = await make_bookings(db, org, 30)
    events: list[SyncEvent] = []
    desk = desks(service_url, org.front_desk)
    desk.add_listener(events.append)
    await until(lambda: desk.status.first_sync_done, "the first sync")
    assert desk.status.online
    with desk.cache.read() as conn:
        assert queries.counts(conn)["bookings"] == 30
    first = next(e for e in events if isinstance(e, Progress) and e.done)
    assert first.rows >= 30 and first.cursor >= (first.target or 0)

    # A change on the service reaches the cache by itself.
    events.clear()
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        r = await http.post(
            f"/bookings/{bookings[0].id}/cancel",
            headers=org.manager.headers,
            json={"reason": "Called to cancel"},
        )
        assert r.status_code == 200, r.text
    await until(lambda: cached(desk, bookings[0].id)["status"] == "cancelled", "the cancel")  # type: ignore[index]
    assert any(isinstance(e, CacheChanged) and str(bookings[0].id) in e.bookings for e in events)


async def test_a_check_in_at_the_door_is_sent_and_settles(
    db: Any, service_url: str, desks: DeskFactory
) -> None:
    org = await make_org(db)
    (booking,) = await make_bookings(db, org, 1)
    desk = desks(service_url, org.front_desk)
    await until(lambda: desk.status.first_sync_done, "the first sync")

    result = await desk.scan(booking.booking_number, staff_name="Front", staff_id=None)
    assert result.answer.result is CheckInResult.OK
    await until(lambda: desk.status.waiting == 0, "the answer")
    served = await server_booking(service_url, org.front_desk, booking.id)
    assert served["status"] == "checked_in"

    def settled() -> bool:
        with desk.cache.read() as conn:
            left = conn.exec_driver_sql("SELECT count(*) FROM actions").scalar()
            shadow = actions.booking_row(conn, str(booking.id), "booking_shadows")
        return left == 0 and shadow is None

    await until(settled, "the feed to bring the service's copy")
    row = cached(desk, booking.id)
    assert row is not None and row["status"] == "checked_in"
    assert row["checked_in_by_name"] == served["checked_in_by_name"]


async def test_actions_queued_offline_stay_the_work_of_whoever_did_them(
    db: Any, service_url: str, desks: DeskFactory
) -> None:
    org = await make_org(db)
    alexs, no_id = await make_bookings(db, org, 2)
    alex = f"{Role.FRONT_DESK.label} {org.slug[-3:]}"
    sam = f"{Role.MANAGER.label} {org.slug[-3:]}"
    desk = desks(service_url, org.front_desk, name="shared")
    await until(lambda: desk.status.first_sync_done, "the first sync")
    await desk.stop()

    # Alex checks two parties in with the service out of reach, and signs out.
    cache = Cache(desk.cache.path)
    with cache.write() as conn:
        for booking, staff_id in ((alexs, str(org.front_desk.id)), (no_id, None)):
            actions.enqueue(
                conn,
                actions.DeskAction(
                    kind="check_in", booking_id=str(booking.id), happened_at=datetime.now(UTC),
                    staff_name=alex, staff_id=staff_id, guests_arrived=1,
                ),
                offline=True,
            )  # fmt: skip
        actions.enqueue(
            conn,
            actions.DeskAction(
                kind="guests_arrived", booking_id=str(alexs.id), happened_at=datetime.now(UTC),
                staff_name=alex, staff_id=str(org.front_desk.id), guests_arrived=2,
            ),
            offline=True,
        )  # fmt: skip
    cache.close()

    # Sam signs in at the same desk; the queue goes out under Sam's sign-in.
    again = desks(service_url, org.manager, name="shared")
    await until(lambda: again.status.waiting == 0, "the queue to be sent")
    assert again.status.conflicts == 0
    served = await server_booking(service_url, org.manager, alexs.id)
    assert (served["status"], served["guests_arrived"]) == ("checked_in", 2)
    assert served["checked_in_by_name"] == alex
    [check_in] = [e for e in served["events"] if e["kind"] == "check_in"]
    assert (check_in["actor_name"], check_in["message"]) == (
        alex,
        f"Sent later from the desk by {sam}.",
    )
    # An action that does not say who did it is the sender's.
    assert (await server_booking(service_url, org.manager, no_id.id))["checked_in_by_name"] == sam
    await until(
        lambda: (cached(again, alexs.id) or {}).get("checked_in_by_name") == alex,
        "the service's copy in the cache",
    )


async def test_a_refused_action_is_listed_and_the_booking_corrected(
    db: Any, service_url: str, desks: DeskFactory
) -> None:
    org = await make_org(db)
    (booking,) = await make_bookings(db, org, 1, day_offset=2)
    desk = desks(service_url, org.front_desk)
    await until(lambda: desk.status.first_sync_done, "the first sync")
    # The desk's own rules would not offer this (the session has not started): the
    # service's refusal is what is tested here.
    row = await desk.queue(
        actions.DeskAction(
            kind="no_show", booking_id=str(booking.id), happened_at=datetime.now(UTC),
            staff_name="Front",
        )
    )  # fmt: skip
    assert row["status"] == "no_show"
    await until(lambda: desk.status.conflicts == 1, "the refusal")
    with desk.cache.read() as conn:
        (entry,) = conflicts.open_entries(conn)
    assert entry.code == "too_early"
    assert entry.sentence.startswith("Marked as a no-show at ")
    assert entry.booking_number == booking.booking_number
    assert cached(desk, booking.id)["status"] == "confirmed"  # type: ignore[index]
    await desk.dismiss(entry.id)
    assert desk.status.conflicts == 0


async def test_a_cursor_the_service_never_gave_starts_the_feed_over(
    db: Any, service_url: str, desks: DeskFactory
) -> None:
    org = await make_org(db)
    first, second = await make_bookings(db, org, 2)
    desk = desks(service_url, org.front_desk, name="replaced")
    await until(lambda: desk.status.first_sync_done, "the first sync")
    await desk.stop()
    cache = Cache(desk.cache.path)
    with cache.write() as conn:
        # As if the service's database had been replaced by an older one.
        Cache.set_meta(conn, "cursor", str(10**15))
        conn.exec_driver_sql("DELETE FROM bookings WHERE id = ?", (str(second.id),))
    cache.close()

    again = desks(service_url, org.front_desk, name="replaced")
    await again.queue(
        actions.DeskAction(
            kind="note", booking_id=str(first.id), happened_at=datetime.now(UTC),
            staff_name="Front", note="Window seat",
        )
    )  # fmt: skip
    await until(lambda: cached(again, second.id) is not None, "the rows to come back")
    assert again.cache.cursor < 10**15
    await until(lambda: again.status.waiting == 0, "the note to be sent")
    served = await server_booking(service_url, org.front_desk, first.id)
    assert "Window seat" in served["notes"]
    await until(lambda: "Window seat" in cached(again, first.id)["notes"], "the note")  # type: ignore[index]
