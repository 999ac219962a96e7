"""The durable queue: local effects at once, kept on top of the feed until settled, and
the service's refusals turned into entries with the booking back as the service has it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from app.sync import actions, conflicts, queries
from app.sync.cache import Cache
from tests.sync import rows
from tests.sync.conftest import ZONE, Venue, apply


def at(hour: int, minute: int) -> datetime:
    return datetime.now(ZONE).replace(hour=hour, minute=minute, second=0, microsecond=0)


def queue(
    cache: Cache, kind: str, booking: dict[str, Any], *, offline: bool = True, **values: Any
) -> actions.DeskAction:
    action = actions.DeskAction(
        kind=kind, booking_id=booking["id"], happened_at=values.pop("happened_at", at(14, 5)),
        staff_name="Sam", staff_id=None, **values,
    )  # fmt: skip
    with cache.write() as conn:
        actions.enqueue(conn, action, offline=offline)
    return action


def cached(cache: Cache, booking: dict[str, Any]) -> dict[str, Any]:
    with cache.read() as conn:
        row = queries.booking(conn, booking["id"])
    assert row is not None
    return row


def answer(cache: Cache, sent: list[actions.DeskAction], *results: dict[str, Any]) -> None:
    with cache.read() as conn:
        by_id = {q["id"]: q for q in actions.queued(conn, 500)}
    with cache.write() as conn:
        conflicts.record(conn, [by_id[a.id] for a in sent], list(results), timezone=ZONE.key)


def result(action: actions.DeskAction, outcome: str, **values: Any) -> dict[str, Any]:
    return {"id": action.id, "outcome": outcome, "code": None, "message": "", "at": None,
            "by": None, "cursor": None, **values}  # fmt: skip


def test_a_check_in_shows_at_once_and_waits_in_the_queue(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    queue(cache, "check_in", alice)
    row = cached(cache, alice)
    assert row["status"] == "checked_in"
    assert row["checked_in_by_name"] == "Sam"
    assert row["guests_arrived"] == 2
    with cache.read() as conn:
        assert actions.waiting(conn) == 1
        assert actions.booking_row(conn, alice["id"], "booking_shadows")["status"] == "confirmed"  # type: ignore[index]


def test_the_queue_survives_reopening_the_file(cache: Cache, venue: Venue) -> None:
    queue(cache, "check_in", venue.bookings["Alice"])
    queue(cache, "note", venue.bookings["Bob"], note="Called ahead")
    path = cache.path
    cache.close()
    again = Cache(path)
    with again.read() as conn:
        kinds = [a["kind"] for a in actions.queued(conn, 10)]
    again.close()
    assert kinds == ["check_in", "note"]


def test_a_refused_transition_is_not_queued(cache: Cache, venue: Venue) -> None:
    carol = venue.bookings["Carol"]
    apply(cache, [rows.change("booking", {**carol, "status": "cancelled"})])
    with pytest.raises(ValueError, match="cancelled"):
        queue(cache, "check_in", carol)
    with cache.read() as conn:
        assert actions.waiting(conn) == 0


def test_local_changes_stay_on_top_of_an_older_copy_from_the_feed(
    cache: Cache, venue: Venue
) -> None:
    alice = venue.bookings["Alice"]
    queue(cache, "check_in", alice)
    queue(cache, "note", alice, note="Birthday")
    # The service changed something else meanwhile (staff took a note online).
    apply(cache, [rows.change("booking", {**alice, "special_requests": "Cake", "version": 2})])
    row = cached(cache, alice)
    assert (row["status"], row["notes"]) == ("checked_in", "Birthday")
    with cache.read() as conn:
        assert actions.booking_row(conn, alice["id"], "booking_shadows")["version"] == 2  # type: ignore[index]


def test_an_applied_action_settles_once_the_feed_has_its_change(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    action = queue(cache, "check_in", alice)
    cursor = cache.cursor
    answer(cache, [action], result(action, "applied", cursor=cursor + 5))
    with cache.read() as conn:
        assert actions.waiting(conn) == 0
    # A page from before the change still shows the booking checked in.
    apply(cache, [rows.change("booking", alice)], cursor=cursor + 2)
    assert cached(cache, alice)["status"] == "checked_in"
    served = {**alice, "status": "checked_in", "checked_in_by_name": "Sam Server",
              "checked_in_at": at(14, 6).isoformat(), "version": 2}  # fmt: skip
    apply(cache, [rows.change("booking", served)], cursor=cursor + 5)
    row = cached(cache, alice)
    assert row["checked_in_by_name"] == "Sam Server"
    with cache.read() as conn:
        assert actions.booking_row(conn, alice["id"], "booking_shadows") is None
        assert conn.exec_driver_sql("SELECT count(*) FROM actions").scalar() == 0


def test_a_rejection_becomes_an_entry_and_the_booking_returns_to_the_service_copy(
    cache: Cache, venue: Venue
) -> None:
    bob = venue.bookings["Bob"]
    cancelled = {**bob, "status": "cancelled", "cancelled_by_name": "Alex"}
    action = queue(cache, "check_in", bob, override_unpaid=True)
    apply(cache, [rows.change("booking", cancelled)])
    # The feed's copy is cancelled, which the local check-in cannot go on top of.
    assert cached(cache, bob)["status"] == "cancelled"
    answer(cache, [action], result(
        action, "rejected", code="cancelled",
        message="The booking was cancelled at 13:58 by Alex.",
    ))  # fmt: skip
    with cache.read() as conn:
        (entry,) = conflicts.open_entries(conn)
        assert actions.waiting(conn) == 0
    assert entry.sentence == (
        "Checked in offline at 14:05, but the booking was cancelled at 13:58 by Alex."
    )
    assert (entry.booking_number, entry.customer_name) == (bob["booking_number"], "Bob Brown")
    assert cached(cache, bob)["status"] == "cancelled"


def test_a_rejection_undoes_the_local_change(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    action = queue(cache, "no_show", alice, offline=False)
    assert cached(cache, alice)["status"] == "no_show"
    answer(cache, [action], result(
        action, "rejected", code="too_early",
        message="A booking can only be marked no-show once its session has started.",
    ))  # fmt: skip
    assert cached(cache, alice)["status"] == "confirmed"
    with cache.read() as conn:
        (entry,) = conflicts.open_entries(conn)
    assert entry.sentence.startswith("Marked as a no-show at 14:05, but a booking can only")


def test_already_done_says_when_and_by_whom(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    action = queue(cache, "check_in", alice)
    answer(cache, [action], result(
        action, "already_done", at=at(14, 2).isoformat(), by="Sam",
    ))  # fmt: skip
    with cache.read() as conn:
        (entry,) = conflicts.open_entries(conn)
        conflicts.dismiss(conn, entry.id)
    assert entry.outcome == "already_done"
    assert entry.sentence == (
        "Checked in offline at 14:05, but it was already done at 14:02 by Sam."
    )


def test_dismissed_entries_leave_the_list(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    action = queue(cache, "check_in", alice)
    answer(cache, [action], result(action, "rejected", code="unknown", message="No booking."))
    with cache.write() as conn:
        (entry,) = conflicts.open_entries(conn)
        conflicts.dismiss(conn, entry.id)
    with cache.read() as conn:
        assert conflicts.count_open(conn) == 0


def test_check_in_then_undo_both_replay_in_order(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    first = queue(cache, "check_in", alice, happened_at=at(14, 5))
    second = queue(cache, "undo_check_in", alice, happened_at=at(14, 6))
    assert cached(cache, alice)["status"] == "confirmed"
    with cache.read() as conn:
        assert [a["id"] for a in actions.queued(conn, 10)] == [first.id, second.id]
    apply(cache, [rows.change("booking", {**alice, "version": 3})])
    row = cached(cache, alice)
    assert (row["status"], row["guests_arrived"], row["checked_in_at"]) == ("confirmed", 0, None)


def test_guests_arriving_show_at_once_for_a_checked_in_party_only(
    cache: Cache, venue: Venue
) -> None:
    alice, bob = venue.bookings["Alice"], venue.bookings["Bob"]
    with pytest.raises(ValueError, match="confirmed booking cannot take guests_arrived"):
        queue(cache, "guests_arrived", bob, guests_arrived=2)
    queue(cache, "check_in", bob, guests_arrived=1)
    queue(cache, "guests_arrived", bob, guests_arrived=2)
    assert cached(cache, bob)["guests_arrived"] == 2
    with pytest.raises(ValueError, match="between 1 and 3"):
        queue(cache, "guests_arrived", bob, guests_arrived=4)
    with pytest.raises(ValueError, match="how many"):
        actions.DeskAction(
            kind="guests_arrived", booking_id=alice["id"], happened_at=at(14, 5),
            staff_name="Sam",
        )  # fmt: skip

    # An older copy from the feed keeps both local changes on top, in order.
    apply(cache, [rows.change("booking", {**bob, "notes": "From the service"})])
    row = cached(cache, bob)
    assert (row["status"], row["guests_arrived"], row["notes"]) == (
        "checked_in",
        2,
        "From the service",
    )
    with cache.read() as conn:
        sent = actions.queued(conn, 10)
    assert [(a["kind"], a["guests_arrived"]) for a in sent] == [
        ("check_in", 1),
        ("guests_arrived", 2),
    ]
