"""Pages of the desk feed: every change after a cursor, never past one still in flight.

The horizon (migration 0005) is read in a transaction of its own, so the page's snapshot is
always taken after it, whatever the isolation level. When nothing can be handed out yet
because a writer of the organization is still in flight, the read waits a little for it
(writers are quick) rather than send the desk an empty page and a round trip later.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.server.core.db import Database
from app.server.core.errors import AppError
from app.server.sync import repository
from app.server.sync.schemas import ENTITIES

HOLD_BACK_WAIT_SECONDS = 1.0
HOLD_BACK_POLL_SECONDS = 0.02


class InvalidCursor(AppError):
    status, code = 400, "invalid_cursor"


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page ready to send: ``changes_json`` is the inside of the ``changes`` array."""

    changes_json: str
    change_count: int
    next_cursor: int
    has_more: bool

    def to_json(self) -> bytes:
        """The response body, framed without parsing the rows again."""
        return (
            f'{{"changes":[{self.changes_json}],"next_cursor":{self.next_cursor},'
            f'"has_more":{"true" if self.has_more else "false"}}}'
        ).encode()


def parse_cursor(value: str | None) -> int:
    """The ``since`` query parameter: a non-negative integer (default 0)."""
    if value is None or value == "":
        return 0
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise InvalidCursor(f"The cursor must be a whole number of 0 or more, not {value!r}.")
    return int(text)


async def read_page(
    db: Database,
    organization_id: uuid.UUID,
    since: int,
    limit: int,
    *,
    wait_seconds: float = HOLD_BACK_WAIT_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> FeedPage:
    """The organization's changes after ``since`` (at most ``limit`` change_log rows)."""
    deadline = clock() + wait_seconds
    while True:
        async with db.tenant(organization_id) as session:
            horizon, last_drawn = await repository.horizon(session)
        if since > last_drawn:
            raise InvalidCursor(
                "This cursor is ahead of the service's feed (was the database replaced?); "
                "start again from 0."
            )
        async with db.tenant(organization_id) as session:
            log = await repository.log_page(session, since, horizon, limit)
            changes_json, count = await _changes(session, log)
            if len(log) >= limit:
                return FeedPage(changes_json, count, log[-1].cursor, True)
            # Caught up to the horizon: move over this organization's other changes too,
            # so the cursor matches the stream's newest one.
            next_cursor = max(since, await repository.last_below(session, horizon))
            beyond = await repository.feed_changes_from(session, horizon)
        if count or not beyond or clock() >= deadline:
            return FeedPage(changes_json, count, next_cursor, beyond)
        await sleep(HOLD_BACK_POLL_SECONDS)


async def _changes(session: AsyncSession, log: list[repository.LogRow]) -> tuple[str, int]:
    """The page's changes as JSON text (newest change per entity), and how many."""
    newest: dict[tuple[str, str], int] = {}
    venues: dict[str, int] = {}
    for change in log:
        if change.table == "venues":
            venues[change.entity_id] = change.cursor
        else:
            newest[(change.table, change.entity_id)] = change.cursor
    if venues:  # a venue's name and time zone are part of its activities' rows
        for venue_id, activity_id in await repository.activities_of_venues(session, list(venues)):
            key = ("activities", activity_id)
            newest[key] = max(newest.get(key, 0), venues[venue_id])
    ids: dict[str, list[str]] = {table: [] for table in ENTITIES}
    for table, entity_id in newest:
        ids[table].append(entity_id)
    rows = {table: await repository.current_rows(session, table, ids[table]) for table in ids}
    parts = []
    for (table, entity_id), cursor in sorted(newest.items(), key=lambda item: item[1]):
        row = rows[table].get(entity_id)
        # entity_id is a uuid's text (the feed's tables have uuid keys): nothing to escape.
        head = f'{{"cursor":{cursor},"entity":"{ENTITIES[table]}","id":"{entity_id}"'
        parts.append(
            f'{head},"op":"delete","row":null}}'
            if row is None
            else f'{head},"op":"upsert","row":{row}}}'
        )
    return ",".join(parts), len(parts)
