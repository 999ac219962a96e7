"""The bookings table: light rows fetched page by page as the view scrolls."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from app.domain.money import format_amount
from app.services.bookings import BookingPage, BookingRow
from app.ui.formatting import day_and_time
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.chips import CHIP_ROLE, PAYMENT_LABELS, status_label
from app.ui.widgets.row_table_model import RowTableModel

ID_ROLE = Qt.ItemDataRole.UserRole + 1
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        CHIP_ROLE,
        ID_ROLE,
    }
)

PageLoader = Callable[[str | None], Awaitable[BookingPage]]
Index = QModelIndex | QPersistentModelIndex


class Columns(IntEnum):
    NUMBER = 0
    CUSTOMER = 1
    ACTIVITY = 2
    WHEN = 3
    GUESTS = 4
    AMOUNT = 5
    STATUS = 6
    PAYMENT = 7
    ACTIONS = 8


HEADERS = {
    Columns.NUMBER: "Booking",
    Columns.CUSTOMER: "Customer",
    Columns.ACTIVITY: "Activity",
    Columns.WHEN: "Date / time",
    Columns.GUESTS: "Guests",
    Columns.AMOUNT: "Amount",
    Columns.STATUS: "Status",
    Columns.PAYMENT: "Payment",
    Columns.ACTIONS: "",
}


def guests_text(b: BookingRow) -> str:
    """``4``, or ``2 of 4`` while a party is arriving in parts."""
    if b.guests_arrived and b.guests_arrived < b.party_size:
        return f"{b.guests_arrived} of {b.party_size}"
    return str(b.party_size)


class BookingTableModel(RowTableModel[BookingRow]):
    """Rows of :class:`BookingRow`; more are fetched with the cursor when the view asks."""

    headers = tuple(HEADERS[c] for c in Columns)

    loading_changed = Signal(bool)

    def __init__(
        self, runner: TaskRunner, today: Callable[[], date], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._texts: dict[int, tuple[str, ...]] = {}
        self._next: str | None = None
        self._load: PageLoader | None = None
        self._today = today
        self._fetch = LatestOnly(runner)
        self._loading = False

    # Loading -----------------------------------------------------------------------------

    def reload(self, load: PageLoader) -> None:
        """Show what ``load`` returns from its first page on; a stale load is cancelled."""
        self._load = load
        self._fetch.run(self._first_page(load))

    def _set_loading(self, loading: bool) -> None:
        self._loading = loading
        self.loading_changed.emit(loading)

    async def _first_page(self, load: PageLoader) -> None:
        self._set_loading(True)
        try:
            page = await load(None)
        finally:
            self._set_loading(False)
        self.beginResetModel()
        self._rows = list(page.items)
        self._texts.clear()
        self._next = page.next_cursor
        self.endResetModel()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._next is not None and not self._fetch.running

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent) and self._load is not None:
            self._fetch.run(self._more(self._load, self._next))

    async def _more(self, load: PageLoader, cursor: str | None) -> None:
        self._set_loading(True)
        try:
            page = await load(cursor)
        finally:
            self._set_loading(False)
        if not page.items:
            self._next = None
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page.items) - 1)
        self._rows.extend(page.items)
        self._next = page.next_cursor
        self.endInsertRows()

    @property
    def loading(self) -> bool:
        """Whether a page is being fetched."""
        return self._loading

    @property
    def has_more(self) -> bool:
        """Whether more matching bookings wait to be fetched."""
        return self._next is not None

    # Rows --------------------------------------------------------------------------------

    def booking_at(self, row: int) -> BookingRow:
        return self._rows[row]

    def row_of(self, booking_id: uuid.UUID) -> int | None:
        for row, booking in enumerate(self._rows):
            if booking.id == booking_id:
                return row
        return None

    def update_booking(self, booking: BookingRow) -> None:
        """Show the new state of a booking already in the table (one row repainted)."""
        row = self.row_of(booking.id)
        if row is None:
            return
        self._rows[row] = booking
        self._texts.pop(row, None)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Columns) - 1))

    # Qt model ----------------------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Views ask for many roles per visible cell on every paint: unused roles return at
        # once, and a row's texts are formatted once, not on each paint.
        if role not in _ROLES or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            texts = self._texts.get(row)
            if texts is None:
                texts = self._texts[row] = self._format(self._rows[row])
            return texts[column]
        b = self._rows[row]
        if role == CHIP_ROLE:
            if column == Columns.STATUS:
                return f"status:{b.status.value}"
            if column == Columns.PAYMENT:
                return f"payment:{b.payment_status.value}"
        elif role == ID_ROLE:
            return b.id
        elif role == Qt.ItemDataRole.TextAlignmentRole:
            if column in (Columns.GUESTS, Columns.AMOUNT):
                return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        elif column == Columns.CUSTOMER:
            return "\n".join(filter(None, [b.customer_email, b.customer_phone]))
        elif column == Columns.AMOUNT and b.balance_due:
            return f"{format_amount(b.balance_due, b.currency)} due"
        elif column == Columns.ACTIONS:
            return "Actions for this booking"
        return None

    def _format(self, b: BookingRow) -> tuple[str, ...]:
        """The row's cell texts, in :class:`Columns` order."""

        return (
            b.booking_number,
            b.customer_name or (b.customer_email or ""),
            b.activity_name,
            day_and_time(b.booking_date, b.start_time, self._today()),
            guests_text(b),
            format_amount(b.total_amount, b.currency),
            status_label(b.status),
            PAYMENT_LABELS.get(b.payment_status.value, b.payment_status.value),
            "Actions ▾",
        )
