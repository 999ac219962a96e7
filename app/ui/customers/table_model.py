"""The customers table: light rows fetched a page at a time as the view scrolls."""

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
from app.services.customers import CustomerPage, CustomerRow
from app.ui.formatting import short_date
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.chips import CHIP_ROLE, CUSTOMER_STATUS_LABELS, SEGMENT_LABELS
from app.ui.widgets.row_table_model import RowTableModel

PageLoader = Callable[[int], Awaitable[CustomerPage]]
Index = QModelIndex | QPersistentModelIndex


class Columns(IntEnum):
    NAME = 0
    EMAIL = 1
    BOOKINGS = 2
    SPENT = 3
    SEGMENT = 4
    LAST_BOOKING = 5
    STATUS = 6


HEADERS = {
    Columns.NAME: "Name",
    Columns.EMAIL: "Email",
    Columns.BOOKINGS: "Bookings",
    Columns.SPENT: "Spent",
    Columns.SEGMENT: "Segment",
    Columns.LAST_BOOKING: "Last booking",
    Columns.STATUS: "Status",
}


class CustomerTableModel(RowTableModel[CustomerRow]):
    """Rows of :class:`CustomerRow`; :attr:`page_loaded` reports each first page."""

    headers = tuple(HEADERS[c] for c in Columns)

    page_loaded = Signal(object)  # CustomerPage

    def __init__(
        self,
        runner: TaskRunner,
        currency: str,
        today: Callable[[], date],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._total = 0
        self._load: PageLoader | None = None
        self._fetch = LatestOnly(runner)
        self._currency = currency
        self._today = today

    def reload(self, load: PageLoader) -> None:
        """Show what ``load`` returns from offset 0; a stale load is cancelled."""
        self._load = load
        self._fetch.run(self._first_page(load))

    async def _first_page(self, load: PageLoader) -> None:
        page = await load(0)
        self.beginResetModel()
        self._rows = list(page.items)
        self._total = page.total
        self.endResetModel()
        self.page_loaded.emit(page)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total and not self._fetch.running

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent) and self._load is not None:
            self._fetch.run(self._more(self._load, len(self._rows)))

    async def _more(self, load: PageLoader, offset: int) -> None:
        page = await load(offset)
        if not page.items:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(page.items) - 1)
        self._rows.extend(page.items)
        self._total = page.total
        self.endInsertRows()

    @property
    def loading(self) -> bool:
        return self._fetch.running

    @property
    def total(self) -> int:
        """How many customers match, fetched or not."""
        return self._total

    def customer_at(self, row: int) -> CustomerRow:
        return self._rows[row]

    def row_of(self, customer_id: uuid.UUID) -> int | None:
        return next((i for i, c in enumerate(self._rows) if c.id == customer_id), None)

    def update_customer(self, customer: CustomerRow) -> None:
        """Show the saved state of a customer already in the table."""

        row = self.row_of(customer.id)
        if row is not None:
            self._rows[row] = customer
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Columns) - 1))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        c = self._rows[index.row()]
        column = Columns(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            match column:
                case Columns.NAME:
                    return c.name
                case Columns.EMAIL:
                    return c.email
                case Columns.BOOKINGS:
                    return str(c.total_bookings)
                case Columns.SPENT:
                    return format_amount(c.total_spent, self._currency)
                case Columns.SEGMENT:
                    return SEGMENT_LABELS[c.segment.value]
                case Columns.LAST_BOOKING:
                    return short_date(c.last_booking_date, self._today())
                case Columns.STATUS:
                    return CUSTOMER_STATUS_LABELS.get(c.status, c.status)
        if role == CHIP_ROLE:
            if column is Columns.SEGMENT:
                return f"segment:{c.segment.value}"
            if column is Columns.STATUS:
                return f"customer:{c.status}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
            Columns.BOOKINGS,
            Columns.SPENT,
        ):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole and column is Columns.NAME and c.phone:
            return c.phone
        return None
