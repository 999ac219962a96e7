"""The desk's cache tables, as SQLAlchemy Core tables for the queries that read them.

The tables are created and changed only by the numbered steps of :mod:`app.sync.upgrades`
(a test checks that both agree). Values are stored as the feed sends them: dates as
``YYYY-MM-DD``, times as ``HH:MM:SS`` and money as integer minor units, so that text
order is date order. Timestamps of sessions are normalised to UTC on the way in.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, Text

metadata = MetaData()


def _text(*names: str) -> list[Column[str]]:
    return [Column(name, Text) for name in names]


def _ints(*names: str) -> list[Column[int]]:
    return [Column(name, Integer) for name in names]


meta = Table("meta", metadata, Column("key", Text, primary_key=True), Column("value", Text))

activities = Table(
    "activities",
    metadata,
    Column("id", Text, primary_key=True),
    *_text("venue_id", "name", "currency", "timezone"),
    *_ints("duration_minutes", "capacity", "adult_price", "child_price", "min_adults", "active"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    *_text("activity_id", "starts_at", "ends_at", "status"),
    *_ints("capacity", "reserved"),
)

CUSTOMER_TEXT = (
    "first_name", "last_name", "email", "phone", "segment", "first_booking_date",
    "last_booking_date", "status", "notes", "merged_into_id", "created_at", "updated_at",
)  # fmt: skip
CUSTOMER_INTS = ("total_bookings", "total_spent", "average_booking_value", "lifetime_value")

customers = Table(
    "customers",
    metadata,
    Column("id", Text, primary_key=True),
    *_text(*CUSTOMER_TEXT),
    *_ints(*CUSTOMER_INTS),
)

BOOKING_TEXT = (
    "booking_number", "venue_id", "activity_id", "customer_id", "session_id", "booking_date",
    "start_time", "end_time", "currency", "status", "payment_status", "source", "promo_code",
    "special_requests", "contact_name", "contact_email", "contact_phone", "notes",
    "expires_at", "confirmed_at", "checked_in_at", "checked_in_by", "checked_in_by_name",
    "cancelled_at", "cancel_reason", "attention_reason", "created_at", "updated_at",
)  # fmt: skip
BOOKING_INTS = (
    "party_size", "adult_count", "child_count", "guests_arrived", "adult_unit_amount",
    "child_unit_amount", "subtotal_amount", "discount_amount", "total_amount", "amount_paid",
    "refunded_amount", "version",
)  # fmt: skip
BOOKING_COLUMNS = ("id", *BOOKING_TEXT, *BOOKING_INTS)


def _booking_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Text, primary_key=True),
        *_text(*BOOKING_TEXT),
        *_ints(*BOOKING_INTS),
    )


bookings = _booking_table("bookings")
# The service's own copy of a booking that has local changes not yet settled: what the
# booking returns to when the service refuses one of them.
booking_shadows = _booking_table("booking_shadows")

actions = Table(
    "actions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    *_text("id", "kind", "booking_id", "booking_number", "happened_at", "note"),
    *_text("staff_id", "staff_name", "state", "last_error"),
    *_ints("guests_arrived", "override_unpaid", "offline", "result_cursor", "attempts"),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_text("action_id", "kind", "booking_id", "booking_number", "customer_name", "outcome"),
    *_text("code", "message", "sentence", "happened_at", "created_at", "resolved_at"),
)
