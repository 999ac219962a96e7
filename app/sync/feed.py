"""Applying a page of the service's change feed to the cache, in one transaction.

Each change carries the entity's current full row (or is a tombstone), so applying is an
upsert or a delete per row, with ``executemany`` per entity: the rows go from the JSON
straight to SQLite as named parameters, without per-field conversion except the session
times (normalised to UTC so that text order is time order).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from app.sync import actions as local_actions
from app.sync import schema, upgrades
from app.sync.cache import Cache

Row = dict[str, Any]

_COLUMNS: dict[str, tuple[str, ...]] = {
    "booking": schema.BOOKING_COLUMNS,
    "customer": ("id", *schema.CUSTOMER_TEXT, *schema.CUSTOMER_INTS),
    "activity": tuple(c.name for c in schema.activities.columns),
    "session": tuple(c.name for c in schema.sessions.columns),
}
_TABLES = {"booking": "bookings", "customer": "customers", "activity": "activities",
           "session": "sessions"}  # fmt: skip


def _upsert_sql(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608 - fixed names
        f"ON CONFLICT (id) DO UPDATE SET {updates}"
    )


# Positional parameters: binding by name costs SQLite's Python driver more than the insert.
_UPSERT = {entity: _upsert_sql(_TABLES[entity], cols) for entity, cols in _COLUMNS.items()}
_VALUES = {entity: itemgetter(*cols) for entity, cols in _COLUMNS.items()}
_DELETE = {entity: f"DELETE FROM {table} WHERE id = ?" for entity, table in _TABLES.items()}  # noqa: S608
_DEFAULTS: dict[str, Any] = {"booking_number": "", "booking_date": "", "start_time": "",
                             "status": ""}  # fmt: skip


@dataclass
class PageApplied:
    """What one page changed, for progress and for the desk's views."""

    rows: int = 0
    bookings: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    activities: bool = False
    sessions: bool = False

    def merge(self, other: PageApplied) -> None:
        self.rows += other.rows
        self.bookings |= other.bookings
        self.customers |= other.customers
        self.activities |= other.activities
        self.sessions |= other.sessions

    @property
    def empty(self) -> bool:
        return not (self.bookings or self.customers or self.activities or self.sessions)


def _utc(value: str | None) -> str | None:
    return datetime.fromisoformat(value).astimezone(UTC).isoformat() if value else value


def _values(entity: str, rows: list[Row]) -> list[tuple[Any, ...]]:
    """The rows as parameter tuples in column order (a field the service leaves out is
    stored as NULL)."""
    if entity == "session":
        rows = [{**r, "starts_at": _utc(r["starts_at"]), "ends_at": _utc(r["ends_at"])}
                for r in rows]  # fmt: skip
    values = _VALUES[entity]
    try:
        return [values(r) for r in rows]
    except KeyError:
        columns = _COLUMNS[entity]
        return [tuple(r.get(c, _DEFAULTS.get(c)) for c in columns) for r in rows]


def apply_page(conn: Connection, changes: Iterable[Row], next_cursor: int) -> PageApplied:
    """Write one page of changes and the new cursor (inside the caller's transaction)."""
    # One pass: the newest change of each row wins (an upsert after a delete, or the reverse).
    upserts: dict[str, dict[str, Row]] = {entity: {} for entity in _TABLES}
    deletes: dict[str, dict[str, None]] = {entity: {} for entity in _TABLES}
    for change in changes:
        entity = change["entity"]
        if entity not in _TABLES:
            continue
        row_id = change["id"]
        if change["op"] == "upsert":
            upserts[entity][row_id] = change["row"]
            deletes[entity].pop(row_id, None)
        else:
            deletes[entity][row_id] = None
            upserts[entity].pop(row_id, None)
    applied = PageApplied()
    for entity in ("activity", "session", "customer", "booking"):
        rows, gone = upserts[entity], deletes[entity]
        applied.rows += len(rows) + len(gone)
        if rows:
            conn.exec_driver_sql(_UPSERT[entity], _values(entity, list(rows.values())))
        if gone:
            conn.exec_driver_sql(_DELETE[entity], [(i,) for i in gone])
        if not (rows or gone):
            continue
        if entity == "booking":
            applied.bookings = {*rows, *gone}
        elif entity == "customer":
            applied.customers = {*rows, *gone}
        elif entity == "activity":
            applied.activities = True
        else:
            applied.sessions = True
    Cache.set_meta(conn, "cursor", str(next_cursor))
    # Local changes not yet settled stay on top of what the service sent.
    applied.bookings |= local_actions.after_feed(conn, applied.bookings, next_cursor)
    return applied


def start_over(conn: Connection) -> None:
    """Forget the service's rows and read the feed again from the start (the service's
    database was replaced). Queued actions and the service's copies of their bookings stay:
    they go on top of the rows again as these come back."""
    for table in ("bookings", "customers", "sessions", "activities"):
        conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    Cache.set_meta(conn, "cursor", "0")


# The first fill of an empty cache ---------------------------------------------------------
#
# Keeping secondary indexes and the search index up to date row by row costs more than the
# rows themselves; an empty cache is filled without them, and they are built once at the
# end (sorted index builds, one pass of the search tables). What was dropped is kept in
# ``meta`` so that a desk stopped halfway finishes the job when it comes back.

BULK_KEY = "bulk_fill"
_BULK_TABLES = ("bookings", "customers", "sessions")


def bulk_fill_wanted(conn: Connection) -> bool:
    """Whether the next pull fills the cache from nothing (or finishes such a fill)."""
    if Cache.get_meta(conn, BULK_KEY) is not None:
        return True
    return Cache.cursor_in(conn) == 0 and Cache.get_meta(conn, "first_sync_done") != "1"


def begin_bulk_fill(conn: Connection) -> None:
    """Drop the secondary indexes and search triggers of the feed's tables (remembered)."""
    if Cache.get_meta(conn, BULK_KEY) is not None:
        return
    tables = ", ".join(f"'{t}'" for t in _BULK_TABLES)
    listing = (
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "  # noqa: S608
        f"AND sql IS NOT NULL AND tbl_name IN ({tables})"
    )
    objects = [(str(k), str(n), str(q)) for k, n, q in conn.exec_driver_sql(listing).all()]
    for kind, name, _sql in objects:
        conn.exec_driver_sql(f"DROP {kind.upper()} {name}")
    Cache.set_meta(conn, BULK_KEY, json.dumps(objects))


def end_bulk_fill(conn: Connection) -> None:
    """Build what :func:`begin_bulk_fill` dropped, and the search index of every row."""
    saved = Cache.get_meta(conn, BULK_KEY)
    if saved is None:
        return
    objects = json.loads(saved)
    for kind, _name, sql in objects:
        if kind == "index":
            conn.exec_driver_sql(sql)
    conn.exec_driver_sql("DELETE FROM bookings_fts")
    conn.exec_driver_sql("DELETE FROM customers_fts")
    conn.exec_driver_sql(
        f"{upgrades.INDEX_CUSTOMERS}{upgrades.customer_search_values('c')} FROM customers c"
    )
    conn.exec_driver_sql(
        f"{upgrades.INDEX_BOOKINGS}{upgrades.booking_search_values('b')} FROM bookings b"
    )
    for kind, _name, sql in objects:
        if kind == "trigger":
            conn.exec_driver_sql(sql)
    conn.exec_driver_sql("DELETE FROM meta WHERE key = ?", (BULK_KEY,))
