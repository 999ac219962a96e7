"""What the desk reads from the cache: filters, search (few and many matches), paging,
stats, sessions by venue date, customers with segments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.sync import queries
from app.sync.cache import Cache
from tests.sync import rows
from tests.sync.conftest import ZONE, Venue, apply


def names(cache: Cache, **filters: object) -> list[str]:
    with cache.read() as conn:
        found = queries.bookings(conn, queries.BookingQuery(**filters))  # type: ignore[arg-type]
    return [b["customer_name"] for b in found]


def test_filters_by_date_status_and_activity(cache: Cache, venue: Venue) -> None:
    today = venue.today
    assert sorted(names(cache, date_from=today, date_to=today)) == [
        "Alice Anders", "Bob Brown", "Wanda Walker"
    ]  # fmt: skip
    assert names(cache)[-1] == "Carol Chen"  # date order
    assert names(cache, statuses=("cancelled",)) == []
    assert len(names(cache, activity_id=venue.activity["id"])) == 4
    assert names(cache, customer_id=venue.customers["Bob"]["id"]) == ["Bob Brown"]


@pytest.mark.parametrize("sparse_limit", [queries.SPARSE_LIMIT, 0])
def test_search_by_name_number_email_and_phone(
    cache: Cache, venue: Venue, monkeypatch: pytest.MonkeyPatch, sparse_limit: int
) -> None:
    # Few matches are fetched by rowid; many walk the date index: both give the same rows.
    monkeypatch.setattr(queries, "SPARSE_LIMIT", sparse_limit)
    bob = venue.bookings["Bob"]["booking_number"]
    assert names(cache, q="car") == ["Carol Chen"]
    assert names(cache, q="CHEN") == ["Carol Chen"]
    assert names(cache, q=bob.lower().replace("-", "")) == ["Bob Brown"]
    assert names(cache, q=bob[3:8]) == ["Bob Brown"]
    assert names(cache, q="555 0101") == ["Alice Anders"]
    assert names(cache, q="wanda@") == ["Wanda Walker"]  # a booking's own contact
    assert sorted(names(cache, q="al")) == [
        "Alice Anders",
        "Wanda Walker",
    ]  # too short for trigrams
    assert names(cache, q='"; drop') == []
    assert names(cache, q="100%") == []


def test_pages_follow_on_from_the_last_row(cache: Cache, venue: Venue) -> None:
    extra = [
        rows.booking(venue.activity, venue.session, None, venue.today, contact_name=f"Guest {i:02}")
        for i in range(12)
    ]
    apply(cache, [rows.change("booking", b) for b in extra])
    seen: list[str] = []
    after = None
    with cache.read() as conn:
        while True:
            page = queries.bookings(conn, queries.BookingQuery(), after=after, limit=5)
            seen += [b["id"] for b in page]
            if len(page) < 5:
                break
            last = page[-1]
            after = (last["booking_date"], last["start_time"], last["id"])
    assert len(seen) == len(set(seen)) == 16


def test_stats_count_visits_and_money_kept(cache: Cache, venue: Venue) -> None:
    today = venue.today
    with cache.read() as conn:
        live = ("confirmed", "checked_in", "completed", "no_show")
        assert queries.count_between(conn, today, today, live) == 3
        assert queries.count_between(conn, today, today + timedelta(days=7), live) == 4
        assert queries.revenue_between(conn, today, today) == 12000


def test_sessions_by_venue_date(cache: Cache, venue: Venue) -> None:
    with cache.read() as conn:
        found = queries.sessions(conn, venue.today, venue.today, ZONE.key)
        later = queries.sessions(conn, venue.today, venue.today + timedelta(days=3), ZONE.key)
    assert [s["id"] for s in found] == [venue.session["id"]]
    assert [s["id"] for s in later] == [venue.session["id"], venue.later["id"]]


def test_customers_with_segments_search_and_history(cache: Cache, venue: Venue) -> None:
    vera = rows.customer("Vera", "Vip", segment="vip")
    merged = rows.customer("Alice", "Old", merged_into_id=venue.customers["Alice"]["id"])
    apply(cache, [rows.change("customer", vera), rows.change("customer", merged)])
    with cache.read() as conn:
        page, total = queries.customers(conn, queries.CustomerQuery())
        assert [c["last_name"] for c in page] == ["Anders", "Brown", "Chen", "Vip"]
        assert total == 4
        assert queries.segment_counts(conn) == {"new": 3, "vip": 1}
        vips, total = queries.customers(conn, queries.CustomerQuery(segment="vip"))
        assert total == 1 and vips[0]["first_name"] == "Vera"
        found, total = queries.customers(conn, queries.CustomerQuery(q="0202"))
        assert total == 1 and found[0]["first_name"] == "Bob"
        second, _ = queries.customers(conn, queries.CustomerQuery(), offset=2, limit=2)
        assert [c["last_name"] for c in second] == ["Chen", "Vip"]
        history = queries.customer_bookings(conn, venue.customers["Carol"]["id"])
        assert [b["id"] for b in history] == [venue.bookings["Carol"]["id"]]
