"""The outbox table: light message rows, a page at a time as the view scrolls."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from app.services.outbox import CHANNEL_LABELS, MessagePage, OutboxMessage
from app.ui.formatting import local_datetime
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.chips import CHIP_ROLE
from app.ui.widgets.row_table_model import RowTableModel

PageLoader = Callable[[str | None], Awaitable[MessagePage]]
Index = QModelIndex | QPersistentModelIndex

# Colours of the shared chip palette, borrowed by meaning: done, waiting, wrong, dropped.
CHIP_KEYS = {
    "sent": "payment:paid",
    "pending": "payment:unpaid",
    "sending": "status:confirmed",
    "failed": "payment:failed",
    "cancelled": "status:expired",
}


class Columns(IntEnum):
    WHEN = 0
    BOOKING = 1
    MESSAGE = 2
    CHANNEL = 3
    TO = 4
    STATUS = 5
    ATTEMPTS = 6
    ERROR = 7


HEADERS = {
    Columns.WHEN: "When",
    Columns.BOOKING: "Booking",
    Columns.MESSAGE: "Message",
    Columns.CHANNEL: "Channel",
    Columns.TO: "To",
    Columns.STATUS: "Status",
    Columns.ATTEMPTS: "Attempts",
    Columns.ERROR: "Error",
}


class OutboxTableModel(RowTableModel[OutboxMessage]):
    """Rows of :class:`OutboxMessage`; :attr:`page_loaded` reports each first page."""

    headers = tuple(HEADERS[c] for c in Columns)

    page_loaded = Signal(object)  # MessagePage

    def __init__(
        self,
        runner: TaskRunner,
        timezone: str,
        today: Callable[[], date],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._load: PageLoader | None = None
        self._next: str | None = None
        self._fetch = LatestOnly(runner)
        self._timezone = timezone
        self._today = today

    def reload(self, load: PageLoader) -> None:
        """Show what ``load`` returns from the start; a stale load is cancelled."""
        self._load = load
        self._fetch.run(self._first_page(load))

    async def _first_page(self, load: PageLoader) -> None:
        page = await load(None)
        self.beginResetModel()
        self._rows = list(page.items)
        self._next = page.next_cursor
        self.endResetModel()
        self.page_loaded.emit(page)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._next is not None and not self._fetch.running

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent) and self._load is not None:
            self._fetch.run(self._more(self._load, self._next))

    async def _more(self, load: PageLoader, cursor: str | None) -> None:
        page = await load(cursor)
        self._next = page.next_cursor
        if page.items:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page.items) - 1)
            self._rows.extend(page.items)
            self.endInsertRows()

    @property
    def loading(self) -> bool:
        return self._fetch.running

    def message_at(self, row: int) -> OutboxMessage:
        return self._rows[row]

    def row_of(self, message_id: uuid.UUID) -> int | None:
        return next((i for i, m in enumerate(self._rows) if m.id == message_id), None)

    def update_message(self, message: OutboxMessage) -> None:
        """Show the new state of a message already in the table."""
        row = self.row_of(message.id)
        if row is not None:
            self._rows[row] = message
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Columns) - 1))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m = self._rows[index.row()]
        column = Columns(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            match column:
                case Columns.WHEN:
                    moment = m.sent_at or (m.send_after if m.status == "pending" else m.created_at)
                    return local_datetime(moment, self._timezone, self._today())
                case Columns.BOOKING:
                    return m.booking_number or "–"
                case Columns.MESSAGE:
                    return m.subject or m.template_label
                case Columns.CHANNEL:
                    return CHANNEL_LABELS.get(m.channel, m.channel)
                case Columns.TO:
                    return m.recipient
                case Columns.STATUS:
                    return m.status_label
                case Columns.ATTEMPTS:
                    return str(m.attempts)
                case Columns.ERROR:
                    return (m.last_error or "").splitlines()[0] if m.last_error else ""
        if role == CHIP_ROLE and column is Columns.STATUS:
            return CHIP_KEYS.get(m.status, "status:expired")
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Columns.ERROR and m.last_error:
                return m.last_error
            if column is Columns.MESSAGE:
                return m.template_label
            if column is Columns.WHEN and m.status == "pending":
                return "Due to be sent at this time"
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Columns.ATTEMPTS:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None
