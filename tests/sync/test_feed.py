"""Applying pages of the change feed: upserts, tombstones, the cursor, search kept current."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.sync import feed, queries
from app.sync.cache import Cache
from tests.sync import rows
from tests.sync.conftest import Venue, apply


def names(cache: Cache, q: str) -> list[str]:
    with cache.read() as conn:
        return [b["customer_name"] for b in queries.bookings(conn, queries.BookingQuery(q=q))]


def test_a_page_fills_the_cache_and_moves_the_cursor(cache: Cache, venue: Venue) -> None:
    alice = venue.bookings["Alice"]
    with cache.read() as conn:
        row = queries.booking(conn, alice["id"])
        assert Cache.cursor_in(conn) > 0
    assert row is not None
    assert row["customer_name"] == "Alice Anders"
    assert row["activity_name"] == "Mystery Room"
    assert row["timezone"] == "America/New_York"
    assert row["balance_due"] == 0
    assert row["starts_at"].endswith("+00:00")  # session times kept in UTC


def test_the_newest_change_of_an_entity_wins_and_tombstones_delete(
    cache: Cache, venue: Venue
) -> None:
    bob = venue.bookings["Bob"]
    page = [
        rows.change("booking", {**bob, "status": "checked_in"}),
        rows.change("booking", {**bob, "status": "cancelled"}),
        rows.change("booking", None, entity_id=venue.bookings["Carol"]["id"]),
    ]
    applied = apply(cache, page, cursor=10_000)
    assert applied.bookings == {bob["id"], venue.bookings["Carol"]["id"]}
    with cache.read() as conn:
        assert queries.booking(conn, bob["id"])["status"] == "cancelled"  # type: ignore[index]
        assert queries.booking(conn, venue.bookings["Carol"]["id"]) is None
        assert Cache.cursor_in(conn) == 10_000
    assert names(cache, "carol") == []


def test_a_renamed_customer_is_found_by_the_new_name_only(cache: Cache, venue: Venue) -> None:
    assert names(cache, "alice anders") == ["Alice Anders"]
    alice = venue.customers["Alice"]
    apply(cache, [rows.change("customer", {**alice, "last_name": "Zimmer"})])
    assert names(cache, "alice anders") == []
    assert names(cache, "alice zim") == ["Alice Zimmer"]


def test_a_booking_that_arrives_before_its_customer_is_found_once_it_comes(
    cache: Cache, venue: Venue
) -> None:
    dora = rows.customer("Dora", "Diaz", phone="+13125550444")
    booking = rows.booking(venue.activity, venue.session, dora, venue.today)
    apply(cache, [rows.change("booking", booking)])
    assert names(cache, "diaz") == []
    apply(cache, [rows.change("customer", dora)])
    assert names(cache, "diaz") == ["Dora Diaz"]
    assert names(cache, "555 0444") == ["Dora Diaz"]


def test_fields_the_service_leaves_out_are_stored_as_null(cache: Cache, venue: Venue) -> None:
    activity = rows.activity(name="Lantern Tour")
    del activity["timezone"]
    apply(cache, [rows.change("activity", activity)])
    with cache.read() as conn:
        found = [a for a in queries.activities(conn) if a["name"] == "Lantern Tour"]
    assert found[0]["timezone"] is None


def test_an_empty_cache_is_filled_without_its_indexes_then_indexed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "fill.sqlite3"
    cache = Cache(path)

    def objects() -> set[str]:
        with cache.read() as conn:
            return set(
                conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                    "AND sql IS NOT NULL"
                ).scalars()
            )

    before = objects()
    with cache.read() as conn:
        assert feed.bulk_fill_wanted(conn)
    with cache.write() as conn:
        feed.begin_bulk_fill(conn)
    assert {"ix_bookings_order", "bookings_fts_insert"} & objects() == set()
    activity = rows.activity()
    session = rows.session(activity["id"], datetime.now(UTC))
    customer = rows.customer("Fay", "Filled", phone="+13125550777")
    booking = rows.booking(activity, session, customer, date.today())
    apply(cache, [rows.change("activity", activity), rows.change("session", session),
                  rows.change("customer", customer), rows.change("booking", booking)])  # fmt: skip
    cache.close()

    cache = Cache(path)  # the desk was stopped halfway: the fill carries on
    with cache.read() as conn:
        assert feed.bulk_fill_wanted(conn)
    with cache.write() as conn:
        feed.end_bulk_fill(conn)
    assert objects() == before
    assert names(cache, "fay fil") == ["Fay Filled"]
    assert names(cache, "0777") == ["Fay Filled"]
    assert names(cache, booking["booking_number"]) == ["Fay Filled"]
    apply(cache, [rows.change("customer", {**customer, "last_name": "Found"})])
    assert names(cache, "fay found") == ["Fay Found"]  # the triggers are back
    cache.close()
