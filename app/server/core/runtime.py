"""Finding the database: ``DATABASE_URL``, or the embedded server in the data directory."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.server.core.embedded_postgres import EmbeddedPostgres, sqlalchemy_url
from app.server.core.settings import Settings


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The SQLAlchemy URL to use, starting (and later stopping) the embedded server if needed."""
    if settings.database_url:
        yield sqlalchemy_url(settings.database_url)
        return
    embedded = EmbeddedPostgres(settings.pgdata_dir)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A migrated, empty database for one test or benchmark run, dropped afterwards.

    Created on the server of ``DATABASE_URL`` when set, else on an embedded server started
    in a temporary directory (and stopped at the end). Yields its SQLAlchemy URL.
    """
    from app.server.db.migrate import upgrade

    external = os.environ.get("DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    scratch = None if external else tempfile.TemporaryDirectory(prefix=f"{prefix}-pg-")
    if scratch is None:
        server_url = sqlalchemy_url(external or "")
    else:
        embedded = EmbeddedPostgres(Path(scratch.name) / "pgdata")
        server_url = embedded.start()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(server_url).set(database="postgres").render_as_string(False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
        if embedded is not None:
            embedded.stop()
        if scratch is not None:
            scratch.cleanup()
