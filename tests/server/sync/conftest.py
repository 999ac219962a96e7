"""Helpers for the sync feed tests: pulling pages like a desk, and raw app-role connections
that hold a transaction open while others commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg

from app.server.sync.notifier import libpq_conninfo
from tests.factories import Staff


async def pull(
    client: httpx.AsyncClient, staff: Staff, since: int | str = 0, limit: int = 1000
) -> dict[str, Any]:
    r = await client.get(
        "/api/v1/sync/changes", params={"since": since, "limit": limit}, headers=staff.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


class Replica:
    """What a desk would hold after applying pages: entity → id → (cursor, row)."""

    def __init__(self) -> None:
        self.cursor = 0
        self.rows: dict[str, dict[str, dict[str, Any]]] = {}
        self.pages = 0

    def apply(self, page: dict[str, Any]) -> None:
        cursors = [c["cursor"] for c in page["changes"]]
        assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
        assert all(c > self.cursor for c in cursors), "a page went back in time"
        for change in page["changes"]:
            table = self.rows.setdefault(change["entity"], {})
            if change["op"] == "delete":
                assert change["row"] is None
                table.pop(change["id"], None)
            else:
                assert change["row"]["id"] == change["id"]
                table[change["id"]] = change["row"]
        assert page["next_cursor"] >= self.cursor
        self.cursor = page["next_cursor"]
        self.pages += 1

    async def catch_up(self, client: httpx.AsyncClient, staff: Staff, limit: int = 1000) -> None:
        while True:
            page = await pull(client, staff, self.cursor, limit)
            self.apply(page)
            if not page["has_more"]:
                return

    def ids(self, entity: str) -> set[str]:
        return set(self.rows.get(entity, {}))


class Writer:
    """A connection acting as the service does (app role, one organization), whose
    transactions a test opens and ends by hand."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], organization_id: uuid.UUID) -> None:
        self.conn = conn
        self.organization_id = organization_id

    async def begin(self) -> None:
        await self.conn.execute(
            "SELECT set_config('role', 'bookingtms_app', true), set_config('app.org_id', %s, true)",
            [str(self.organization_id)],
        )

    async def execute(self, query: str, params: list[Any] | None = None) -> int:
        """Run ``query``; the change_log id it drew last (this session's)."""
        await self.conn.execute(query, params)  # type: ignore[arg-type]
        cursor = await self.conn.execute("SELECT currval('change_log_id_seq')")
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def commit(self) -> None:
        await self.conn.commit()

    async def rollback(self) -> None:
        await self.conn.rollback()


@asynccontextmanager
async def writer(database_url: str, organization_id: uuid.UUID) -> AsyncIterator[Writer]:
    conn = await psycopg.AsyncConnection.connect(libpq_conninfo(database_url))
    try:
        yield Writer(conn, organization_id)
    finally:
        await conn.close()
