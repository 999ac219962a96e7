"""The desk's SQLite cache file: one per service and organization, in WAL mode.

SQLAlchemy engines share the file: writes begin ``IMMEDIATE`` (one writer at a time, never
a lock upgrade that deadlocks) and reads begin deferred, reading a snapshot while the
writer goes on. Commits of the desk's own actions are ``synchronous=FULL``: an action the
desk has answered is on disk, and survives the desk being killed or the power going. Pages
of the feed are written ``NORMAL`` (still atomic; after a power cut they are fetched again,
as the cursor goes back with them).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from app.sync import upgrades

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


def _engine(
    path: Path, begin: str, pool_size: int, *, synchronous: str = "FULL", cache_mb: int = 32
) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        pool_size=pool_size,
        max_overflow=4,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        # The driver's own transaction handling is off; SQLAlchemy's "begin" below says
        # how each transaction starts.
        dbapi.isolation_level = None
        for pragma in (
            "journal_mode = WAL",
            f"synchronous = {synchronous}",
            f"busy_timeout = {BUSY_TIMEOUT_MS}",
            "temp_store = MEMORY",
            f"cache_size = -{cache_mb * 1000}",
            "foreign_keys = OFF",
        ):
            dbapi.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Cache:
    """An open cache file: schema upgraded, ready for reads and writes from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = _engine(path, "BEGIN IMMEDIATE", pool_size=2)
        self._feed_writer = _engine(
            path, "BEGIN IMMEDIATE", pool_size=1, synchronous="NORMAL", cache_mb=64
        )
        self._reader = _engine(path, "BEGIN", pool_size=4)
        self._upgrade()
        self.device_id = self._device_id()

    def _upgrade(self) -> None:
        with self._writer.connect() as conn:
            current = upgrades.version(conn)
            conn.rollback()
            for number, step in upgrades.pending_steps(current):
                with conn.begin():
                    if upgrades.version(conn) >= number:
                        continue  # another desk process on this file got there first
                    log.info("cache %s: upgrade step %d (%s)", self.path, number, step.__name__)
                    step(conn)
                    conn.exec_driver_sql(f"PRAGMA user_version = {number}")

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without an error; flushed to
        the disk at the commit when ``durable`` (not needed for what the feed can resend)."""
        with (self._writer if durable else self._feed_writer).begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot to read from."""
        with self._reader.connect() as conn, conn.begin():
            yield conn

    @property
    def version(self) -> int:
        with self.read() as conn:
            return upgrades.version(conn)

    # Meta values --------------------------------------------------------------------------

    @staticmethod
    def get_meta(conn: Connection, key: str) -> str | None:
        value = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (key,)).scalar()
        return None if value is None else str(value)

    @staticmethod
    def set_meta(conn: Connection, key: str, value: str) -> None:
        conn.exec_driver_sql(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _device_id(self) -> str:
        with self.read() as conn:
            device = self.get_meta(conn, "device_id")
        if device is not None:
            return device
        with self.write() as conn:
            device = self.get_meta(conn, "device_id") or f"desk-{uuid.uuid4()}"
            self.set_meta(conn, "device_id", device)
            return device

    @staticmethod
    def cursor_in(conn: Connection) -> int:
        """How far in the service's change feed this cache is."""
        return int(Cache.get_meta(conn, "cursor") or 0)

    @property
    def cursor(self) -> int:
        with self.read() as conn:
            return self.cursor_in(conn)

    def close(self) -> None:
        """Close every connection (the file stays)."""
        for engine in (self._writer, self._feed_writer, self._reader):
            engine.dispose()
