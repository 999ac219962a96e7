"""The Outbox page (managers): sent, waiting and failed messages with their errors; retry a
failed one; preview any template, for the selected message's booking or a sample."""

from __future__ import annotations

import uuid

from PySide6.QtCore import QModelIndex
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.outbox import (
    STATUS_LABELS,
    TEMPLATE_LABELS,
    MessagePage,
    OutboxMessage,
)
from app.ui.context import DeskContext
from app.ui.outbox.dialogs import PreviewDialog
from app.ui.outbox.table_model import Columns, OutboxTableModel
from app.ui.tasks import LatestOnly
from app.ui.widgets.chips import ChipDelegate
from app.ui.widgets.row_table_view import row_table_view
from app.ui.widgets.stat_card import StatCard

CARDS = (("Waiting", "pending"), ("Sent", "sent"), ("Failed", "failed"))


class OutboxPage(QWidget):
    """What the service has mailed and texted, and what it could not."""

    def __init__(self, context: DeskContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.outbox = context.services.outbox
        self._action = LatestOnly(context.runner)
        self.preview_dialog: PreviewDialog | None = None
        identity = context.services.identity

        title = QLabel("Outbox")
        title.setObjectName("pageTitle")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(16)
        self.cards: dict[str, StatCard] = {}
        for caption, status in CARDS:
            card = StatCard(caption)
            card.setToolTip(f"Show {caption.lower()} messages")
            card.clicked.connect(lambda s=status: self.set_status(s))
            self.cards[status] = card
            header.addWidget(card)
        header.addStretch(1)

        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        self.status.addItem("All messages", None)
        for status, label in STATUS_LABELS.items():
            self.status.addItem(label, status)
        self.status.currentIndexChanged.connect(lambda _: self.reload())
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.reload)
        self.template = QComboBox()
        self.template.setAccessibleName("Template")
        for name, label in TEMPLATE_LABELS.items():
            self.template.addItem(label, name)
        self.preview_button = QPushButton("Preview template")
        self.preview_button.setToolTip(
            "Show the template for the selected message's booking, or for a sample booking"
        )
        self.preview_button.clicked.connect(self.preview_template)
        filters = QHBoxLayout()
        filters.addWidget(self.status)
        filters.addWidget(refresh)
        filters.addStretch(1)
        filters.addWidget(self.template)
        filters.addWidget(self.preview_button)

        self.model = OutboxTableModel(
            context.runner, identity.timezone, context.services.today, self
        )
        self.model.page_loaded.connect(self._page_loaded)
        self.table = row_table_view(self.model)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in (
            (Columns.WHEN, 130),
            (Columns.BOOKING, 140),
            (Columns.MESSAGE, 300),
            (Columns.CHANNEL, 70),
            (Columns.TO, 190),
            (Columns.STATUS, 100),
            (Columns.ATTEMPTS, 70),
        ):
            self.table.setColumnWidth(column, width)
        self.table.setItemDelegateForColumn(Columns.STATUS, ChipDelegate(self.table))
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.selected_label = QLabel("Select a message to see its error or retry it.")
        self.selected_label.setObjectName("muted")
        self.selected_label.setWordWrap(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("primary")
        self.retry_button.setEnabled(False)
        self.retry_button.setToolTip("Send a failed message again")
        self.retry_button.clicked.connect(self.retry_selected)
        footer = QHBoxLayout()
        footer.addWidget(self.selected_label, 1)
        footer.addWidget(self.retry_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 8)
        layout.addLayout(header)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(footer)
        QShortcut(QKeySequence("F5"), self, self.reload)

    def activate(self) -> None:
        """Load the messages each time the page is shown: they change by themselves."""
        self.reload()

    def set_status(self, status: str | None) -> None:
        """Filter by ``status`` (``None`` for all), as the cards do."""
        self.status.setCurrentIndex(max(self.status.findData(status), 0))

    def reload(self) -> None:
        """Show the messages of the chosen status, newest first."""
        status = self.status.currentData()

        async def load(cursor: str | None) -> MessagePage:
            return await self.outbox.page(status, cursor)

        self.model.reload(load)
        for key, card in self.cards.items():
            card.set_selected(key == status)
        self._show_selected(None)

    def _page_loaded(self, page: MessagePage) -> None:
        for status, card in self.cards.items():
            card.set_value(f"{page.counts.get(status, 0):,}")

    def selected(self) -> OutboxMessage | None:
        index = self.table.selectionModel().currentIndex()
        return self.model.message_at(index.row()) if index.isValid() else None

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_selected(self.model.message_at(current.row()) if current.isValid() else None)

    def _show_selected(self, message: OutboxMessage | None) -> None:
        if message is None:
            self.selected_label.setText("Select a message to see its error or retry it.")
            self.retry_button.setEnabled(False)
            return
        what = f"{message.template_label} to {message.recipient}"
        if message.booking_number:
            what += f" ({message.booking_number})"
        detail = f"{what}: {message.status_label.lower()}"
        if message.last_error:
            detail += f". {message.last_error}"
        self.selected_label.setText(detail)
        self.retry_button.setEnabled(message.can_retry)
        index = self.template.findData(message.template)
        if index >= 0:
            self.template.setCurrentIndex(index)

    def retry_selected(self) -> None:
        """Send the selected failed message again."""
        message = self.selected()
        if message is not None and message.can_retry:
            self.retry_button.setEnabled(False)
            self._action.run(self._retry(message))

    async def _retry(self, message: OutboxMessage) -> None:
        try:
            updated = await self.outbox.retry(message.id)
        except Exception:
            self.retry_button.setEnabled(True)
            raise
        self.model.update_message(updated)
        self._show_selected(updated)
        self.context.notify(
            f"{updated.template_label} to {updated.recipient} will be sent again shortly.",
            "info",
        )

    def preview_template(self) -> None:
        """Render the chosen template for the selected message's booking, or a sample."""
        message = self.selected()
        booking_id = message.booking_id if message is not None else None
        self._action.run(self._preview(self.template.currentData(), booking_id))

    async def _preview(self, template: str, booking_id: uuid.UUID | None) -> None:
        shown = await self.outbox.preview(template, booking_id)
        self.preview_dialog = PreviewDialog(shown, self)
        self.preview_dialog.open()
