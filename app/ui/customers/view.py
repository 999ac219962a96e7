"""The Customers page (the seed's layout): segment cards, search and filters, the table,
and the detail panel with history and edits."""

from __future__ import annotations

import uuid

from PySide6.QtCore import QModelIndex
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.domain.segmentation import Segment
from app.services.api_client import ApiError
from app.services.customers import (
    STATUSES,
    CustomerChanges,
    CustomerPage,
    CustomerSearch,
)
from app.ui.context import DeskContext
from app.ui.customers.detail import CustomerDetailPanel
from app.ui.customers.table_model import Columns, CustomerTableModel
from app.ui.tasks import LatestOnly
from app.ui.widgets.chips import CUSTOMER_STATUS_LABELS, SEGMENT_LABELS, ChipDelegate
from app.ui.widgets.row_table_view import row_table_view
from app.ui.widgets.search_field import SearchField
from app.ui.widgets.stat_card import StatCard

# The seed's five cards; churned customers are counted in Total and found by the filter.
CARDS: tuple[tuple[str, Segment | None], ...] = (
    ("Total", None),
    ("Active", Segment.ACTIVE),
    ("VIP", Segment.VIP),
    ("At-Risk", Segment.AT_RISK),
    ("New", Segment.NEW),
)


SYNC_PATCH_UP_TO = 500  # more changed customers than this: reload rather than patch rows


class CustomersPage(QWidget):
    """Find customers, see their value and history, keep their details and notes."""

    def __init__(self, context: DeskContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._services = context.services
        self._detail_load = LatestOnly(context.runner)
        self._save = LatestOnly(context.runner)
        self._started = False
        currency = self._services.identity.currency

        title = QLabel("Customers")
        title.setObjectName("pageTitle")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(16)
        self.cards: dict[Segment | None, StatCard] = {}
        for caption, segment in CARDS:
            card = StatCard(caption)
            card.setToolTip(f"Show {caption.lower()} customers" if segment else "Show everyone")
            card.clicked.connect(lambda s=segment: self.set_segment(s))
            self.cards[segment] = card
            header.addWidget(card)
        header.addStretch(1)

        self.search = SearchField("Search name, email, phone…")
        self.search.search.connect(lambda _: self.reload())
        self.segment = QComboBox()
        self.segment.setAccessibleName("Segment")
        self.segment.addItem("All segments", None)
        for segment in Segment:
            self.segment.addItem(SEGMENT_LABELS[segment.value], segment.value)
        self.segment.currentIndexChanged.connect(lambda _: self.reload())
        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        self.status.addItem("Any status", None)
        for status in STATUSES:
            self.status.addItem(CUSTOMER_STATUS_LABELS[status], status)
        self.status.currentIndexChanged.connect(lambda _: self.reload())
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.segment)
        filters.addWidget(self.status)

        self.model = CustomerTableModel(context.runner, currency, self._services.today, self)
        self.model.page_loaded.connect(self._page_loaded)
        self.table = row_table_view(self.model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in (
            (Columns.NAME, 170),
            (Columns.EMAIL, 220),
            (Columns.BOOKINGS, 80),
            (Columns.SPENT, 100),
            (Columns.SEGMENT, 100),
            (Columns.LAST_BOOKING, 120),
            (Columns.STATUS, 100),
        ):
            self.table.setColumnWidth(column, width)
        chips = ChipDelegate(self.table)
        self.table.setItemDelegateForColumn(Columns.SEGMENT, chips)
        self.table.setItemDelegateForColumn(Columns.STATUS, chips)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.count_label = QLabel()
        self.count_label.setObjectName("muted")

        self.detail = CustomerDetailPanel(currency)
        self.detail.save_requested.connect(self.save)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.count_label)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([760, 520])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 8)
        layout.addLayout(header)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        QShortcut(QKeySequence("Ctrl+F"), self, self.search.setFocus)
        QShortcut(QKeySequence("F5"), self, self.reload)

    def activate(self) -> None:
        """Load the first page the first time the page is shown."""
        if not self._started:
            self._started = True
            self.reload()

    def current_search(self) -> CustomerSearch:
        segment = self.segment.currentData()
        return CustomerSearch(
            q=self.search.text(),
            segment=Segment(segment) if segment else None,
            status=self.status.currentData(),
        )

    def set_segment(self, segment: Segment | None) -> None:
        """Filter by ``segment`` (``None`` for all), as the cards do."""
        self.segment.setCurrentIndex(
            max(self.segment.findData(segment.value if segment else None), 0)
        )

    def sync_changed(self, customers: frozenset[str]) -> None:
        """Customers changed in the desk's copy: their rows in place, the open one again
        (unless it has unsaved edits)."""
        if self._started:
            self.context.runner.spawn(self._show_synced(customers))

    async def _show_synced(self, ids: frozenset[str]) -> None:
        rows = await self._services.customers.rows(ids) if len(ids) <= SYNC_PATCH_UP_TO else []
        known = {str(self.model.customer_at(r).id) for r in range(self.model.rowCount())}
        everything_shown = self.model.rowCount() >= self.model.total
        if len(ids) > SYNC_PATCH_UP_TO or ({str(r.id) for r in rows} - known and everything_shown):
            self.reload()  # new customers may belong in the list
        else:
            for row in rows:
                self.model.update_customer(row)
        shown = self.detail.customer
        if shown is not None and str(shown.id) in ids and not self.detail.save.isEnabled():
            self.show_customer(shown.id)  # unless staff are editing it

    def reload(self) -> None:
        """Show the customers matching the search and filters."""
        search = self.current_search()

        async def load(offset: int) -> CustomerPage:
            return await self._services.customers.page(search, offset)

        self.model.reload(load)
        for segment, card in self.cards.items():
            card.set_selected(segment == search.segment)

    def _page_loaded(self, page: CustomerPage) -> None:
        self.cards[None].set_value(f"{page.everyone:,}")
        for segment, card in self.cards.items():
            if segment is not None:
                card.set_value(f"{page.segments.get(segment, 0):,}")
        self.count_label.setText(
            f"{page.total:,} customer{'s' if page.total != 1 else ''} match"
            if page.total
            else "No customers match."
        )

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.show_customer(self.model.customer_at(current.row()).id)

    def show_customer(self, customer_id: uuid.UUID) -> None:
        """Open the customer in the detail panel."""
        self._detail_load.run(self._load_detail(customer_id))

    async def _load_detail(self, customer_id: uuid.UUID) -> None:
        customer = await self._services.customers.get(customer_id)
        self.detail.show_customer(customer, self._services.today())

    def save(self, changes: CustomerChanges) -> None:
        """Save the detail panel's edits."""
        if self.detail.customer is not None:
            self._save.run(self._store(self.detail.customer.id, changes))

    async def _store(self, customer_id: uuid.UUID, changes: CustomerChanges) -> None:
        try:
            saved = await self._services.customers.update(customer_id, changes)
        except ApiError:
            self.detail.saving_failed()
            raise
        self.detail.show_customer(saved, self._services.today())
        self.model.update_customer(saved.summary())
        self.context.notify(f"Saved {saved.name or saved.email}.", "info")
