"""The "Needs attention" page: actions taken at this desk that the service did not apply
as asked (refused, or already done by someone else), each with the reason and the booking.

The bookings themselves already show what the service has; an entry stays until someone
has dealt with it and dismisses it.
"""

from __future__ import annotations

import uuid

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.sync.conflicts import Conflict
from app.sync.engine import SyncStatus
from app.ui.context import DeskContext
from app.ui.formatting import local_datetime
from app.ui.sync.bridge import SyncBridge
from app.ui.tasks import LatestOnly

ID_ROLE = Qt.ItemDataRole.UserRole + 1
OUTCOMES = {"rejected": "Refused", "already_done": "Already done"}


class AttentionPage(QWidget):
    """The list, newest first; Enter opens the booking, Delete dismisses the entry."""

    open_booking = Signal(uuid.UUID)

    def __init__(self, context: DeskContext, bridge: SyncBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self._services = context.services
        self._load = LatestOnly(context.runner)
        self._dismiss = LatestOnly(context.runner)
        self._count: int | None = None
        self.entries: list[Conflict] = []

        title = QLabel("Needs attention")
        title.setObjectName("pageTitle")
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.open_button = QPushButton("Open booking")
        self.open_button.clicked.connect(self._open_current)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setToolTip("Dealt with: take it off the list (Delete)")
        self.dismiss_button.clicked.connect(self._dismiss_current)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(16)
        header.addWidget(self.summary, 1)
        header.addWidget(self.open_button)
        header.addWidget(self.dismiss_button)

        self.list = QTreeWidget()
        self.list.setObjectName("attention")
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setHeaderLabels(["When", "Booking", "Customer", "", "What happened"])
        head = self.list.header()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setStretchLastSection(True)
        self.list.setWordWrap(True)
        self.list.itemActivated.connect(lambda item, _c: self._open(item))
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 8)
        layout.addLayout(header)
        layout.addWidget(self.list, 1)
        QShortcut(QKeySequence.StandardKey.Delete, self.list, self._dismiss_current)
        bridge.status_changed.connect(self._status_changed)
        self._update_buttons()

    def activate(self) -> None:
        self.refresh()

    @property
    def busy(self) -> bool:
        return self._load.running or self._dismiss.running

    def _status_changed(self, status: SyncStatus) -> None:
        if status.conflicts != self._count:
            self._count = status.conflicts
            self.refresh()

    def refresh(self) -> None:
        """Reload the list from the desk's cache."""
        self._load.run(self._reload())

    async def _reload(self) -> None:
        self._render(await self._services.needs_attention())

    def _render(self, entries: list[Conflict]) -> None:
        current = self.list.currentItem()
        keep = current.data(0, ID_ROLE) if current else None
        self.entries = entries
        self.list.clear()
        today = self._services.today()
        timezone = self._services.identity.timezone
        for entry in entries:
            item = QTreeWidgetItem(
                [
                    local_datetime(entry.happened_at, timezone, today),
                    entry.booking_number,
                    entry.customer_name,
                    OUTCOMES.get(entry.outcome, entry.outcome),
                    entry.sentence,
                ]
            )
            item.setData(0, ID_ROLE, entry.id)
            item.setToolTip(4, entry.sentence)
            self.list.addTopLevelItem(item)
            if entry.id == keep:
                self.list.setCurrentItem(item)
        self.summary.setText(
            f"{len(entries)} action{'s' if len(entries) != 1 else ''} the service did not "
            "apply as this desk asked. The bookings show what the service has."
            if entries
            else "Nothing needs attention: the service applied everything this desk sent."
        )
        self._update_buttons()

    def _entry(self, item: QTreeWidgetItem | None) -> Conflict | None:
        if item is None:
            return None
        wanted = item.data(0, ID_ROLE)
        return next((e for e in self.entries if e.id == wanted), None)

    def _update_buttons(self) -> None:
        chosen = self._entry(self.list.currentItem()) is not None
        self.open_button.setEnabled(chosen)
        self.dismiss_button.setEnabled(chosen)

    def _open(self, item: QTreeWidgetItem | None) -> None:
        entry = self._entry(item)
        if entry is not None:
            self.open_booking.emit(uuid.UUID(entry.booking_id))

    def _open_current(self) -> None:
        self._open(self.list.currentItem())

    def _dismiss_current(self) -> None:
        entry = self._entry(self.list.currentItem())
        if entry is not None:
            self._dismiss.run(self._services.dismiss(entry.id))
