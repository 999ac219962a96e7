"""Starting the desk: QApplication on a qasync loop, sign-in, the main window, and back to
the login when the session ends."""

from __future__ import annotations

import asyncio
import logging
import sys

import qasync
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from app.services.api_client import ApiClient, ApiError, ServiceUnavailable, SessionExpired
from app.services.auth import Identity, sign_in, sign_out, who_am_i
from app.services.credentials import CredentialStore
from app.services.desk import CacheTooNew, DeskServices
from app.ui.login.dialog import LoginDialog
from app.ui.main_window import MainWindow
from app.ui.resources import style_sheet
from app.ui.settings import DeskSettings
from app.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

SAVED_SIGN_IN_EXPIRED = "Your saved sign-in has expired. Please sign in again."


class DeskApp(QObject):
    """Moves between the login dialog and the main window for one desk process."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        settings: DeskSettings,
        credentials: CredentialStore,
        server_url: str | None = None,
    ) -> None:
        super().__init__()
        self.loop = loop
        self.settings = settings
        self.credentials = credentials
        self.server_url = server_url
        self.runner = TaskRunner(loop, self._unexpected)
        self.login_dialog: LoginDialog | None = None
        self.window: MainWindow | None = None

    def start(self, email: str | None = None, password: str | None = None) -> None:
        """Sign in with ``email``/``password`` when given, else with a remembered token,
        else ask."""
        if email and password:
            self.runner.spawn(self._sign_in_directly(email, password))
        else:
            self.runner.spawn(self._resume())

    def _server(self) -> str:
        return self.server_url or self.settings.server_url

    async def _sign_in_directly(self, email: str, password: str) -> None:
        client = ApiClient(self._server())
        try:
            identity, _ = await sign_in(client, email, password)
        except ApiError as exc:
            await client.aclose()
            self.show_login(str(exc))
            return
        self._open(client, identity)

    async def _resume(self) -> None:
        server, email = self._server(), self.settings.last_email
        token = None
        if email and self.settings.remember:
            # The OS keyring may block (D-Bus, an unlock prompt): never on the GUI thread.
            token = await asyncio.to_thread(self.credentials.load, server, email)
        if token is None:
            self.show_login()
            return
        client = ApiClient(server, token=token)
        try:
            identity = await who_am_i(client)
        except SessionExpired:
            await asyncio.to_thread(self.credentials.delete, server, email)
            message = SAVED_SIGN_IN_EXPIRED
        except ServiceUnavailable as exc:
            message = str(exc)
        else:
            self._open(client, identity)
            return
        await client.aclose()
        self.show_login(message)

    def show_login(self, message: str | None = None) -> None:
        """Ask for credentials, showing ``message`` (why we are asking again) if any."""
        dialog = LoginDialog(
            self.settings,
            self.credentials,
            TaskRunner(self.loop, self._unexpected),
            server_url=self.server_url,
            message=message,
        )
        dialog.signed_in.connect(self._open)
        dialog.show()
        self._close_login()
        self.login_dialog = dialog

    def _close_login(self) -> None:
        # Deleted by Qt on the GUI thread, rather than whenever and wherever the garbage
        # collector happens to release the last Python reference.
        dialog, self.login_dialog = self.login_dialog, None
        if dialog is not None:
            dialog.close()
            dialog.deleteLater()

    def _open(self, client: ApiClient, identity: Identity) -> None:
        try:
            services = DeskServices.over(client, identity)
        except CacheTooNew as exc:  # a newer desk used this computer: its queue is kept
            self.runner.spawn(client.aclose())
            self.show_login(str(exc))
            return
        # The new window is shown before the old one closes, or Qt would quit in between.
        window = MainWindow(services, self.settings, TaskRunner(self.loop, self._unexpected))
        window.session_expired.connect(self._session_expired)
        window.sign_out_requested.connect(self._sign_out)
        window.show()
        self._close_login()
        self.window = window

    def _close_window(self) -> DeskServices | None:
        window, self.window = self.window, None
        if window is None:
            return None
        window.close()
        window.deleteLater()
        return window.services

    def _forget_token(self, server_url: str) -> None:
        self.runner.spawn(
            asyncio.to_thread(self.credentials.delete, server_url, self.settings.last_email)
        )

    def _session_expired(self, message: str) -> None:
        if self.window is None:
            return
        self._forget_token(self.window.services.client.server_url)
        self.show_login(message)
        services = self._close_window()
        if services is not None:
            self.runner.spawn(services.aclose())

    def _sign_out(self) -> None:
        if self.window is None:
            return
        self._forget_token(self.window.services.client.server_url)
        self.show_login()
        services = self._close_window()
        if services is not None:
            self.runner.spawn(self._revoke(services))

    async def _revoke(self, services: DeskServices) -> None:
        try:
            await sign_out(services.client)
        except ApiError as exc:
            log.info("sign-out not confirmed by the service: %s", exc)
        finally:
            await services.aclose()

    def _unexpected(self, exc: BaseException) -> None:
        log.error("unexpected error in the desk", exc_info=exc)


def run_desk(
    server_url: str | None = None, *, email: str | None = None, password: str | None = None
) -> int:
    """Run the desk until its last window closes; signs in at once with ``email`` and
    ``password`` when both are given (the demo), otherwise asks or uses a remembered token."""
    loop = qt_event_loop()
    desk = DeskApp(loop, DeskSettings(), CredentialStore(), server_url)
    desk.start(email, password)
    with loop:
        loop.run_forever()
    return 0


def qt_event_loop() -> qasync.QEventLoop:
    """The desk's QApplication, styled, and an asyncio loop running on Qt's (qasync)."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("BookingTMS Desk")
    app.setOrganizationName("BookingTMS")
    app.setStyleSheet(style_sheet())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return loop
