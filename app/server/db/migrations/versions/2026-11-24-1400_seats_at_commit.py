"""Online checkouts take their seats at commit, inside PostgreSQL.

A checkout's transaction inserts the ``pending_payment`` booking first; the seats are
taken by a deferred constraint trigger as the transaction commits. The session's row
lock is then held only while PostgreSQL commits, never while the service waits for its
event loop, so one popular session takes hundreds of checkouts a second. The trigger
acts only in transactions that ask for it (``app.seats_at_commit``), so every other
writer of bookings keeps taking seats explicitly. When the seats are gone the commit
fails with SQLSTATE ``BK001`` and ``DETAIL`` = ``<seats left>;<session status>``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app_take_seats_at_commit() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            seats_left integer;
            slot_status text;
        BEGIN
            IF coalesce(current_setting('app.seats_at_commit', true), '') <> 'on' THEN
                RETURN NULL;
            END IF;
            UPDATE activity_sessions
               SET reserved = reserved + NEW.party_size
             WHERE id = NEW.session_id
               AND status = 'open'
               AND reserved + NEW.party_size <= capacity;
            IF NOT FOUND THEN
                SELECT greatest(capacity - reserved, 0), status
                  INTO seats_left, slot_status
                  FROM activity_sessions WHERE id = NEW.session_id;
                RAISE EXCEPTION 'The seats of session % are gone.', NEW.session_id
                    USING ERRCODE = 'BK001',
                          DETAIL = format('%s;%s', seats_left, slot_status);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER take_seats_at_commit
            AFTER INSERT ON bookings
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW
            WHEN (NEW.status IN ('pending_payment', 'confirmed'))
            EXECUTE FUNCTION app_take_seats_at_commit()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS take_seats_at_commit ON bookings")
    op.execute("DROP FUNCTION IF EXISTS app_take_seats_at_commit()")
