"""Tenancy and the change feed: app role, row-level security, triggers, lookup functions.

The service acts as ``bookingtms_app``, a role row-level security applies to; every tenant
table is isolated by ``organization_id = app_current_org()`` (a transaction-local setting),
and FORCE makes the table owner subject to it too. The migrating role must be a superuser
or have BYPASSRLS, because the SECURITY DEFINER lookups below run as it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "bookingtms_app"

TENANT_TABLES = (
    "venues",
    "activities",
    "activity_schedules",
    "activity_sessions",
    "promo_codes",
    "customers",
    "bookings",
    "booking_events",
    "payments",
    "refunds",
    "staff_users",
    "auth_tokens",
    "email_outbox",
    "client_actions",
    "idempotency_keys",
    "change_log",
)
TOUCHED_TABLES = (
    "organizations",
    "venues",
    "activities",
    "activity_sessions",
    "customers",
    "bookings",
    "payments",
    "refunds",
    "staff_users",
)
# Written only by the service's own trigger or nowhere: the app role may not rewrite history.
APPEND_ONLY = ("booking_events", "change_log")


def upgrade() -> None:
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        END $$;
        """
    )
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
            EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
          END IF;
        END $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {APP_ROLE}")
    for table in APPEND_ONLY:
        op.execute(f"REVOKE UPDATE, DELETE ON {table} FROM {APP_ROLE}")
    op.execute(f"REVOKE INSERT ON change_log FROM {APP_ROLE}")
    op.execute(f"REVOKE INSERT, DELETE ON organizations FROM {APP_ROLE}")

    op.execute(
        """
        CREATE FUNCTION app_current_org() RETURNS uuid
        LANGUAGE sql STABLE AS
        $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$
        """
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            " USING (organization_id = app_current_org())"
            " WITH CHECK (organization_id = app_current_org())"
        )
    op.execute("ALTER TABLE organizations ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE organizations FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON organizations"
        " USING (id = app_current_org()) WITH CHECK (id = app_current_org())"
    )

    op.execute(
        """
        CREATE FUNCTION app_touch_updated_at() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          NEW.updated_at := now();
          RETURN NEW;
        END $$
        """
    )
    for table in TOUCHED_TABLES:
        op.execute(
            f"CREATE TRIGGER touch_updated_at BEFORE UPDATE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION app_touch_updated_at()"
        )
    op.execute(
        """
        CREATE FUNCTION app_bump_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          NEW.version := OLD.version + 1;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER bump_version BEFORE UPDATE ON bookings"
        " FOR EACH ROW EXECUTE FUNCTION app_bump_version()"
    )

    # Every change of a tenant row lands in change_log in the same transaction, and a
    # NOTIFY (delivered at commit, deduplicated per transaction) wakes the desks' streams.
    op.execute(
        """
        CREATE FUNCTION app_log_change() RETURNS trigger
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
    )
    for table in ("organizations", *TENANT_TABLES):
        if table == "change_log":
            continue
        op.execute(
            f"CREATE TRIGGER log_change AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION app_log_change()"
        )

    # Lookups that must happen before the organization is known. They return only what
    # the caller needs and run as the owner, so they can see across organizations.
    op.execute(
        """
        CREATE FUNCTION app_staff_for_login(p_email text)
        RETURNS TABLE (id uuid, organization_id uuid, password_hash text, active boolean)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT s.id, s.organization_id, s.password_hash, s.active
          FROM staff_users s WHERE lower(s.email) = lower(p_email)
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app_token_lookup(p_hash text)
        RETURNS TABLE (token_id uuid, staff_user_id uuid, organization_id uuid,
                       role text, email text, name text, expires_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT t.id, t.staff_user_id, t.organization_id, s.role, s.email, s.name,
                 t.expires_at
          FROM auth_tokens t JOIN staff_users s ON s.id = t.staff_user_id
          WHERE t.token_hash = p_hash AND t.revoked_at IS NULL
            AND t.expires_at > now() AND s.active
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app_org_by_slug(p_slug text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT id FROM organizations WHERE slug = lower(p_slug)
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app_org_ids() RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT id FROM organizations ORDER BY id
        $$
        """
    )
    for fn in (
        "app_staff_for_login(text)",
        "app_token_lookup(text)",
        "app_org_by_slug(text)",
        "app_org_ids()",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {APP_ROLE}")


def downgrade() -> None:
    for fn in (
        "app_staff_for_login(text)",
        "app_token_lookup(text)",
        "app_org_by_slug(text)",
        "app_org_ids()",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for table in ("organizations", *TENANT_TABLES):
        op.execute(f"DROP TRIGGER IF EXISTS log_change ON {table}")
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in TOUCHED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS touch_updated_at ON {table}")
    op.execute("DROP TRIGGER IF EXISTS bump_version ON bookings")
    op.execute("DROP FUNCTION IF EXISTS app_log_change()")
    op.execute("DROP FUNCTION IF EXISTS app_bump_version()")
    op.execute("DROP FUNCTION IF EXISTS app_touch_updated_at()")
    op.execute("DROP FUNCTION IF EXISTS app_current_org()")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
