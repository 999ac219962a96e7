"""The schema is exactly what the models say, and the service refuses an unmigrated database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.server.db.migrate import include_name
from app.server.db.models import Base


def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_server_refuses_an_unmigrated_database_and_names_the_command(database_url):
    name = f"bookingtms_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(database_url).set(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        env = {**os.environ, "DATABASE_URL": url}
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", "server", "--port", "0"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 2
        assert "bookingtms migrate" in result.stderr
        assert "Traceback" not in result.stderr
        migrated = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env,
                                  capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        assert "migrated from empty" in migrated.stdout
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_every_revision_after_the_job_queue_downgrades_and_upgrades_again():
    from alembic import command

    from app.server.core.runtime import scratch_database
    from app.server.db.migrate import alembic_config, database_revision, head_revision

    with scratch_database("bookingtms_downgrade") as url:
        command.downgrade(alembic_config(url), "0003")  # 0003 (the job queue) keeps its schema
        assert database_revision(url) == "0003"
        command.upgrade(alembic_config(url), "head")
        assert database_revision(url) == head_revision()
        engine = create_engine(url)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": include_name})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()
