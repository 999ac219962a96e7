"""Notifications: the outbox's sending lease, rendered subject and listing index.

A sender claims due rows (``FOR UPDATE SKIP LOCKED``) by setting ``sending`` with a lease;
a row whose lease ran out belongs to a sender that died and is claimed again. The outbox
leaves the desk feed: its rows are not synced, and every status flip would otherwise wake
every desk's change stream for nothing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("email_outbox", sa.Column("subject", sa.String(length=300), nullable=True))
    op.add_column(
        "email_outbox", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "email_outbox",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_email_outbox_sending_has_lease"),
        "email_outbox",
        "status <> 'sending' OR lease_expires_at IS NOT NULL",
    )
    op.create_index(
        "ix_email_outbox_lease",
        "email_outbox",
        ["lease_expires_at"],
        unique=False,
        postgresql_where="status = 'sending'",
    )
    op.create_index(
        "ix_email_outbox_org_created",
        "email_outbox",
        ["organization_id", "created_at"],
        unique=False,
    )
    op.execute("DROP TRIGGER IF EXISTS log_change ON email_outbox")


def downgrade() -> None:
    op.execute(
        "CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON email_outbox"
        " FOR EACH ROW EXECUTE FUNCTION app_log_change()"
    )
    op.drop_index("ix_email_outbox_org_created", table_name="email_outbox")
    op.drop_index(
        "ix_email_outbox_lease", table_name="email_outbox", postgresql_where="status = 'sending'"
    )
    op.drop_constraint(op.f("ck_email_outbox_sending_has_lease"), "email_outbox", type_="check")
    op.drop_column("email_outbox", "updated_at")
    op.drop_column("email_outbox", "lease_expires_at")
    op.drop_column("email_outbox", "subject")
