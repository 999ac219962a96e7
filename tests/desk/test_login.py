"""Signing in, remembering the token in the keyring (or not), and losing the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import keyring
import pytest
from keyring.backends import fail

from app.domain.roles import Role
from app.server.core.settings import Settings
from app.services.credentials import SERVICE_NAME, CredentialStore
from app.ui.main import SAVED_SIGN_IN_EXPIRED, DeskApp
from app.ui.main_window import SESSION_EXPIRED
from tests.desk.conftest import Driver, MemoryKeyring
from tests.factories import PASSWORD, Org, make_org
from tests.live_server import live_server


@pytest.fixture(scope="module")
async def org(db: Any) -> Org:
    return await make_org(db)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def start_desk(drive: Driver, desk_settings, service_url: str, qtbot):  # type: ignore[no-untyped-def]
    """A desk process (login dialog ↔ main window) over the live service."""
    apps: list[DeskApp] = []

    def start(credentials: CredentialStore | None = None, url: str | None = None) -> DeskApp:
        desk = DeskApp(
            drive.loop, desk_settings, credentials or CredentialStore(), url or service_url
        )
        drive.busy_checks.append(lambda: _busy(desk))
        apps.append(desk)
        desk.start()
        return desk

    yield start
    for desk in apps:
        desk.runner.cancel_all()
        for widget in (desk.window, desk.login_dialog):
            if widget is not None:
                widget.close()
                widget.deleteLater()
        drive.run(_close_clients(desk))


def _busy(desk: DeskApp) -> bool:
    return (
        desk.runner.busy
        or (desk.login_dialog is not None and desk.login_dialog.busy)
        or (desk.window is not None and desk.window.runner.busy)
    )


async def _close_clients(desk: DeskApp) -> None:
    if desk.window is not None:
        await desk.window.services.client.aclose()


def sign_in(
    drive: Driver, desk: DeskApp, email: str, password: str, remember: bool = False
) -> None:
    drive.until(lambda: desk.login_dialog is not None, "the login dialog")
    dialog = desk.login_dialog
    assert dialog is not None
    dialog.email.setText(email)
    dialog.password.setText(password)
    if dialog.remember.isEnabled():
        dialog.remember.setChecked(remember)
    dialog.sign_in_button.click()


class TestSignIn:
    def test_good_password_opens_the_window_with_who_and_where(
        self, drive: Driver, start_desk, org: Org, no_keyring: None
    ) -> None:
        desk = start_desk()
        sign_in(drive, desk, org.front_desk.email, PASSWORD)
        drive.until(lambda: desk.window is not None, "the main window")
        window = desk.window
        assert window is not None
        assert window.user_label.text() == f"Front desk {org.slug[-3:]}"
        assert window.role_label.text() == "Front desk"
        assert window.org_label.text() == f"Venue {org.slug}"
        assert window.connection_label.text() == "● Online"
        assert desk.login_dialog is None

    def test_bad_password_says_so_in_the_dialog(
        self, drive: Driver, start_desk, org: Org, no_keyring: None
    ) -> None:
        desk = start_desk()
        sign_in(drive, desk, org.manager.email, "not the password")
        dialog = desk.login_dialog
        assert dialog is not None
        drive.until(lambda: dialog.message.text(), "an error message")
        assert dialog.message.text() == "Wrong e-mail or password."
        assert dialog.message.isVisible()
        assert desk.window is None

    def test_unreachable_service_is_a_sentence_not_a_traceback(
        self, drive: Driver, start_desk, org: Org, no_keyring: None
    ) -> None:
        desk = start_desk(url="http://127.0.0.1:9")
        sign_in(drive, desk, org.manager.email, PASSWORD)
        dialog = desk.login_dialog
        assert dialog is not None
        drive.until(lambda: dialog.message.text(), "an error message")
        assert dialog.message.text().startswith("Cannot reach the service at http://127.0.0.1:9.")


class TestRememberMe:
    def test_token_goes_to_the_keyring_and_the_next_start_skips_the_login(
        self, drive: Driver, start_desk, org: Org, memory_keyring: MemoryKeyring
    ) -> None:
        desk = start_desk()
        sign_in(drive, desk, org.manager.email, PASSWORD, remember=True)
        drive.until(lambda: desk.window is not None, "the main window")
        (stored,) = memory_keyring.secrets.items()
        assert stored[0][0] == SERVICE_NAME
        assert stored[1].startswith("btms_")

        again = start_desk()
        drive.until(lambda: again.window is not None, "the window, without a login")
        assert again.login_dialog is None
        assert again.window is not None
        assert again.window.role_label.text() == "Manager"

    def test_without_a_keyring_backend_the_dialog_says_so_and_nothing_is_kept(
        self, drive: Driver, start_desk, org: Org, no_keyring: None
    ) -> None:
        desk = start_desk()
        drive.until(lambda: desk.login_dialog is not None, "the login dialog")
        dialog = desk.login_dialog
        assert dialog is not None
        assert not dialog.remember.isEnabled()
        assert "No system keyring is available" in dialog.keyring_notice.text()
        sign_in(drive, desk, org.manager.email, PASSWORD, remember=True)
        drive.until(lambda: desk.window is not None, "the main window")

        again = start_desk()
        drive.until(lambda: again.login_dialog is not None, "a login dialog on the next start")
        assert again.window is None

    def test_an_expired_saved_token_leads_back_to_the_login_with_a_message(
        self,
        drive: Driver,
        start_desk,
        desk_settings,
        service_url: str,
        org: Org,
        memory_keyring: MemoryKeyring,
    ) -> None:
        credentials = CredentialStore()
        credentials.save(service_url, org.manager.email, "btms_revoked-or-expired")
        desk_settings.last_email = org.manager.email
        desk_settings.remember = True
        desk = start_desk(credentials)
        drive.until(lambda: desk.login_dialog is not None, "the login dialog")
        assert desk.login_dialog is not None
        assert desk.login_dialog.message.text() == SAVED_SIGN_IN_EXPIRED
        assert memory_keyring.secrets == {}


class TestLosingTheSession:
    def test_a_revoked_token_returns_to_the_login_with_a_message(
        self, drive: Driver, start_desk, org: Org, service_url: str, no_keyring: None
    ) -> None:
        desk = start_desk()
        sign_in(drive, desk, org.admin.email, PASSWORD)
        drive.until(lambda: desk.window is not None, "the main window")
        window = desk.window
        assert window is not None
        token = window.services.client.token
        httpx.post(
            f"{service_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
        ).raise_for_status()

        window.pages["bookings"].refresh_button.click()
        drive.until(lambda: desk.login_dialog is not None, "the login dialog")
        assert desk.login_dialog is not None
        assert desk.login_dialog.message.text() == SESSION_EXPIRED
        assert desk.window is None

    def test_the_desk_survives_the_service_going_away(
        self, drive: Driver, open_window, database_url: str, org: Org
    ) -> None:
        settings = Settings(database_url=database_url)
        with live_server(settings, database_url) as url:
            window = open_window(org.staff[Role.FRONT_DESK], base_url=url)
            page = window.pages["bookings"]
            drive.until(lambda: page.stat_today.value.text() != "–", "the stats")
        page.refresh_button.click()
        # A reply already in flight when the service stopped may briefly read as "back
        # online"; what stays on screen is the warning.
        drive.until(lambda: window.banner.isVisible() and window.banner.kind == "warning",
                    "the offline warning")
        assert window.banner.text.text().startswith(f"Cannot reach the service at {url}.")
        assert window.connection_label.text().startswith("● Offline since ")
        assert window.isVisible()
