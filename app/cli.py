"""``bookingtms …``: the service, the desk, the demo, and operator commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.domain.roles import Role
from app.server.core.errors import AppError

if TYPE_CHECKING:
    from app.server.core.settings import Settings


class CommandError(Exception):
    """A command could not do what was asked; the message says why."""


Work = Callable[[Any], Coroutine[Any, Any, Any]]


def _with_database(url: str, work: Work) -> Any:
    """Run ``work(db)`` on a small pool over ``url`` and close it afterwards."""
    from app.server.core.db import Database

    async def main() -> Any:
        db = Database(url, pool_size=2)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _run_db(settings: Settings, work: Work) -> Any:
    """Run ``work(db)`` against the migrated database."""
    from app.server.core.runtime import database_url
    from app.server.db.migrate import is_up_to_date

    with database_url(settings) as url:
        if not is_up_to_date(url):
            raise CommandError("The database is not migrated. Run: bookingtms migrate")
        return _with_database(url, work)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def _days_ahead(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 366:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days from 1 to 366")
    return int(value)


def _serve(settings: Settings, url: str, workers: int = 1) -> None:
    """Run the service until Ctrl+C or SIGTERM, then return so the caller can clean up.

    uvicorn re-raises the signal that stopped it; turning SIGTERM into SystemExit lets the
    embedded PostgreSQL be stopped by the ``with`` around us instead of being orphaned.
    With several workers each process builds its app from the environment, so the resolved
    database URL (perhaps the embedded server's) is handed down that way.
    """
    import signal

    import uvicorn

    from app.server.core.app import create_app

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "proxy_headers": True,
    }
    if workers > 1:
        os.environ["DATABASE_URL"] = url
        uvicorn.run(
            "app.server.core.app:app_from_environment", factory=True, workers=workers, **options
        )
    else:
        uvicorn.run(create_app(settings, url), **options)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    from app.server.core.runtime import database_url
    from app.server.db.migrate import database_revision, head_revision, upgrade

    with database_url(settings) as url:
        before = database_revision(url)
        upgrade(url)
        print(f"Database migrated from {before or 'empty'} to {head_revision()}.")


def cmd_server(args: argparse.Namespace, settings: Settings) -> None:
    from app.server.core.runtime import database_url
    from app.server.db.migrate import is_up_to_date, upgrade

    settings = settings.model_copy(
        update={"host": args.host or settings.host, "port": args.port or settings.port}
    )
    with database_url(settings) as url:
        if not is_up_to_date(url):
            if not args.migrate:
                raise CommandError(
                    "The database is not migrated. Run: bookingtms migrate "
                    "(or start with: bookingtms server --migrate)"
                )
            upgrade(url)
        _serve(settings, url, args.workers)


def cmd_create_org(args: argparse.Namespace, settings: Settings) -> None:
    from app.server.admin import create_organization

    async def work(db: Any) -> Any:
        return await create_organization(
            db,
            name=args.name,
            slug=args.slug,
            timezone=args.timezone,
            currency=args.currency,
        )

    org = _run_db(settings, work)
    print(f"Created organization {org.name} ({org.slug}).")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise CommandError("The passwords do not match.")
    if not password:
        raise CommandError("No password given.")
    return password


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> None:
    from app.server.admin import create_staff_user

    password = _read_password(args)

    async def work(db: Any) -> Any:
        return await create_staff_user(
            db,
            org_slug=args.org,
            email=args.email,
            name=args.name or args.email.split("@")[0],
            role=Role(args.role),
            password=password,
        )

    user = _run_db(settings, work)
    print(f"Created {user.role} {user.email}.")


def cmd_generate_sessions(args: argparse.Namespace, settings: Settings) -> None:
    from app.server.admin import generate_all_sessions

    async def work(db: Any) -> Any:
        return await generate_all_sessions(db, args.days)

    for slug, count in _run_db(settings, work).items():
        print(f"{slug}: {count} new sessions")


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> None:
    """Fill the demo venue (created if missing) with months of bookings, once."""
    from app.server.demo_data import DEMO_FRONT_DESK, DEMO_MANAGER
    from app.server.seed_demo import seed_demo

    async def work(db: Any) -> Any:
        return await seed_demo(db, customers=args.customers, bookings=args.bookings)

    report = _run_db(settings, work)
    print(report)
    if report.password:
        print(f"  staff: {DEMO_MANAGER}, {DEMO_FRONT_DESK}; password: {report.password}")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    """Everything embedded: database, demo data, Stripe emulator, the service, the desk."""
    import secrets

    from pydantic import SecretStr

    from app.server.background import service_in_thread
    from app.server.core.runtime import database_url
    from app.server.db.migrate import upgrade
    from app.server.demo_data import DEMO_FRONT_DESK, DEMO_MANAGER, ensure_demo_organization
    from app.server.seed_demo import seed_demo
    from app.stripe_emulator import run_emulator_in_thread

    async def prepare(db: Any) -> str:
        password = await ensure_demo_organization(db)
        report = await seed_demo(db)
        print(report, flush=True)
        return password

    with database_url(settings) as url:
        upgrade(url)
        password = _with_database(url, prepare)
        webhook_secret = "whsec_" + secrets.token_hex(24)
        # Real Stripe does not copy a session's metadata to its PaymentIntent; neither
        # does the demo's emulator, so the demo behaves as production would.
        with run_emulator_in_thread(copy_session_metadata_to_payment_intent=False) as emulator:
            demo = settings.model_copy(
                update={
                    "stripe_secret_key": SecretStr("sk_test_" + secrets.token_hex(12)),
                    "stripe_webhook_secret": SecretStr(webhook_secret),
                    "stripe_api_base": emulator.url,
                }
            )
            with service_in_thread(demo, url, port=settings.port) as base:
                emulator.register_webhook(f"{base}/api/v1/webhooks/stripe", webhook_secret)
                print(
                    f"\nBookingTMS demo service on {base} (API docs: {base}/docs)\n"
                    f"  Stripe emulator: {emulator.url}\n"
                    f"  manager:    {DEMO_MANAGER}\n  front desk: {DEMO_FRONT_DESK}\n"
                    f"  password for this run: {password}\n",
                    flush=True,
                )
                if args.screenshots:
                    from app.ui.screenshots import capture_screenshots

                    capture_screenshots(base, DEMO_MANAGER, password, args.screenshots)
                elif args.no_desk:
                    _wait_for_stop()
                else:
                    from app.ui.main import run_desk

                    run_desk(base, email=DEMO_MANAGER, password=password)


def _wait_for_stop() -> None:
    """Block until Ctrl+C or SIGTERM (turned into SystemExit so cleanup runs)."""
    import signal
    import threading

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    threading.Event().wait()


def cmd_desk(args: argparse.Namespace, settings: Settings | None) -> None:
    """The desk application, against the service at ``--server`` (or the last one used)."""
    from app.ui.main import run_desk

    run_desk(args.server)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookingtms", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    server = sub.add_parser("server", help="run the sync service")
    server.add_argument("--host")
    server.add_argument("--port", type=int)
    server.add_argument("--migrate", action="store_true", help="migrate first if needed")
    server.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="service processes (one per core is a good start)",
    )
    server.set_defaults(func=cmd_server)

    org = sub.add_parser("create-org", help="create an organization and its first venue")
    org.add_argument("--name", required=True)
    org.add_argument("--slug", required=True)
    org.add_argument("--timezone", default="UTC", help="IANA zone of the venue")
    org.add_argument("--currency", default="USD")
    org.set_defaults(func=cmd_create_org)

    user = sub.add_parser("create-user", help="create a staff account (password on stdin)")
    user.add_argument("--org", required=True, help="organization slug")
    user.add_argument("--email", required=True)
    user.add_argument("--name")
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user.set_defaults(func=cmd_create_user)

    demo = sub.add_parser("demo", help="run everything embedded with the demo venue")
    demo.add_argument("--no-desk", action="store_true", help="serve only; no desk window")
    demo.add_argument(
        "--screenshots", type=Path, metavar="DIR", help="save a screenshot of each page and stop"
    )
    demo.set_defaults(func=cmd_demo)

    desk = sub.add_parser("desk", help="open the desk application")
    desk.add_argument("--server", help="service URL (default: the last one signed in to)")
    # The desk is a client: the service's settings (and their imports) are not its business.
    desk.set_defaults(func=cmd_desk, service_settings=False)

    gen = sub.add_parser("generate-sessions", help="create sessions from weekly schedules")
    gen.add_argument("--days", type=_days_ahead, default=30, help="1 to 366 days ahead")
    gen.set_defaults(func=cmd_generate_sessions)

    seed = sub.add_parser("seed-demo", help="fill the demo venue with months of bookings")
    seed.add_argument("--customers", type=int, default=300)
    seed.add_argument("--bookings", type=int, default=3000)
    seed.set_defaults(func=cmd_seed_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bookingtms`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Routine job runs and HTTP calls would drown what an operator needs to see.
    for chatty in ("procrastinate", "httpx", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError

    try:
        if getattr(args, "service_settings", True):
            from app.server.core.settings import Settings

            args.func(args, Settings())
        else:
            args.func(args, None)
    except (CommandError, AppError) as exc:
        print(f"bookingtms {args.command}: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"bookingtms {args.command}: cannot reach the database: {reason}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"bookingtms {args.command}: bad configuration: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
