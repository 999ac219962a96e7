"""A tenant transaction: one transaction, as the app role, scoped to its organization.

The driver sends no BEGIN of its own (the engine is in autocommit): ``Database.tenant``
begins the transaction together with its settings, so these tests check that it still is
one transaction, that a failure undoes it, and that the scoping holds.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text, update

from app.server.core.db import APP_ROLE, Database
from app.server.db.models import Activity


async def test_statements_of_a_tenant_block_share_one_transaction_and_its_scope(db, org):
    async with db.tenant(org.id) as s:
        began = await s.scalar(text("SELECT now()"))
        await asyncio.sleep(0.01)
        assert await s.scalar(text("SELECT now()")) == began
        assert await s.scalar(text("SELECT current_user")) == APP_ROLE
        assert await s.scalar(text("SELECT current_setting('app.org_id')")) == str(org.id)
    async with db.anonymous() as s:
        assert await s.scalar(text("SELECT current_setting('app.org_id')")) == ""
        assert (await s.scalars(select(Activity.id))).all() == []


async def test_a_failing_tenant_block_changes_nothing(db, org):
    with pytest.raises(RuntimeError):
        async with db.tenant(org.id) as s:
            await s.execute(update(Activity).values(name="Renamed"))
            raise RuntimeError("refused after a write")
    async with db.tenant(org.id) as s:
        assert (await s.scalars(select(Activity.name))).all() == ["Mystery Room"]


async def test_another_organizations_rows_stay_invisible(db, org, other_org):
    async with db.tenant(org.id) as s:
        names = (await s.scalars(select(Activity.organization_id))).all()
    assert names == [org.id]


async def test_a_rolled_back_transaction_keeps_the_connections_prepared_statements(
    database_url, org
):
    # A refused checkout rolls back; psycopg would forget every prepared statement of the
    # connection then, and the next checkouts would be parsed and planned afresh.
    db = Database(database_url, pool_size=1)
    query = text("SELECT count(*) FROM activities WHERE capacity > :seats")
    try:
        for _ in range(6):  # psycopg prepares a statement on its fifth run
            async with db.tenant(org.id) as s:
                await s.execute(query, {"seats": 0})
        with pytest.raises(RuntimeError):
            async with db.tenant(org.id) as s:
                await s.execute(query, {"seats": 0})
                raise RuntimeError("refused")
        async with db.tenant(org.id) as s:
            prepared = await s.scalar(
                text(
                    "SELECT count(*) FROM pg_prepared_statements"
                    " WHERE statement LIKE '%FROM activities WHERE capacity >%'"
                )
            )
        assert prepared == 1
    finally:
        await db.dispose()
