"""The cache's schema, built and upgraded in numbered steps (``PRAGMA user_version``).

Each step runs in one transaction with the version bump, so a desk that stops halfway
starts again from the last finished step. A step, once released, never changes: a new
need is a new step.
"""

# SQL here is assembled from this module's fixed fragments; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

Step = Callable[[Connection], None]


class CacheTooNew(RuntimeError):
    """The cache file was written by a newer desk than this one."""


def _run(conn: Connection, script: str) -> None:
    for statement in script.split(";\n"):
        if statement.strip():
            conn.exec_driver_sql(statement)


def _step_1_feed(conn: Connection) -> None:
    """The rows of the change feed, and where the desk is in it."""
    booking_columns = """
        id TEXT PRIMARY KEY, booking_number TEXT NOT NULL, venue_id TEXT,
        activity_id TEXT, customer_id TEXT, session_id TEXT, booking_date TEXT NOT NULL,
        start_time TEXT NOT NULL, end_time TEXT, currency TEXT, status TEXT NOT NULL,
        payment_status TEXT, source TEXT, promo_code TEXT, special_requests TEXT,
        contact_name TEXT, contact_email TEXT, contact_phone TEXT, notes TEXT,
        expires_at TEXT, confirmed_at TEXT, checked_in_at TEXT, checked_in_by TEXT,
        checked_in_by_name TEXT, cancelled_at TEXT, cancel_reason TEXT,
        attention_reason TEXT, created_at TEXT, updated_at TEXT, party_size INTEGER,
        adult_count INTEGER, child_count INTEGER, guests_arrived INTEGER,
        adult_unit_amount INTEGER, child_unit_amount INTEGER, subtotal_amount INTEGER,
        discount_amount INTEGER, total_amount INTEGER, amount_paid INTEGER,
        refunded_amount INTEGER, version INTEGER
    """
    _run(
        conn,
        f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE activities (
            id TEXT PRIMARY KEY, venue_id TEXT, name TEXT, currency TEXT, timezone TEXT,
            duration_minutes INTEGER, capacity INTEGER, adult_price INTEGER,
            child_price INTEGER, min_adults INTEGER, active INTEGER);
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY, activity_id TEXT, starts_at TEXT, ends_at TEXT, status TEXT,
            capacity INTEGER, reserved INTEGER);
        CREATE INDEX ix_sessions_starts_at ON sessions (starts_at);
        CREATE TABLE customers (
            id TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT, phone TEXT,
            segment TEXT, first_booking_date TEXT, last_booking_date TEXT, status TEXT,
            notes TEXT, merged_into_id TEXT, created_at TEXT, updated_at TEXT,
            total_bookings INTEGER, total_spent INTEGER, average_booking_value INTEGER,
            lifetime_value INTEGER);
        CREATE INDEX ix_customers_name ON customers (last_name, first_name, id);
        CREATE INDEX ix_customers_segment ON customers (merged_into_id, segment);
        CREATE TABLE bookings ({booking_columns});
        CREATE UNIQUE INDEX ix_bookings_number ON bookings (booking_number);
        CREATE INDEX ix_bookings_order ON bookings (booking_date, start_time, id);
        CREATE INDEX ix_bookings_customer ON bookings (customer_id);
        CREATE INDEX ix_bookings_session ON bookings (session_id)
        """,
    )


def _step_2_actions(conn: Connection) -> None:
    """The durable queue of desk actions, the service's copy of locally changed bookings,
    and the list of what needs staff attention."""
    shadow = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE name = 'bookings'"
    ).scalar_one()
    _run(
        conn,
        f"""
        {str(shadow).replace("CREATE TABLE bookings", "CREATE TABLE booking_shadows", 1)};
        CREATE TABLE actions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            booking_id TEXT NOT NULL, booking_number TEXT, happened_at TEXT NOT NULL,
            note TEXT, staff_id TEXT, staff_name TEXT, state TEXT NOT NULL, last_error TEXT,
            guests_arrived INTEGER, override_unpaid INTEGER NOT NULL DEFAULT 0,
            offline INTEGER NOT NULL DEFAULT 0, result_cursor INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX ix_actions_state ON actions (state, seq);
        CREATE INDEX ix_actions_booking ON actions (booking_id, seq);
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT, action_id TEXT, kind TEXT,
            booking_id TEXT, booking_number TEXT, customer_name TEXT, outcome TEXT,
            code TEXT, message TEXT, sentence TEXT, happened_at TEXT, created_at TEXT,
            resolved_at TEXT);
        CREATE INDEX ix_conflicts_open ON conflicts (resolved_at, id)
        """,
    )


def _digits(column: str) -> str:
    """SQL for the digits of a phone number (the service stores them in E.164 mostly)."""
    expr = f"coalesce({column}, '')"
    for ch in ("+", " ", "-", "(", ")", "."):
        expr = f"replace({expr}, '{ch}', '')"
    return expr


def booking_search_values(b: str) -> str:
    """The search text of booking ``b``: its number, and its own contact when it has no
    customer (a customer's name, e-mail and phone are searched in ``customers_fts``)."""
    own = f"{b}.customer_id IS NULL"
    return (
        f"{b}.rowid, {b}.booking_number, "
        f"CASE WHEN {own} THEN coalesce({b}.contact_name, '') ELSE '' END, "
        f"CASE WHEN {own} THEN coalesce({b}.contact_email, '') ELSE '' END, "
        f"CASE WHEN {own} THEN {_digits(f'{b}.contact_phone')} ELSE '' END"
    )


def customer_search_values(c: str) -> str:
    """The search text of customer ``c``: name, e-mail and the digits of the phone."""
    return (
        f"{c}.rowid, {c}.first_name || ' ' || {c}.last_name, coalesce({c}.email, ''), "
        f"{_digits(f'{c}.phone')}"
    )


INDEX_BOOKINGS = "INSERT INTO bookings_fts (rowid, number, name, email, phone) SELECT "
INDEX_CUSTOMERS = "INSERT INTO customers_fts (rowid, name, email, phone) SELECT "


def _step_3_search(conn: Connection) -> None:
    """Full-text search (FTS5, trigram: substrings, as the service's ILIKE) over booking
    numbers and contacts, and customers' names, e-mails and phones; kept current by
    triggers."""
    booking_changed = " OR ".join(
        f"old.{c} IS NOT new.{c}"
        for c in ("booking_number", "customer_id", "contact_name", "contact_email", "contact_phone")
    )
    customer_changed = " OR ".join(
        f"old.{c} IS NOT new.{c}" for c in ("first_name", "last_name", "email", "phone")
    )
    new_booking = f"{INDEX_BOOKINGS}{booking_search_values('new')}"
    new_customer = f"{INDEX_CUSTOMERS}{customer_search_values('new')}"
    statements = [
        "CREATE VIRTUAL TABLE bookings_fts USING fts5"
        "(number, name, email, phone, tokenize = 'trigram')",
        "CREATE VIRTUAL TABLE customers_fts USING fts5(name, email, phone, tokenize = 'trigram')",
        f"""CREATE TRIGGER bookings_fts_insert AFTER INSERT ON bookings BEGIN
            {new_booking}; END""",
        f"""CREATE TRIGGER bookings_fts_update AFTER UPDATE OF booking_number, customer_id,
            contact_name, contact_email, contact_phone ON bookings WHEN {booking_changed} BEGIN
            DELETE FROM bookings_fts WHERE rowid = old.rowid; {new_booking}; END""",
        """CREATE TRIGGER bookings_fts_delete AFTER DELETE ON bookings BEGIN
            DELETE FROM bookings_fts WHERE rowid = old.rowid; END""",
        f"""CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
            {new_customer}; END""",
        f"""CREATE TRIGGER customers_fts_update AFTER UPDATE OF first_name, last_name, email,
            phone ON customers WHEN {customer_changed} BEGIN
            DELETE FROM customers_fts WHERE rowid = old.rowid; {new_customer}; END""",
        """CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
            DELETE FROM customers_fts WHERE rowid = old.rowid; END""",
        # Rows cached before this step.
        f"{INDEX_CUSTOMERS}{customer_search_values('c')} FROM customers c",
        f"{INDEX_BOOKINGS}{booking_search_values('b')} FROM bookings b",
    ]
    for statement in statements:
        conn.exec_driver_sql(statement)


STEPS: tuple[Step, ...] = (_step_1_feed, _step_2_actions, _step_3_search)
LATEST = len(STEPS)


def version(conn: Connection) -> int:
    """The schema version of the open cache (0 for a new file)."""
    return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())


def pending_steps(current: int) -> list[tuple[int, Step]]:
    """The steps still to run from ``current``; :class:`CacheTooNew` past the last one."""
    if current > LATEST:
        raise CacheTooNew(
            f"This cache was written by a newer desk (schema {current}; this desk knows "
            f"up to {LATEST}). Update the desk."
        )
    return [(number, STEPS[number - 1]) for number in range(current + 1, LATEST + 1)]
