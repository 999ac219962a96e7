"""The desk's remembered settings in one typed place (QSettings underneath)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"


class DeskSettings:
    """Server, last e-mail, window geometry, last page and view choices. No secrets."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store or QSettings("BookingTMS", "Desk")

    def _text(self, key: str, default: str = "") -> str:
        value = self._store.value(key, default)
        return value if isinstance(value, str) else default

    @property
    def server_url(self) -> str:
        """The service URL last signed in to."""
        return self._text("login/server_url", DEFAULT_SERVER_URL)

    @server_url.setter
    def server_url(self, value: str) -> None:
        self._store.setValue("login/server_url", value)

    @property
    def last_email(self) -> str:
        """The e-mail address last signed in with."""
        return self._text("login/email")

    @last_email.setter
    def last_email(self, value: str) -> None:
        self._store.setValue("login/email", value)

    @property
    def remember(self) -> bool:
        """Whether the last sign-in asked to be remembered."""
        return self._text("login/remember", "false") == "true"

    @remember.setter
    def remember(self, value: bool) -> None:
        self._store.setValue("login/remember", "true" if value else "false")

    @property
    def window_geometry(self) -> QByteArray | None:
        value = self._store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    @window_geometry.setter
    def window_geometry(self, value: QByteArray) -> None:
        self._store.setValue("window/geometry", value)

    @property
    def last_page(self) -> str:
        """Key of the page shown when the desk last closed."""
        return self._text("window/page", "bookings")

    @last_page.setter
    def last_page(self, value: str) -> None:
        self._store.setValue("window/page", value)

    @property
    def bookings_view(self) -> str:
        """``table`` or ``calendar``."""
        return self._text("bookings/view", "table")

    @bookings_view.setter
    def bookings_view(self, value: str) -> None:
        self._store.setValue("bookings/view", value)

    def sync(self) -> None:
        self._store.sync()
