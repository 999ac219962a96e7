"""What the desk reads from its cache: bookings (filtered, searched, paged), stats, today's
arrivals, customers, activities and sessions. Rows come back shaped as the service's JSON
(same keys, ISO text), so the desk's services read both the same way.

Search: FTS5 with the trigram tokenizer finds substrings, as the service's ILIKE does.
Few matches are fetched by rowid and sorted; many (a common word, or a query too short
for trigrams) are found by walking the date index and testing each row, which stops as
soon as a page is full.
"""

# SQL here is assembled from this module's fixed fragments; values are always bound.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from app.domain.booking_numbers import normalize_booking_number
from app.sync import schema

Row = dict[str, Any]

SPARSE_LIMIT = 3000  # more FTS matches than this: walk the date index instead
TRIGRAM = 3

BOOKING_ROW = """
    b.id, b.booking_number, b.status, b.payment_status, b.source, b.activity_id,
    coalesce(a.name, '') AS activity_name, b.session_id, b.customer_id,
    coalesce(nullif(trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), ''),
             b.contact_name, '') AS customer_name,
    coalesce(c.email, b.contact_email) AS customer_email,
    coalesce(c.phone, b.contact_phone) AS customer_phone,
    b.booking_date, b.start_time, b.end_time, b.party_size, b.adult_count, b.child_count,
    b.guests_arrived, b.currency, b.total_amount, b.amount_paid, b.refunded_amount,
    max(b.total_amount - (b.amount_paid - b.refunded_amount), 0) AS balance_due,
    b.checked_in_at, b.checked_in_by_name, b.attention_reason, b.created_at
"""
_JOINS = (
    "LEFT JOIN activities a ON a.id = b.activity_id LEFT JOIN customers c ON c.id = b.customer_id"
)
_ORDER = "ORDER BY b.booking_date, b.start_time, b.id"


@dataclass(frozen=True, slots=True)
class BookingQuery:
    """The bookings list's filters (venue dates, statuses, activity, customer, search)."""

    date_from: date | None = None
    date_to: date | None = None
    statuses: tuple[str, ...] = ()
    activity_id: str | None = None
    customer_id: str | None = None
    q: str = ""
    ids: tuple[str, ...] | None = None  # only these bookings


Cursor = tuple[str, str, str]  # (booking_date, start_time, id) of the last row shown


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts_match(q: str, text_columns: Sequence[str]) -> str | None:
    """An FTS5 query for ``q`` over ``text_columns`` and (its digits) the phone column;
    ``None`` when no part is long enough for trigrams."""
    q = q.strip()
    parts = []
    if len(q) >= TRIGRAM:
        parts.append(f"{{{' '.join(text_columns)}}} : {_phrase(q)}")
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= TRIGRAM:
        parts.append(f"phone : {_phrase(digits)}")
    return " OR ".join(parts) or None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like_condition(q: str, alias: str, text_columns: Sequence[str], params: Row) -> str:
    q = q.strip()
    params["like"] = _like(q)
    tests = [f"{alias}.{column} LIKE :like ESCAPE '\\'" for column in text_columns]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= TRIGRAM:
        params["digits"] = _like(digits)
        tests.append(f"{alias}.phone LIKE :digits ESCAPE '\\'")
    return "(" + " OR ".join(tests) + ")"


def _filters(f: BookingQuery, after: Cursor | None, params: Row) -> list[str]:
    where = []
    if f.date_from:
        where.append("b.booking_date >= :date_from")
        params["date_from"] = f.date_from.isoformat()
    if f.date_to:
        where.append("b.booking_date <= :date_to")
        params["date_to"] = f.date_to.isoformat()
    if f.statuses:
        names = [f"status_{i}" for i in range(len(f.statuses))]
        where.append(f"b.status IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, f.statuses, strict=True))
    if f.activity_id:
        where.append("b.activity_id = :activity_id")
        params["activity_id"] = f.activity_id
    if f.customer_id:
        where.append("b.customer_id = :customer_id")
        params["customer_id"] = f.customer_id
    if f.ids is not None:
        where.append("b.id IN (SELECT value FROM json_each(:ids))")
        params["ids"] = json.dumps(list(f.ids))
    if after is not None:
        where.append("(b.booking_date, b.start_time, b.id) > (:after_d, :after_t, :after_i)")
        params.update(after_d=after[0], after_t=after[1], after_i=after[2])
    return where


def _few(conn: Connection, sql: str, match: str) -> list[Any] | None:
    """What ``sql`` finds for ``match`` when that is few (``None`` when it is many)."""
    found = list(conn.exec_driver_sql(sql, (match, SPARSE_LIMIT + 1)).scalars())
    return None if len(found) > SPARSE_LIMIT else found


_BOOKINGS_MATCHING = "SELECT rowid FROM bookings_fts WHERE bookings_fts MATCH ? LIMIT ?"
_CUSTOMERS_MATCHING = (
    "SELECT c.id FROM customers_fts f JOIN customers c ON c.rowid = f.rowid "
    "WHERE customers_fts MATCH ? LIMIT ?"
)


def _digits_sql(column: str) -> str:
    return f"replace(replace(replace(coalesce({column}, ''), '+', ''), ' ', ''), '-', '')"


def _found_by_walking(q: str, number: str | None, params: Row) -> str:
    """The search as a test of each booking (many matches: the date index is walked and
    the walk stops once the page is full)."""
    params["like"] = _like(q)
    tests = [
        "b.booking_number LIKE :like ESCAPE '\\'",
        "(c.first_name || ' ' || c.last_name) LIKE :like ESCAPE '\\'",
        "c.email LIKE :like ESCAPE '\\'",
        "(b.customer_id IS NULL AND (b.contact_name LIKE :like ESCAPE '\\' "
        "OR b.contact_email LIKE :like ESCAPE '\\'))",
    ]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= TRIGRAM:
        params["digits"] = _like(digits)
        tests.append(f"{_digits_sql('c.phone')} LIKE :digits ESCAPE '\\'")
        tests.append(
            f"(b.customer_id IS NULL AND {_digits_sql('b.contact_phone')} LIKE :digits ESCAPE '\\')"
        )
    if number:
        params["number"] = number
        tests.append("b.booking_number = :number")
    return "(" + " OR ".join(tests) + ")"


def bookings(
    conn: Connection, f: BookingQuery, *, after: Cursor | None = None, limit: int = 100
) -> list[Row]:
    """Up to ``limit`` bookings matching ``f`` in (date, start time, id) order after ``after``.

    The search ``q`` looks in booking numbers, in the booking's own contact when it has no
    customer, and in its customer's name, e-mail and phone.
    """
    params: Row = {"limit": limit}
    where = _filters(f, after, params)
    q = f.q.strip()
    if q:
        number = normalize_booking_number(q)
        rowids = customer_ids = None
        if (booking_match := fts_match(q, ("number", "name", "email"))) is not None:
            rowids = _few(conn, _BOOKINGS_MATCHING, booking_match)
        if rowids is not None and (customer_match := fts_match(q, ("name", "email"))):
            customer_ids = _few(conn, _CUSTOMERS_MATCHING, customer_match)
        if rowids is not None and customer_ids is not None:
            params.update(rowids=json.dumps(rowids), customers=json.dumps(customer_ids))
            found = (
                "(b.rowid IN (SELECT value FROM json_each(:rowids)) "
                "OR b.customer_id IN (SELECT value FROM json_each(:customers))"
            )
            if number:
                params["number"] = number
                found += " OR b.booking_number = :number"
            where.append(found + ")")
        else:
            where.append(_found_by_walking(q, number, params))
    sql = f"SELECT {BOOKING_ROW} FROM bookings b {_JOINS}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" {_ORDER} LIMIT :limit"
    return [dict(r) for r in conn.exec_driver_sql(sql, params).mappings()]


def booking(conn: Connection, booking_id: str) -> Row | None:
    """One booking as a list row, with the fields of its detail."""
    found = (
        conn.exec_driver_sql(
            f"SELECT {BOOKING_ROW}, b.adult_unit_amount, b.child_unit_amount, "
            "b.subtotal_amount, b.discount_amount, b.promo_code, b.special_requests, b.notes, "
            "b.expires_at, b.confirmed_at, b.cancelled_at, b.cancel_reason, b.version, "
            "b.updated_at, a.timezone, s.starts_at, s.ends_at "
            f"FROM bookings b {_JOINS} LEFT JOIN sessions s ON s.id = b.session_id "
            "WHERE b.id = ?",
            (booking_id,),
        )
        .mappings()
        .first()
    )
    return dict(found) if found is not None else None


def booking_id_by_number(conn: Connection, number: str) -> str | None:
    value = conn.exec_driver_sql(
        "SELECT id FROM bookings WHERE booking_number = ?", (number,)
    ).scalar()
    return str(value) if value else None


def count_between(conn: Connection, first: date, last: date, statuses: Sequence[str]) -> int:
    """Bookings dated ``first`` to ``last`` in one of ``statuses``."""
    b = schema.bookings
    stmt = (
        select(func.count())
        .select_from(b)
        .where(b.c.booking_date.between(first.isoformat(), last.isoformat()))
        .where(b.c.status.in_(statuses))
    )
    return int(conn.execute(stmt).scalar_one())


def revenue_between(conn: Connection, first: date, last: date) -> int:
    """Money kept (paid less refunded) on bookings dated ``first`` to ``last``."""
    b = schema.bookings
    stmt = select(func.coalesce(func.sum(b.c.amount_paid - b.c.refunded_amount), 0)).where(
        b.c.booking_date.between(first.isoformat(), last.isoformat())
    )
    return int(conn.execute(stmt).scalar_one())


def activities(conn: Connection, *, only_active: bool = True) -> list[Row]:
    """Activities by name (the active ones unless asked otherwise)."""
    a = schema.activities
    stmt = select(a).order_by(a.c.name, a.c.id)
    if only_active:
        stmt = stmt.where(a.c.active == 1)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def sessions(
    conn: Connection, first: date, last: date, timezone: str, activity_id: str | None = None
) -> list[Row]:
    """Sessions starting on venue dates ``first`` to ``last`` inclusive, in start order."""
    zone = ZoneInfo(timezone)
    begin = datetime.combine(first, time.min, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).astimezone(
        ZoneInfo("UTC")
    )
    s = schema.sessions
    stmt = (
        select(s)
        .where(s.c.starts_at >= begin.isoformat(), s.c.starts_at < end.isoformat())
        .order_by(s.c.starts_at, s.c.id)
    )
    if activity_id:
        stmt = stmt.where(s.c.activity_id == activity_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    q: str = ""
    segment: str | None = None
    status: str | None = None


def customers(
    conn: Connection, f: CustomerQuery, *, offset: int = 0, limit: int = 100
) -> tuple[list[Row], int]:
    """A page of customers (not merged away) by name, and how many match in all."""
    params: Row = {"limit": limit, "offset": offset}
    where = ["c.merged_into_id IS NULL"]
    if f.segment:
        where.append("c.segment = :segment")
        params["segment"] = f.segment
    if f.status:
        where.append("c.status = :status")
        params["status"] = f.status
    q = f.q.strip()
    source = "customers c"
    if q:
        match = fts_match(q, ("name", "email"))
        if match:
            params["match"] = match
            where.append(
                "c.rowid IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH :match)"
            )
        else:
            source = "customers c CROSS JOIN customers_fts f ON f.rowid = c.rowid"
            where.append(_like_condition(q, "f", ("name", "email"), params))
    condition = " AND ".join(where)
    total = conn.exec_driver_sql(
        f"SELECT count(*) FROM {source} WHERE {condition}",
        params,
    ).scalar_one()
    rows = conn.exec_driver_sql(
        f"SELECT c.* FROM {source} WHERE {condition} "
        "ORDER BY c.last_name, c.first_name, c.id LIMIT :limit OFFSET :offset",
        params,
    ).mappings()
    return [dict(r) for r in rows], int(total)


def segment_counts(conn: Connection) -> dict[str, int]:
    """How many customers (not merged away) each segment has."""
    c = schema.customers
    stmt = (
        select(c.c.segment, func.count()).where(c.c.merged_into_id.is_(None)).group_by(c.c.segment)
    )
    return {str(segment): int(count) for segment, count in conn.execute(stmt).all()}


def customers_by_id(conn: Connection, ids: Sequence[str]) -> list[Row]:
    """The customers with these ids that the cache has."""
    c = schema.customers
    return [dict(r) for r in conn.execute(select(c).where(c.c.id.in_(list(ids)))).mappings()]


def customer(conn: Connection, customer_id: str) -> Row | None:
    c = schema.customers
    found = conn.execute(select(c).where(c.c.id == customer_id)).mappings().first()
    return dict(found) if found is not None else None


def customer_bookings(conn: Connection, customer_id: str) -> list[Row]:
    """A customer's bookings, newest first."""
    return [
        dict(r)
        for r in conn.exec_driver_sql(
            f"SELECT {BOOKING_ROW} FROM bookings b {_JOINS} WHERE b.customer_id = ? "
            "ORDER BY b.booking_date DESC, b.start_time DESC",
            (customer_id,),
        ).mappings()
    ]


def counts(conn: Connection) -> dict[str, int]:
    """How many rows of each kind the cache holds."""
    return {
        table: int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
        for table in ("bookings", "customers", "activities", "sessions")
    }
