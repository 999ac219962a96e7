"""The login dialog: service URL, e-mail, password, and "remember me" in the keyring."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.api_client import ApiClient, ApiError, normalize_server_url
from app.services.auth import sign_in
from app.services.credentials import CredentialStore
from app.ui.settings import DeskSettings
from app.ui.tasks import LatestOnly, TaskRunner


class LoginDialog(QDialog):
    """Asks for credentials and signs in; :attr:`signed_in` carries the client and identity."""

    signed_in = Signal(object, object)  # ApiClient, Identity

    def __init__(
        self,
        settings: DeskSettings,
        credentials: CredentialStore,
        runner: TaskRunner,
        *,
        server_url: str | None = None,
        message: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in — BookingTMS Desk")
        self.setObjectName("loginDialog")
        self.setMinimumWidth(420)
        self._settings = settings
        self._credentials = credentials
        self._signing_in = LatestOnly(runner)

        heading = QLabel("BookingTMS Desk")
        heading.setObjectName("pageTitle")
        self.message = QLabel()
        self.message.setObjectName("formError")
        self.message.setWordWrap(True)
        self.server = QLineEdit(server_url or settings.server_url)
        self.server.setPlaceholderText("http://127.0.0.1:8000")
        self.email = QLineEdit(settings.last_email)
        self.email.setPlaceholderText("you@venue.com")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember me on this computer")
        self.keyring_notice = QLabel()
        self.keyring_notice.setObjectName("notice")
        self.keyring_notice.setWordWrap(True)
        if credentials.available:
            self.remember.setChecked(settings.remember)
            self.keyring_notice.hide()
        else:
            self.remember.setChecked(False)
            self.remember.setEnabled(False)
            reason = credentials.unavailable_reason or ""
            self.remember.setToolTip(reason)
            self.keyring_notice.setText(reason)

        form = QFormLayout()
        form.addRow("Service:", self.server)
        form.addRow("Email:", self.email)
        form.addRow("Password:", self.password)
        form.addRow("", self.remember)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("primary")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self.submit)
        quit_button = QPushButton("Quit")
        quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(quit_button)
        buttons.addWidget(self.sign_in_button)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(self.keyring_notice)
        layout.addLayout(buttons)
        self.show_message(message or "")
        (self.password if self.email.text() else self.email).setFocus()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    @property
    def busy(self) -> bool:
        return self._signing_in.running

    def submit(self) -> None:
        """Sign in with what is typed."""
        server = normalize_server_url(self.server.text())
        email = self.email.text().strip()
        if not server or not email or not self.password.text():
            self.show_message("Enter the service address, your email and your password.")
            return
        self.sign_in_button.setEnabled(False)
        self.sign_in_button.setText("Signing in…")
        self.show_message("")
        self._signing_in.run(self._sign_in(server, email, self.password.text()))

    async def _sign_in(self, server: str, email: str, password: str) -> None:
        client = ApiClient(server)
        try:
            identity, token = await sign_in(client, email, password)
        except ApiError as exc:
            await client.aclose()
            self.show_message(str(exc))
            self.password.selectAll()
            self.password.setFocus()
            return
        finally:
            self.sign_in_button.setEnabled(True)
            self.sign_in_button.setText("Sign in")
        remember = self.remember.isChecked()
        self._settings.server_url = server
        self._settings.last_email = email
        self._settings.remember = remember
        # The OS keyring may block (D-Bus, an unlock prompt): never on the GUI thread.
        if remember:
            await asyncio.to_thread(self._credentials.save, server, email, token)
        else:
            await asyncio.to_thread(self._credentials.delete, server, email)
        self.password.clear()
        self.signed_in.emit(client, identity)
