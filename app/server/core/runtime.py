"""Finding the database: ``DATABASE_URL``, or the embedded server in the data directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
