"""The cache file: numbered upgrade steps, the schema the queries expect, WAL, the device."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app.sync import queries, schema, upgrades
from app.sync.cache import Cache
from tests.sync import rows
from tests.sync.conftest import Venue


def test_a_new_file_gets_every_step(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite3")
    assert cache.version == upgrades.LATEST == len(upgrades.STEPS)
    with cache.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    cache.close()


def test_tables_match_the_query_side(cache: Cache) -> None:
    with cache.read() as conn:
        for table in schema.metadata.sorted_tables:
            cached = [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table.name})").all()]
            assert sorted(cached) == sorted(c.name for c in table.columns), table.name


def test_the_device_keeps_its_id_across_restarts(tmp_path: Path) -> None:
    first = Cache(tmp_path / "c.sqlite3")
    device = first.device_id
    first.close()
    again = Cache(tmp_path / "c.sqlite3")
    assert again.device_id == device and device.startswith("desk-")
    again.close()


def test_step_3_indexes_rows_cached_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    activity = rows.activity()
    session = rows.session(activity["id"], datetime.now(UTC))
    customer = rows.customer("Olga", "Older", phone="+13125550999")
    booking = rows.booking(activity, session, customer, date.today())
    with engine.begin() as conn:
        for number, step in upgrades.pending_steps(0)[:2]:
            step(conn)
            conn.exec_driver_sql(f"PRAGMA user_version = {number}")
        conn.exec_driver_sql(
            "INSERT INTO customers (id, first_name, last_name, email, phone) VALUES (?,?,?,?,?)",
            (customer["id"], "Olga", "Older", customer["email"], customer["phone"]),
        )
        conn.exec_driver_sql(
            "INSERT INTO bookings (id, booking_number, customer_id, booking_date, start_time, "
            "status, total_amount, amount_paid, refunded_amount) VALUES (?,?,?,?,?,?,0,0,0)",
            (booking["id"], booking["booking_number"], customer["id"], "2026-01-01", "10:00:00",
             "confirmed"),
        )  # fmt: skip
    engine.dispose()

    cache = Cache(path)
    assert cache.version == 3
    with cache.read() as conn:
        for q in ("olga old", "5550999", booking["booking_number"][3:9].lower()):
            found = queries.bookings(conn, queries.BookingQuery(q=q))
            assert [b["id"] for b in found] == [booking["id"]], q
        page, total = queries.customers(conn, queries.CustomerQuery(q="older"))
        assert total == 1 and page[0]["id"] == customer["id"]
    cache.close()


def test_a_cache_from_a_newer_desk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Cache(path).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA user_version = {upgrades.LATEST + 1}")
    engine.dispose()
    with pytest.raises(upgrades.CacheTooNew, match="newer desk"):
        Cache(path)


def test_rows_are_counted(cache: Cache, venue: Venue) -> None:
    with cache.read() as conn:
        assert queries.counts(conn) == {
            "bookings": 4, "customers": 3, "activities": 1, "sessions": 2
        }  # fmt: skip
