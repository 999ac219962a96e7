"""Applying and checking migrations, for the CLI, the service start and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave procrastinate's tables to procrastinate when comparing schema and models."""
    return not (
        type_ in ("table", "index")
        and (name or "").startswith(("procrastinate_", "idx_procrastinate_"))
    )


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` without any .ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option(
        "file_template",
        "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s",
    )
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` (a sync SQLAlchemy URL) to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest migration in the code."""
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def database_revision(url: str) -> str | None:
    """The migration the database at ``url`` is at (``None`` when never migrated)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def is_up_to_date(url: str) -> bool:
    """Whether the database is at the code's head migration."""
    return database_revision(url) == head_revision()
