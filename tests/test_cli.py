"""The ``bookingtms`` command against a real database: what it does, and how it says no."""

from __future__ import annotations

import asyncio
import io
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from datetime import time as clock_time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app.cli import main
from app.domain.roles import Role
from app.server.auth.service import login
from app.server.core.settings import Settings
from app.server.db.migrate import head_revision
from app.server.db.models import ActivitySession
from tests.factories import make_org, make_schedule

BOOKINGTMS = Path(sys.executable).with_name("bookingtms")
PASSWORD = "lantern-keeper-42"


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse refusing the arguments
        return int(exc.code or 0)


@pytest.fixture
def cli(database_url, capsys, monkeypatch):
    """Run ``bookingtms ARGS`` in this process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    async def run(*argv: str, stdin: str | None = None, url: str | None = None):
        if url:
            monkeypatch.setenv("DATABASE_URL", url)
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        # A thread of its own: the command runs its own event loop.
        code = await asyncio.to_thread(_main, list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in err, err
        return code, out, err

    return run


def command(url: str, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the installed ``bookingtms`` entry point with its own process."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([str(BOOKINGTMS), *argv], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def slug() -> str:
    return f"cli-{secrets.token_hex(4)}"


async def test_create_org_then_a_user_who_can_log_in(cli, db, database_url):
    org = slug()
    code, out, _ = await cli("create-org", "--name", "Riverside Escapes", "--slug", org,
                             "--timezone", "Europe/London")
    assert (code, out) == (0, f"Created organization Riverside Escapes ({org}).\n")

    email = f"Morgan@{org}.example"
    done = command(database_url, "create-user", "--org", org, "--email", email,
                   "--role", "manager", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Created manager {email.lower()}.\n"

    result = await login(db, Settings(database_url=database_url), email, PASSWORD)
    assert result.principal.role is Role.MANAGER
    assert result.organization_slug == org


@pytest.mark.parametrize(("argv", "stdin", "words"), [
    (["create-org", "--name", "Again", "--slug", "{taken}"], None, "exists already"),
    (["create-org", "--name", "Mars", "--slug", "{new}", "--timezone", "Mars/Olympus"], None,
     "is not a time zone"),
    (["create-user", "--org", "no-such-venue", "--email", "a@example.com", "--role",
      "manager", "--password-stdin"], PASSWORD + "\n", "No organization with slug"),
    (["create-user", "--org", "{taken}", "--email", "a@example.com", "--role", "owner",
      "--password-stdin"], PASSWORD + "\n", "invalid choice: 'owner'"),
    (["create-user", "--org", "{taken}", "--email", "a@example.com", "--role", "manager",
      "--password-stdin"], "\n", "No password given"),
    (["create-user", "--org", "{taken}", "--email", "a@example.com", "--role", "manager",
      "--password-stdin"], "short\n", "at least"),
    (["create-user", "--org", "{taken}", "--email", "{staff}", "--role", "admin",
      "--password-stdin"], PASSWORD + "\n", "already has a staff account"),
    (["seed-demo", "--customers", "0"], None, "at least one customer"),
    (["server", "--workers", "0"], None, "not a whole number of at least 1"),
    (["generate-sessions", "--days", "5000"], None, "not a number of days from 1 to 366"),
])
async def test_bad_input_is_refused_in_a_sentence(cli, db, argv, stdin, words):
    org = await make_org(db)
    fill = {"taken": org.slug, "new": slug(), "staff": org.manager.email}
    code, out, err = await cli(*(a.format(**fill) for a in argv), stdin=stdin)
    assert code != 0
    assert words in err
    assert out == ""


async def test_generate_sessions_twice_creates_them_once(cli, db):
    org = await make_org(db)
    await make_schedule(db, org, weekday=0, at=clock_time(18))  # Mondays and Thursdays
    await make_schedule(db, org, weekday=3, at=clock_time(19, 30))

    async def sessions() -> int:
        async with db.tenant(org.id) as s:
            return await s.scalar(select(func.count()).select_from(ActivitySession))

    code, out, _ = await cli("generate-sessions", "--days", "14")
    assert code == 0
    assert f"{org.slug}: 4 new sessions" in out.splitlines()
    code, out, _ = await cli("generate-sessions", "--days", "14")
    assert code == 0
    assert f"{org.slug}: 0 new sessions" in out.splitlines()
    assert await sessions() == 4


@pytest.fixture
def empty_database(database_url):
    """A database on the same server that nobody has migrated."""
    server = make_url(database_url)
    name = f"bookingtms_cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_server_refuses_an_unmigrated_database(cli, empty_database):
    done = command(empty_database, "server", "--port", str(free_port()))
    assert done.returncode != 0
    assert "bookingtms migrate" in done.stderr
    assert "Traceback" not in done.stderr

    code, _, err = await cli("generate-sessions", url=empty_database)
    assert code != 0 and "bookingtms migrate" in err

    code, out, _ = await cli("migrate", url=empty_database)
    assert (code, out) == (0, f"Database migrated from empty to {head_revision()}.\n")


async def test_an_unreachable_database_is_named_not_traced(cli):
    code, out, err = await cli("migrate", url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert code == 2 and out == ""
    assert "cannot reach the database" in err and "Connection refused" in err


def serve_with_workers(url: str, workers: int) -> tuple[dict[str, str] | None, str]:
    """Start ``bookingtms server --workers N``, ask /readyz, stop it: (answer, its stderr)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url}
    argv = [str(BOOKINGTMS), "server", "--workers", str(workers), "--port", str(port)]
    server = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    answer = None
    try:
        for _ in range(120):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json()
                break
            except httpx.TransportError:
                time.sleep(0.25)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    return answer, err


async def test_server_runs_several_workers_on_one_database(cli, empty_database):
    await cli("migrate", url=empty_database)
    answer, err = await asyncio.to_thread(serve_with_workers, empty_database, 2)
    assert answer == {"status": "ready"}
    assert "Started parent process" in err
    assert err.count("Started server process") == 2
    assert "Traceback" not in err


async def test_seed_demo_creates_the_demo_venue_once(cli, empty_database):
    await cli("migrate", url=empty_database)
    code, out, _ = await cli("seed-demo", "--customers", "40", "--bookings", "150")
    assert code == 0
    lines = out.splitlines()
    assert re.fullmatch(r"Seeded Lantern Escape Rooms \(lantern-escapes\) in [\d.]+ s:", lines[0])
    assert re.search(r"customers\s+40 \(", out) and re.search(r"bookings\s+150 \(", out)
    assert "password:" in lines[-1]  # the demo staff, created by this run

    code, out, _ = await cli("seed-demo")
    assert (code, out) == (0, "Lantern Escape Rooms (lantern-escapes) already has bookings; "
                              "nothing seeded.\n")
