"""The desk sync feed: a horizon no reader may page past, and one change notice per commit.

change_log ids come from one sequence, so a transaction can take id 90, another take 100 and
commit first. A reader paging by id that handed out cursor 100 would never see 90. So the
first change a transaction makes to an organization's bookings, customers, activities,
sessions or venues (the feed's tables) announces, before it takes that id, the lowest id it
may take: it holds a shared advisory lock, named after the organization (16 bits of its
hash) and the sequence's next value (47 bits), until the transaction ends.
``app_change_horizon(org)`` reads the sequence and then those locks; every id of that
organization below the horizon it returns is final (committed, or never will be). Why the
order matters: an id below the sequence value read first was drawn before it, so its
transaction's lock was already held; if that transaction is still running when the locks
are read, its floor bounds the horizon, and if it ended, its rows are visible to the
reader's next statement. Other tables' writers and other organizations' writers hold nobody
back (a hash collision only makes a reader wait for one more transaction).

The notice: the first change of a booking, customer, activity, session or venue in a
transaction sends ``pg_notify('bookingtms_changes', {"organization_id", "cursor"})`` once
per organization. NOTIFY is delivered at commit and dropped on rollback, and the cursor is
the transaction's first id there, which is above any cursor a desk can hold while it runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 11:00:00
"""

# The function bodies are assembled from this module's constants only.
# ruff: noqa: S608

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The floor lock's two int4 keys: (org hash: 16 bits | floor's high 16 bits, floor's low 31
# bits), enough for 2^47 changes. Advisory locks taken with one bigint key (objsubid 1) are
# another namespace.
ORG_KEY = "(hashtext(org::text) & 65535)"
FEED_TABLES = "('bookings', 'customers', 'activities', 'activity_sessions', 'venues')"

LOG_CHANGE = f"""
CREATE OR REPLACE FUNCTION app_log_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  rec record;
  org uuid;
  key text;
  floor_id bigint;
  new_id bigint;
  floors text;
  notified text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    rec := OLD;
  ELSE
    rec := NEW;
  END IF;
  IF TG_TABLE_NAME = 'organizations' THEN
    org := rec.id;
    key := rec.id::text;
  ELSIF TG_TABLE_NAME = 'idempotency_keys' THEN
    org := rec.organization_id;
    key := rec.key;
  ELSE
    org := rec.organization_id;
    key := rec.id::text;
  END IF;
  IF TG_TABLE_NAME IN {FEED_TABLES} THEN
    floors := coalesce(current_setting('bookingtms.floor_orgs', true), '');
    IF strpos(floors, org::text) = 0 THEN
      SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
        INTO floor_id FROM change_log_id_seq;
      PERFORM pg_advisory_xact_lock_shared(
        (({ORG_KEY} << 16) | (floor_id >> 31))::bit(32)::int, (floor_id & 2147483647)::int);
      PERFORM set_config('bookingtms.floor_orgs', floors || org::text || ' ', true);
    END IF;
  END IF;
  INSERT INTO change_log (organization_id, entity, entity_id, op, txid)
  VALUES (org, TG_TABLE_NAME, key, lower(TG_OP), pg_current_xact_id()::text::bigint)
  RETURNING id INTO new_id;
  IF TG_TABLE_NAME IN {FEED_TABLES} THEN
    notified := coalesce(current_setting('bookingtms.notified_orgs', true), '');
    IF strpos(notified, org::text) = 0 THEN
      PERFORM pg_notify('bookingtms_changes',
                        json_build_object('organization_id', org, 'cursor', new_id)::text);
      PERFORM set_config('bookingtms.notified_orgs', notified || org::text || ' ', true);
    END IF;
  END IF;
  RETURN NULL;
END $$
"""

HORIZON = f"""
CREATE FUNCTION app_change_horizon(org uuid) RETURNS bigint
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
  next_id bigint;
  lowest_floor bigint;
BEGIN
  SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
    INTO next_id FROM change_log_id_seq;
  SELECT min(((l.classid::bigint & 65535) << 31) | l.objid::bigint)
    INTO lowest_floor
    FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.objsubid = 2
     AND (l.classid::bigint >> 16) = {ORG_KEY}
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());
  RETURN least(next_id, lowest_floor);
END $$
"""

ORIGINAL_LOG_CHANGE = """
CREATE OR REPLACE FUNCTION app_log_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  row_data jsonb;
  org uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN
    row_data := to_jsonb(OLD);
  ELSE
    row_data := to_jsonb(NEW);
  END IF;
  IF TG_TABLE_NAME = 'organizations' THEN
    org := (row_data->>'id')::uuid;
  ELSE
    org := (row_data->>'organization_id')::uuid;
  END IF;
  INSERT INTO change_log (organization_id, entity, entity_id, op, txid)
  VALUES (org, TG_TABLE_NAME, coalesce(row_data->>'id', row_data->>'key'),
          lower(TG_OP), pg_current_xact_id()::text::bigint);
  PERFORM pg_notify('bookingtms_changes', org::text);
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(LOG_CHANGE)
    op.execute(HORIZON)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS app_change_horizon(uuid)")
    op.execute(ORIGINAL_LOG_CHANGE)
