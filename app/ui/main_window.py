"""The signed-in desk: sidebar of pages, message banner, and a status bar saying who and
whether the service is reachable."""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.roles import Role
from app.services.api_client import ApiError, ServiceUnavailable, SessionExpired
from app.services.desk import DeskServices
from app.ui.bookings.view import BookingsPage
from app.ui.checkin.view import CheckInPage
from app.ui.context import DeskContext
from app.ui.customers.view import CustomersPage
from app.ui.outbox.view import OutboxPage
from app.ui.resources import icon
from app.ui.settings import DeskSettings
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.banner import MessageBanner

log = logging.getLogger(__name__)

PING_OFFLINE_MS = 5_000
PING_ONLINE_MS = 30_000
SESSION_EXPIRED = "Your session has expired. Please sign in again."

Page = BookingsPage | CheckInPage | CustomersPage | OutboxPage


class MainWindow(QMainWindow):
    """Pages in a sidebar; every failure of a page ends up in :meth:`handle_error`."""

    session_expired = Signal(str)
    sign_out_requested = Signal()

    def __init__(self, services: DeskServices, settings: DeskSettings, runner: TaskRunner) -> None:
        super().__init__()
        self.services = services
        self.settings = settings
        self.runner = runner
        runner.on_error = self.handle_error
        identity = services.identity
        self.setWindowTitle(f"BookingTMS Desk — {identity.organization_name}")
        self.setMinimumSize(QSize(1100, 700))

        self.banner = MessageBanner()
        context = DeskContext(services, runner, settings, self.banner.show_message)
        self.pages: dict[str, Page] = {
            "bookings": BookingsPage(context),
            "checkin": CheckInPage(context),
            "customers": CustomersPage(context),
        }
        if identity.role.at_least(Role.MANAGER):  # the service refuses the others anyway
            self.pages["outbox"] = OutboxPage(context)
        self.stack = QStackedWidget()
        self.sidebar = QListWidget()
        central = QWidget()
        body = QHBoxLayout(central)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self._side_panel())
        body.addWidget(self._content(), 1)
        self.setCentralWidget(central)

        self.user_label = QLabel(identity.name)
        self.role_label = QLabel(identity.role.label)
        self.org_label = QLabel(identity.organization_name)
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connection")
        bar = self.statusBar()
        for widget in (self.user_label, self.role_label, self.org_label):
            bar.addWidget(widget)
        bar.addPermanentWidget(self.connection_label)
        self._offline_since: datetime | None = None
        self._show_connection(True)
        services.client.add_connection_listener(self._connection_changed)
        self._ping = LatestOnly(runner)
        self._ping_timer = QTimer(self)
        self._ping_timer.setInterval(PING_ONLINE_MS)
        self._ping_timer.timeout.connect(lambda: self._ping.run(services.client.ping()))
        self._ping_timer.start()

        geometry = settings.window_geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 820)
        self.show_page(settings.last_page)

    def _side_panel(self) -> QWidget:
        titles = {
            "bookings": "Bookings",
            "checkin": "Check-in",
            "customers": "Customers",
            "outbox": "Outbox",
        }
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(20, 20))
        for key, page in self.pages.items():
            self.sidebar.addItem(QListWidgetItem(icon(key), titles[key]))
            self.stack.addWidget(page)
        self.sidebar.currentRowChanged.connect(self._page_chosen)
        brand = QLabel("BookingTMS")
        brand.setObjectName("brand")
        sign_out = QPushButton("Sign out")
        sign_out.setObjectName("sidebarButton")
        sign_out.clicked.connect(self.sign_out_requested.emit)
        side = QWidget()
        side.setObjectName("sidePanel")
        side.setFixedWidth(200)
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 12, 0, 12)
        layout.addWidget(brand)
        layout.addWidget(self.sidebar, 1)
        layout.addWidget(sign_out)
        return side

    def _content(self) -> QWidget:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        return content

    # Pages -------------------------------------------------------------------------------

    @property
    def current_page(self) -> str:
        return list(self.pages)[self.stack.currentIndex()]

    def show_page(self, key: str) -> None:
        """Switch to the page ``bookings``, ``checkin`` or ``customers``."""
        keys = list(self.pages)
        self.sidebar.setCurrentRow(keys.index(key) if key in keys else 0)

    def _page_chosen(self, row: int) -> None:
        if row < 0:
            return
        key = list(self.pages)[row]
        self.stack.setCurrentIndex(row)
        self.settings.last_page = key
        self.pages[key].activate()

    # Errors and connection ---------------------------------------------------------------

    def handle_error(self, exc: BaseException) -> None:
        """Turn a failure into something a person can read; never a traceback."""
        if isinstance(exc, SessionExpired):
            self.session_expired.emit(SESSION_EXPIRED)
        elif isinstance(exc, ServiceUnavailable):
            self.banner.show_message(f"{exc} The desk keeps trying.", "warning")
        elif isinstance(exc, ApiError):
            self.banner.show_message(str(exc), "error")
        else:
            log.error("unexpected error in the desk", exc_info=exc)
            self.banner.show_message(
                f"Something went wrong ({type(exc).__name__}: {exc}). Details are in the log.",
                "error",
            )

    def _connection_changed(self, online: bool) -> None:
        self._show_connection(online)
        self._ping_timer.setInterval(PING_ONLINE_MS if online else PING_OFFLINE_MS)
        if online and self.banner.kind == "warning":
            self.banner.show_message("Connected to the service again.", "info")

    def _show_connection(self, online: bool) -> None:
        if online:
            self._offline_since = None
            text, state = "● Online", "online"
        else:
            self._offline_since = self._offline_since or datetime.now()
            text, state = f"● Disconnected since {self._offline_since:%H:%M}", "offline"
        self.connection_label.setText(text)
        self.connection_label.setToolTip(self.services.client.server_url)
        self.connection_label.setProperty("state", state)
        self.connection_label.style().unpolish(self.connection_label)
        self.connection_label.style().polish(self.connection_label)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.window_geometry = self.saveGeometry()
        self.settings.last_page = self.current_page
        self.settings.sync()
        self._ping_timer.stop()
        self.runner.cancel_all()
        super().closeEvent(event)
