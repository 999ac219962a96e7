"""Shared fixtures: a real PostgreSQL for the whole run, migrated once.

With ``DATABASE_URL`` set (CI points it at the machine's server) a fresh database is
created on that server and dropped at the end; without it an embedded server is started
from the ``pgserver`` wheel in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.server.core.embedded_postgres import EmbeddedPostgres, sqlalchemy_url
from app.server.db.migrate import upgrade

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated, empty test database that lives for the whole run."""
    external = os.environ.get("DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    if external:
        server_url = sqlalchemy_url(external)
    else:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="bookingtms-pg-")) / "pgdata")
        server_url = embedded.start()
    name = f"bookingtms_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_admin_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if embedded is not None:
            embedded.stop()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:  # noqa: F821
    from app.server.core.db import Database

    database = Database(database_url, pool_size=20)
    yield database
    await database.dispose()
