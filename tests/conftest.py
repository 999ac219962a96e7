"""Shared fixtures: a real PostgreSQL for the whole run, migrated once.

With ``DATABASE_URL`` set (CI points it at the machine's server) a fresh database is
created on that server and dropped at the end; without it an embedded server is started
from the ``pgserver`` wheel in a temporary directory.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest

from app.server.core.runtime import scratch_database

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Services started by tests (outbox .eml files, desk caches) write into a throwaway data
# directory, never into the user's own; subprocesses inherit it.
_DATA_DIR = tempfile.mkdtemp(prefix="bookingtms-tests-")
os.environ["BOOKINGTMS_DATA_DIR"] = _DATA_DIR
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated, empty test database that lives for the whole run."""
    with scratch_database("bookingtms_test") as url:
        yield url


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:  # noqa: F821
    from app.server.core.db import Database

    database = Database(database_url, pool_size=20)
    yield database
    await database.dispose()
