"""The signed-in desk: sidebar of pages, message banner, and a status bar saying who,
whether the service is reachable, what waits to be sent and what needs attention."""

from __future__ import annotations

import logging
import uuid
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
from app.sync.engine import CacheChanged, SyncStatus
from app.ui.bookings.view import BookingsPage
from app.ui.checkin.view import CheckInPage
from app.ui.context import DeskContext
from app.ui.customers.view import CustomersPage
from app.ui.outbox.view import OutboxPage
from app.ui.resources import icon
from app.ui.settings import DeskSettings
from app.ui.sync.attention import AttentionPage
from app.ui.sync.bridge import SyncBridge
from app.ui.sync.first_sync import FirstSyncDialog
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.banner import MessageBanner

log = logging.getLogger(__name__)

PING_OFFLINE_MS = 5_000
PING_ONLINE_MS = 30_000
SESSION_EXPIRED = "Your session has expired. Please sign in again."
CACHE_CHANGES_MS = 150  # changes from the sync are shown in batches at most this often

Page = BookingsPage | CheckInPage | CustomersPage | OutboxPage | AttentionPage


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
        self.sync_bridge = SyncBridge(services.sync, self)
        self.attention = AttentionPage(context, self.sync_bridge)
        self.attention.open_booking.connect(self.open_booking)
        self.pages["attention"] = self.attention
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
        self.waiting_label = QLabel()
        self.waiting_label.setObjectName("waiting")
        self.waiting_label.setToolTip("Done at this desk, not yet confirmed by the service")
        self.conflicts_button = QPushButton()
        self.conflicts_button.setObjectName("conflicts")
        self.conflicts_button.setFlat(True)
        self.conflicts_button.clicked.connect(lambda: self.show_page("attention"))
        bar = self.statusBar()
        for widget in (self.user_label, self.role_label, self.org_label):
            bar.addWidget(widget)
        bar.addPermanentWidget(self.waiting_label)
        bar.addPermanentWidget(self.conflicts_button)
        bar.addPermanentWidget(self.connection_label)
        self._sync_status: SyncStatus | None = None
        self._show_sync(services.sync.status)
        services.client.add_connection_listener(self._connection_changed)
        self.sync_bridge.status_changed.connect(self._show_sync)
        self._changes = CacheChanged()
        self._changes_timer = QTimer(self, singleShot=True, interval=CACHE_CHANGES_MS)
        self._changes_timer.timeout.connect(self._dispatch_changes)
        self.sync_bridge.cache_changed.connect(self._cache_changed)
        self.first_sync: FirstSyncDialog | None = None
        if not services.sync.status.first_sync_done:
            self.first_sync = FirstSyncDialog(self.sync_bridge, identity.organization_name, self)
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
        services.start(runner.loop)

    def _side_panel(self) -> QWidget:
        titles = {
            "bookings": "Bookings",
            "checkin": "Check-in",
            "customers": "Customers",
            "outbox": "Outbox",
            "attention": "Needs attention",
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
        """Switch to the page ``bookings``, ``checkin``, ``customers``, ``outbox`` or
        ``attention``."""
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
        self._ping_timer.setInterval(PING_ONLINE_MS if online else PING_OFFLINE_MS)

    def _show_sync(self, status: SyncStatus) -> None:
        """The status bar: online / offline since HH:MM, actions waiting, conflicts."""
        before, self._sync_status = self._sync_status, status
        if status.signed_out:
            self.session_expired.emit(SESSION_EXPIRED)
        url = self.services.client.server_url
        if status.online is False:
            since = (status.offline_since or datetime.now().astimezone()).astimezone()
            text, state = f"● Offline since {since:%H:%M}", "offline"
            if before is None or before.online is not False:
                self.banner.show_message(
                    f"Cannot reach the service at {url}. The desk keeps working from its "
                    "own copy; check-ins wait here and are sent when it is back.",
                    "warning",
                )
        else:
            text, state = "● Online", "online"
            if before is not None and before.online is False and self.banner.kind == "warning":
                self.banner.show_message("Connected to the service again.", "info")
        self.connection_label.setText(text)
        self.connection_label.setToolTip(url)
        self.connection_label.setProperty("state", state)
        self.connection_label.style().unpolish(self.connection_label)
        self.connection_label.style().polish(self.connection_label)
        waiting = status.waiting
        self.waiting_label.setText(f"{waiting} action{'s' if waiting != 1 else ''} waiting")
        self.waiting_label.setVisible(waiting > 0)
        conflicts = status.conflicts
        self.conflicts_button.setText(f"{conflicts} conflict{'s' if conflicts != 1 else ''}")
        self.conflicts_button.setToolTip("Open the Needs attention list")
        self.conflicts_button.setVisible(conflicts > 0)
        row = list(self.pages).index("attention")
        item = self.sidebar.item(row)
        if item is not None:
            item.setText(f"Needs attention ({conflicts})" if conflicts else "Needs attention")

    # Changes from the sync ---------------------------------------------------------------

    def _cache_changed(self, change: CacheChanged) -> None:
        pending = self._changes
        self._changes = CacheChanged(
            bookings=pending.bookings | change.bookings,
            customers=pending.customers | change.customers,
            catalog=pending.catalog or change.catalog,
        )
        if not self._changes_timer.isActive():
            self._changes_timer.start()

    def _dispatch_changes(self) -> None:
        change, self._changes = self._changes, CacheChanged()
        bookings = self.pages["bookings"]
        checkin = self.pages["checkin"]
        customers = self.pages["customers"]
        assert isinstance(bookings, BookingsPage)
        assert isinstance(checkin, CheckInPage)
        assert isinstance(customers, CustomersPage)
        bookings.sync_changed(change.bookings, change.catalog)
        if change.bookings:
            checkin.sync_changed()
        if change.customers or change.bookings:
            customers.sync_changed(change.customers)

    def open_booking(self, booking_id: uuid.UUID) -> None:
        """Show ``booking_id`` on the Bookings page."""
        self.show_page("bookings")
        page = self.pages["bookings"]
        assert isinstance(page, BookingsPage)
        page.show_booking(booking_id)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.window_geometry = self.saveGeometry()
        self.settings.last_page = self.current_page
        self.settings.sync()
        self._ping_timer.stop()
        self._changes_timer.stop()
        self.sync_bridge.detach()
        self.runner.cancel_all()
        # The queue stays in the cache file; the next sign-in sends what is left.
        self.runner.loop.create_task(self.services.sync.stop())
        super().closeEvent(event)
