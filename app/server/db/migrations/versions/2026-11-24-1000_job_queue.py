"""The job queue: procrastinate's tables and functions, at the pinned procrastinate version.

Jobs (webhook processing, hold expiry, nightly segments) live in PostgreSQL so any service
instance can pick them up. Upgrading procrastinate means a new migration applying its own
migration files from ``procrastinate.schema.SchemaManager.get_migrations_path()``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The schema text holds '%' and ':' that SQLAlchemy would read as parameters; psycopg
    # runs a parameterless statement as it is.
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    driver.execute(SchemaManager.get_schema())


def downgrade() -> None:
    raise NotImplementedError("The job queue is not removed by a downgrade; restore a backup.")
