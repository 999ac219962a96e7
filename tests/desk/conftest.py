"""The desk against the real service over HTTP, on a qasync loop of its own.

Test data is made in async fixtures on pytest-asyncio's session loop (factories, the
database, HTTP); the desk runs on a separate ``qasync.QEventLoop`` that a test drives with
:class:`Driver` until what a user would see has happened. Qt events are processed only
while that loop runs, so every coroutine of the desk sees a running loop.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import keyring
import pytest
import qasync
import shiboken6
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PySide6.QtCore import QSettings

from app.server.core.settings import Settings
from app.services.api_client import ApiClient
from app.services.auth import who_am_i
from app.services.desk import DeskServices
from app.ui.main_window import MainWindow
from app.ui.resources import style_sheet
from app.ui.settings import DeskSettings
from app.ui.tasks import TaskRunner
from tests.factories import Org, Staff
from tests.live_server import live_server


class Driver:
    """Runs the desk's loop until a condition holds and the desk has nothing in flight."""

    def __init__(self, loop: qasync.QEventLoop) -> None:
        self.loop = loop
        self.busy_checks: list[Callable[[], bool]] = []

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 20) -> Any:
        task = self.loop.create_task(asyncio.wait_for(coro, timeout))
        task.add_done_callback(lambda _: self.loop.stop())
        self.loop.run_forever()
        return task.result()

    def idle(self) -> bool:
        return not any(busy() for busy in self.busy_checks)

    def until(
        self,
        condition: Callable[[], Any],
        what: str = "",
        timeout: float = 10,
        *,
        settled: bool = True,
    ) -> None:
        """Run the loop until ``condition()`` holds and, if ``settled``, nothing is in flight
        (a task awaiting an open dialog is in flight: wait for dialogs unsettled)."""

        async def wait() -> None:
            # Polls what a person would see: there is no event to wait on for that.
            while not (condition() and (not settled or self.idle())):  # noqa: ASYNC110
                await asyncio.sleep(0.01)

        try:
            self.run(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what or condition}") from None


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps secrets in a dict: the OS keyring of these tests."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def desk_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The desk's user data directory (where its cache files go) inside the test's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="session")
def service_url(database_url: str) -> Iterator[str]:
    # No job worker: this server lives for the whole run, and its worker would take the
    # jobs (outbox sends, holds) that later tests run themselves on the same database.
    settings = Settings(
        database_url=database_url, login_throttle_base_seconds=0.2, run_jobs=False
    )
    with live_server(settings, database_url) as url:
        yield url


@pytest.fixture(scope="session")
def qloop(qapp) -> Iterator[qasync.QEventLoop]:  # type: ignore[no-untyped-def]
    qapp.setQuitOnLastWindowClosed(False)
    qapp.setStyleSheet(style_sheet())
    loop = qasync.QEventLoop(qapp)
    gc.freeze()  # what exists now lives for the run: per-test collections skip it
    yield loop
    loop.close()


@pytest.fixture
def drive(qloop: qasync.QEventLoop) -> Iterator[Driver]:
    driver = Driver(qloop)
    yield driver
    # Let cancellations and deleteLater() finish, then collect Qt wrappers here, on the GUI
    # thread: collected by the live server's thread, PySide would delete them from there.
    driver.run(asyncio.sleep(0.01))
    gc.collect()


@pytest.fixture
def desk_settings(tmp_path: Path) -> DeskSettings:
    return DeskSettings(QSettings(str(tmp_path / "desk.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def open_window(
    drive: Driver, service_url: str, desk_settings: DeskSettings, qtbot, tmp_path: Path
) -> Iterator[Callable[[Staff], MainWindow]]:  # type: ignore[no-untyped-def]
    """Open the main window signed in as a member of staff (their factory token), with
    the desk's cache in the test's directory."""
    windows: list[MainWindow] = []

    def open_as(staff: Staff, page: str = "bookings", base_url: str | None = None) -> MainWindow:
        desk_settings.last_page = page
        client = ApiClient(base_url or service_url, token=staff.token)
        identity = drive.run(who_am_i(client))
        runner = TaskRunner(drive.loop, lambda exc: None)
        services = DeskServices.over(client, identity, data_dir=tmp_path)
        window = MainWindow(services, desk_settings, runner)
        qtbot.addWidget(window)
        drive.busy_checks.append(lambda: runner.busy)
        window.show()
        windows.append(window)
        return window

    yield open_as
    for window in windows:
        if shiboken6.isValid(window):
            window.close()
            window.deleteLater()
        drive.run(window.services.aclose())


@pytest.fixture
async def http(service_url: str) -> Any:
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as client:
        yield client


async def book(
    http: httpx.AsyncClient,
    org: Org,
    session_id: uuid.UUID,
    first: str,
    last: str,
    *,
    adults: int = 2,
    children: int = 0,
    phone: str | None = None,
) -> dict[str, Any]:
    """A desk booking made over HTTP by the org's manager."""
    r = await http.post(
        "/bookings",
        headers=org.manager.headers,
        json={
            "session_id": str(session_id),
            "adult_count": adults,
            "child_count": children,
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "phone": phone,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


async def update_booking(db: Any, org: Org, booking_id: str, **values: Any) -> None:
    """Put a booking into a state no staff action reaches (paid, expired)."""
    from sqlalchemy import update

    from app.server.db.models import Booking

    async with db.tenant(org.id) as s:
        await s.execute(update(Booking).where(Booking.id == uuid.UUID(booking_id)).values(**values))


async def mark_paid(db: Any, org: Org, booking: dict[str, Any]) -> None:
    await update_booking(
        db, org, booking["id"], amount_paid=booking["total_amount"], payment_status="paid"
    )
