"""SQL of the desk feed: the horizon, a page of change_log rows, and current rows as JSON.

A page costs one query for its change_log rows and one per entity type for the current rows
of all its ids at once (``id = ANY(ids)``, through the primary key). Postgres writes each
row's JSON itself (every column, as ``row_to_json`` of the table's row: its fastest way),
and the service only appends the computed fields and frames the text.
"""

# The SQL below is assembled from this module's fixed table and column names only.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.server.sync.schemas import ENTITIES

FEED_TABLES = (*ENTITIES, "venues")
_FEED = ", ".join(f"'{table}'" for table in FEED_TABLES)


# The current rows among the ids as (id, JSON object of every column, extras…). row_to_json of
# the table's own row is Postgres's cheapest JSON; the computed fields are appended after.
_IDS = "ANY (CAST(string_to_array(%(ids)s, ',') AS uuid[]))"
ROWS_SQL = {
    "bookings": "SELECT b.id::text, row_to_json(b)::text, b.checked_in_by::text,"
    f" b.cancelled_by::text FROM bookings b WHERE b.id = {_IDS}",
    "customers": f"SELECT c.id::text, row_to_json(c)::text FROM customers c WHERE c.id = {_IDS}",
    "activities": "SELECT a.id::text, row_to_json(a)::text, v.timezone, v.name"
    f" FROM activities a JOIN venues v ON v.id = a.venue_id WHERE a.id = {_IDS}",
    "activity_sessions": "SELECT s.id::text, row_to_json(s)::text FROM activity_sessions s"
    f" WHERE s.id = {_IDS}",
}

PAGE_SQL = f"""
    SELECT id, entity, entity_id FROM change_log
    WHERE id > %(since)s AND id < %(horizon)s AND entity IN ({_FEED})
    ORDER BY id LIMIT %(limit)s"""


@dataclass(frozen=True, slots=True)
class LogRow:
    """One change_log row of the feed's tables."""

    cursor: int
    table: str
    entity_id: str


async def horizon(session: AsyncSession) -> tuple[int, int]:
    """``(horizon, last id drawn)``: every id of the organization below the horizon is final."""
    row = (
        await session.execute(
            text(
                "SELECT app_change_horizon(app_current_org()),"
                " (SELECT last_value FROM change_log_id_seq)"
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def _fetch(
    session: AsyncSession, sql: str, params: dict[str, object]
) -> list[tuple[Any, ...]]:
    """Rows straight from psycopg: thousands of rows a page, without per-row ORM work."""
    connection = await (await session.connection()).get_raw_connection()
    driver = connection.driver_connection
    assert driver is not None
    async with driver.cursor() as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchall()


async def log_page(session: AsyncSession, since: int, horizon: int, limit: int) -> list[LogRow]:
    """The organization's feed rows with ``since < id < horizon``, oldest first."""
    rows = await _fetch(session, PAGE_SQL, {"since": since, "horizon": horizon, "limit": limit})
    return [LogRow(*row) for row in rows]


async def current_rows(session: AsyncSession, table: str, ids: Sequence[str]) -> dict[str, str]:
    """The JSON text of the rows of ``table`` among ``ids`` that still exist, by id."""
    if not ids:
        return {}
    rows = await _fetch(session, ROWS_SQL[table], {"ids": ",".join(ids)})
    if table == "bookings":
        names = await _staff_names(session)
        return {
            row[0]: f'{row[1][:-1]},"checked_in_by_name":{names.get(row[2], "null")},'
            f'"cancelled_by_name":{names.get(row[3], "null")}}}'
            for row in rows
        }
    if table == "activities":
        return {
            row[0]: f'{row[1][:-1]},"timezone":{json.dumps(row[2])},'
            f'"venue_name":{json.dumps(row[3])}}}'
            for row in rows
        }
    return {row[0]: row[1] for row in rows}


async def _staff_names(session: AsyncSession) -> dict[str | None, str]:
    """The organization's staff names as JSON strings, by id."""
    result = await session.execute(text("SELECT id::text, name FROM staff_users"))
    return {staff_id: json.dumps(name) for staff_id, name in result}


async def activities_of_venues(
    session: AsyncSession, venue_ids: Sequence[str]
) -> list[tuple[str, str]]:
    """``(venue id, activity id)`` of every activity of these venues."""
    rows = await _fetch(
        session,
        f"SELECT venue_id::text, id::text FROM activities WHERE venue_id = {_IDS}",
        {"ids": ",".join(venue_ids)},
    )
    return [(venue_id, activity_id) for venue_id, activity_id in rows]


async def last_below(session: AsyncSession, horizon: int) -> int:
    """The organization's newest change_log id below ``horizon``, of any kind (0 if none)."""
    value = await session.scalar(
        text("SELECT coalesce(max(id), 0) FROM change_log WHERE id < :horizon"),
        {"horizon": horizon},
    )
    return int(value or 0)


async def feed_changes_from(session: AsyncSession, first: int) -> bool:
    """Whether the organization has feed changes with an id of ``first`` or more."""
    return bool(
        await session.scalar(
            text(
                f"SELECT EXISTS (SELECT 1 FROM change_log WHERE id >= :first"
                f" AND entity IN ({_FEED}))"
            ),
            {"first": first},
        )
    )


async def newest_cursor(session: AsyncSession) -> int:
    """The organization's newest change_log id (0 when it has none)."""
    value = await session.scalar(text("SELECT coalesce(max(id), 0) FROM change_log"))
    return int(value or 0)


async def last_change_of(session: AsyncSession, entity: str, entity_id: str, after: int) -> int:
    """The newest change_log id of one row written after id ``after`` (0 if none)."""
    value = await session.scalar(
        text(
            "SELECT coalesce(max(id), 0) FROM change_log"
            " WHERE id > :after AND entity = :entity AND entity_id = :entity_id"
        ),
        {"after": after, "entity": entity, "entity_id": entity_id},
    )
    return int(value or 0)


async def last_drawn_id(session: AsyncSession) -> int:
    """The change_log id the sequence handed out last (any organization)."""
    return int(await session.scalar(text("SELECT last_value FROM change_log_id_seq")) or 0)
