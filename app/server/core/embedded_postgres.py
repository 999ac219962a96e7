"""The embedded PostgreSQL server (``pgserver`` wheel) used when ``DATABASE_URL`` is unset."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, urlparse

log = logging.getLogger(__name__)

DATABASE_NAME = "bookingtms"


class EmbeddedPostgres:
    """A PostgreSQL server in ``pgdata``, started on demand and stopped by :meth:`stop`.

    pgserver counts the processes using a data directory and stops the server when the
    last one lets go, so a desk, a CLI command and the service can share it.
    """

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: object | None = None

    def start(self) -> str:
        """Start (or join) the server, ensure the database exists, and return its URL."""
        import pgserver  # heavy import, only when the embedded server is really wanted

        self.pgdata.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.pgdata)
        server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        self._server = server
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608
        exists = server.psql(query)
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
        return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}"

    def stop(self) -> None:
        """Let go of the server; it stops when no other process of ours uses it."""
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()  # type: ignore[attr-defined]


def sqlalchemy_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")
