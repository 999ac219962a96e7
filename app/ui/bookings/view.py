"""The Bookings page (the seed's layout): header stats and actions, filters, table or
calendar, and the detail panel with the lifecycle and money actions."""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.lifecycle import Action
from app.domain.money import format_amount
from app.services.api_client import ApiError
from app.services.booking_actions import ActionState, MoneyAction, action_states
from app.services.bookings import BookingDetail, BookingFilter, BookingPage, BookingRow
from app.services.exports import export_bookings
from app.ui.bookings.calendar_view import CalendarView
from app.ui.bookings.detail import BookingDetailPanel
from app.ui.bookings.filters import BookingFilterBar
from app.ui.bookings.money_actions import MoneyActions
from app.ui.bookings.table_model import BookingTableModel, Columns
from app.ui.context import DeskContext
from app.ui.formatting import short_date
from app.ui.outbox.resend import resend_confirmation
from app.ui.tasks import LatestOnly, ask
from app.ui.widgets.chips import ChipDelegate, status_label
from app.ui.widgets.controls import segment_button
from app.ui.widgets.row_table_view import row_table_view
from app.ui.widgets.stat_card import StatCard

SYNC_RELOAD_ABOVE = 500  # more changed bookings than this: reload rather than patch rows


class BookingsPage(QWidget):
    """Find, inspect and act on bookings."""

    def __init__(self, context: DeskContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        services = context.services
        self._services = services
        self._detail_load = LatestOnly(context.runner)
        self._stats_load = LatestOnly(context.runner)
        self._export = LatestOnly(context.runner)
        self._started = False
        self.money = MoneyActions(context, self)
        self.money.booking_changed.connect(self.booking_changed)
        self.money.booking_added.connect(self._booking_added)
        self.money.link.online_changed.connect(lambda _: self._online_changed())

        title = QLabel("Bookings")
        title.setObjectName("pageTitle")
        self.stat_today = StatCard("Today")
        self.stat_week = StatCard("This week")
        self.stat_revenue = StatCard("Revenue")
        self.add_button = QPushButton("+ Add booking")
        self.add_button.setObjectName("primary")
        self.add_button.clicked.connect(self.add_booking)
        self.export_button = QPushButton("Export CSV")
        self.export_button.setToolTip("Save the bookings of the current filter as CSV")
        self.export_button.clicked.connect(self._choose_export_path)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload (F5)")
        self.refresh_button.clicked.connect(self.refresh)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(16)
        for card in (self.stat_today, self.stat_week, self.stat_revenue):
            header.addWidget(card)
        header.addStretch(1)
        for button in (self.add_button, self.export_button, self.refresh_button):
            header.addWidget(button)

        self.export_progress = QProgressBar()
        self.export_progress.setRange(0, 0)
        self.export_progress.setMaximumWidth(160)
        self.export_label = QLabel()
        self.export_cancel = QPushButton("Stop export")
        self.export_cancel.clicked.connect(self._export.cancel)
        export_row = QHBoxLayout()
        export_row.addStretch(1)
        for widget in (self.export_label, self.export_progress, self.export_cancel):
            export_row.addWidget(widget)
            widget.hide()

        self.filters = BookingFilterBar(services.today)
        self.filters.changed.connect(self.reload)
        self.view_buttons: dict[str, QPushButton] = {}
        view_group = QButtonGroup(self)
        filter_row = QHBoxLayout()
        filter_row.addWidget(self.filters, 1)
        filter_row.addSpacing(12)
        for key, label in (("table", "Table"), ("calendar", "Calendar")):
            button = segment_button(label)
            button.clicked.connect(lambda _=False, k=key: self.set_view(k))
            view_group.addButton(button)
            self.view_buttons[key] = button
            filter_row.addWidget(button)

        self.model = BookingTableModel(context.runner, services.today, self)
        self.model.loading_changed.connect(lambda _: self._update_count())
        self.model.modelReset.connect(self._update_count)
        self.model.rowsInserted.connect(self._update_count)
        self.table = row_table_view(self.model)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.clicked.connect(self._cell_clicked)
        chips = ChipDelegate(self.table)
        self.table.setItemDelegateForColumn(Columns.STATUS, chips)
        self.table.setItemDelegateForColumn(Columns.PAYMENT, chips)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        head.setStretchLastSection(False)
        for column, width in (
            (Columns.NUMBER, 150),
            (Columns.CUSTOMER, 170),
            (Columns.ACTIVITY, 170),
            (Columns.WHEN, 130),
            (Columns.GUESTS, 70),
            (Columns.AMOUNT, 90),
            (Columns.STATUS, 120),
            (Columns.PAYMENT, 130),
            (Columns.ACTIONS, 90),
        ):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.count_label = QLabel()
        self.count_label.setObjectName("muted")
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.table, 1)
        table_layout.addWidget(self.count_label)

        self.calendar = CalendarView(services, context.runner)
        self.calendar.booking_selected.connect(self.show_booking)
        self.views = QStackedWidget()
        self.views.addWidget(table_box)
        self.views.addWidget(self.calendar)

        self.detail = BookingDetailPanel()
        self.detail.action_requested.connect(self._detail_action)
        self.detail.resend_requested.connect(lambda b: resend_confirmation(self.context, b))
        splitter = QSplitter()
        splitter.addWidget(self.views)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([840, 460])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 8)
        layout.addLayout(header)
        layout.addLayout(export_row)
        layout.addLayout(filter_row)
        layout.addWidget(splitter, 1)

        QShortcut(QKeySequence("Ctrl+F"), self, self.filters.search.setFocus)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        QShortcut(QKeySequence("Ctrl+N"), self, self.add_booking)
        self.set_view(context.settings.bookings_view, remember=False)
        self._online_changed()

    # Loading -----------------------------------------------------------------------------

    def activate(self) -> None:
        """Load everything the first time the page is shown."""
        if not self._started:
            self._started = True
            self.refresh()

    def refresh(self) -> None:
        """Reload stats, activities and the bookings of the current filter."""
        self._services.refresh()  # and ask the service for what changed meanwhile
        self._stats_load.run(self._load_header())
        self.reload()

    def sync_changed(self, bookings: frozenset[str], catalog: bool) -> None:
        """Show what the sync brought: changed rows in place, new matches by reloading."""
        if self._started and (bookings or catalog):
            self.context.runner.spawn(self._show_synced(bookings))

    async def _show_synced(self, ids: frozenset[str]) -> None:
        if len(ids) > SYNC_RELOAD_ABOVE:
            self._stats_load.run(self._load_header())
            self.reload()
            return
        changed = await self._services.bookings.rows(ids)
        shown = {self.model.booking_at(r).id for r in range(self.model.rowCount())}
        for row in changed:
            if row.id in shown:
                self.model.update_booking(row)
        new = {row.id for row in changed} - shown
        matching = await self._services.bookings.rows(new, self.filters.current()) if new else []
        rows = self.model.rowCount()
        last = self.model.booking_at(rows - 1) if rows else None
        if matching and (
            not self.model.has_more
            or last is None
            or any((b.booking_date, b.start_time) <= (last.booking_date, last.start_time)
                   for b in matching)
        ):  # fmt: skip
            self.reload()  # a new booking among those shown (later ones load on scrolling)
        elif self.views.currentWidget() is self.calendar:
            self.calendar.refresh()
        if self.detail.booking is not None and str(self.detail.booking.id) in ids:
            self.show_booking(self.detail.booking.id)
        self._stats_load.run(self._load_header())

    async def _load_header(self) -> None:
        bookings = self._services.bookings
        self.filters.set_activities(await bookings.activities())
        stats = await bookings.stats()
        today = self._services.today()
        self.stat_today.set_value(f"{stats.today:,}")
        self.stat_week.set_value(f"{stats.this_week:,}")
        self.stat_revenue.set_value(format_amount(stats.revenue, stats.currency))
        self.stat_revenue.setToolTip(
            f"Money kept on bookings dated {short_date(stats.revenue_from, today)} – "
            f"{short_date(stats.revenue_to, today)}"
        )

    def reload(self) -> None:
        """Show the bookings of the current filter (table or calendar)."""
        filters = self.filters.current()

        async def load(cursor: str | None) -> BookingPage:
            return await self._services.bookings.page(filters, cursor)

        self.model.reload(load)
        if self.views.currentWidget() is self.calendar:
            self.calendar.show_filter(filters)

    def _update_count(self) -> None:
        rows = self.model.rowCount()
        if self.model.loading and not rows:
            text = "Loading…"
        elif not rows:
            text = "No bookings match these filters."
        elif self.model.has_more:
            text = f"{rows:,} bookings shown; more load as you scroll"
        else:
            text = f"{rows:,} booking{'s' if rows != 1 else ''}"
        self.count_label.setText(text)

    def set_view(self, key: str, *, remember: bool = True) -> None:
        """Show the ``table`` or the ``calendar``."""
        key = key if key in self.view_buttons else "table"
        self.view_buttons[key].setChecked(True)
        if key == "calendar":
            self.views.setCurrentWidget(self.calendar)
            filters = self.filters.current()
            if filters.date_from:
                self.calendar.anchor = filters.date_from
            self.calendar.mode = "week" if self.filters.range_key == "week" else "day"
            self.calendar.mode_buttons[self.calendar.mode].setChecked(True)
            if self._started:
                self.calendar.show_filter(filters)
        else:
            self.views.setCurrentIndex(0)
        if remember:
            self.context.settings.bookings_view = key

    # Detail and actions ------------------------------------------------------------------

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.show_booking(self.model.booking_at(current.row()).id)

    def show_booking(self, booking_id: uuid.UUID) -> None:
        """Open the booking in the detail panel."""
        self._detail_load.run(self._load_detail(booking_id))

    async def _load_detail(self, booking_id: uuid.UUID) -> None:
        self._show_detail(await self._services.bookings.get(booking_id))

    def _show_detail(self, booking: BookingDetail) -> None:
        self.detail.show_booking(booking, self.states(booking), self._services.today())

    def states(self, booking: BookingRow) -> list[ActionState]:
        """What the signed-in member of staff may do with ``booking`` now."""
        identity = self._services.identity
        lifecycle = action_states(
            booking,
            identity.role,
            identity.timezone,
            self._services.now(),
            online=self.money.online,
        )
        return lifecycle + self.money.states(booking)

    def _online_changed(self) -> None:
        """Money actions need the service: follow whether it answers."""
        enabled, tooltip = self.money.add_booking_state()
        self.add_button.setEnabled(enabled)
        self.add_button.setToolTip(tooltip)
        if self.detail.booking is not None:
            self.detail.set_action_states(self.states(self.detail.booking))

    def row_actions(self, row: int) -> QMenu:
        """The actions menu of a table row: every action, disabled ones with the reason."""
        booking = self.model.booking_at(row)
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        view = QAction("View details", menu)
        view.triggered.connect(lambda: self.show_booking(booking.id))
        menu.addAction(view)
        menu.addSeparator()
        for state in self.states(booking):
            if state.action is MoneyAction.REFUND:
                menu.addSeparator()
            item = QAction(state.label, menu)
            item.setEnabled(state.enabled)
            item.setToolTip(state.tooltip)
            item.triggered.connect(lambda _=False, a=state.action: self.perform(a, booking))
            menu.addAction(item)
        return menu

    def _cell_clicked(self, index: QModelIndex) -> None:
        if index.column() == Columns.ACTIONS:
            rect = self.table.visualRect(index)
            self.row_actions(index.row()).popup(
                self.table.viewport().mapToGlobal(rect.bottomLeft())
            )

    def _context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if index.isValid():
            self.row_actions(index.row()).popup(self.table.viewport().mapToGlobal(position))

    def _detail_action(self, action: Action | MoneyAction) -> None:
        if self.detail.booking is not None:
            self.perform(action, self.detail.booking)

    def perform(self, action: Action | MoneyAction, booking: BookingRow) -> None:
        """Take ``action`` on ``booking`` (asking for a reason or confirmation as needed)."""
        if isinstance(action, MoneyAction):
            self.money.open(action, booking)
        elif action is Action.CANCEL:
            self.money.cancel(booking)  # with or without a refund: a money move
        else:
            self.context.runner.spawn(self._perform(action, booking))

    async def _perform(self, action: Action, booking: BookingRow) -> None:
        bookings = self._services.bookings
        try:
            updated = await bookings.perform(action, booking.id)
        except ApiError as exc:
            if not (action is Action.CHECK_IN and exc.code == "unpaid"):
                raise
            if not await self._confirm_unpaid(exc.message):
                return
            updated = await bookings.perform(action, booking.id, override_unpaid=True)
        self.booking_changed(updated)
        self.context.notify(
            f"{updated.booking_number} is now {status_label(updated.status).lower()}.", "info"
        )

    async def _confirm_unpaid(self, message: str) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unpaid booking",
            f"{message}\nTake the payment first, then check the party in.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.button(QMessageBox.StandardButton.Yes).setText("Payment taken — check in")
        return await ask(box) == QMessageBox.StandardButton.Yes

    def booking_changed(self, booking: BookingDetail) -> None:
        """Show a booking's new state everywhere on the page."""
        self.model.update_booking(booking.summary())
        if self.detail.booking is None or self.detail.booking.id == booking.id:
            self._show_detail(booking)
        self._stats_load.run(self._load_header())
        if self.views.currentWidget() is self.calendar:
            self.calendar.refresh()

    def add_booking(self) -> None:
        """Open the desk-booking form (it needs the service)."""
        if self.add_button.isEnabled():
            self.money.add_booking()

    def _booking_added(self, booking: BookingDetail) -> None:
        self.reload()
        self._show_detail(booking)
        self._stats_load.run(self._load_header())

    # Export ------------------------------------------------------------------------------

    def _choose_export_path(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export bookings", "bookings.csv", "CSV files (*.csv)"
        )
        if name:
            self.export_to(Path(name))

    def export_to(self, path: Path) -> None:
        """Write the bookings of the current filter to ``path`` as CSV, showing progress."""
        self._export.run(self._run_export(self.filters.current(), path))

    @property
    def exporting(self) -> bool:
        return self._export.running

    async def _run_export(self, filters: BookingFilter, path: Path) -> None:
        def progress(count: int) -> None:
            self.export_label.setText(f"Exporting… {count:,} bookings")

        self.export_button.setEnabled(False)
        for widget in (self.export_label, self.export_progress, self.export_cancel):
            widget.show()
        progress(0)
        try:
            count = await export_bookings(self._services.bookings, filters, path, progress)
        finally:
            self.export_button.setEnabled(True)
            for widget in (self.export_label, self.export_progress, self.export_cancel):
                widget.hide()
        self.context.notify(f"Exported {count:,} bookings to {path}.", "info")
