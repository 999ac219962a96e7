"""The Check-in page: a scan field with focus, the answer card, today's arrivals."""

from __future__ import annotations

import uuid
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.checkin import CheckInResult
from app.domain.money import format_amount
from app.services.bookings import BookingDetail
from app.services.checkin import ArrivalGroup, ScanAnswer
from app.ui.checkin.answer_card import AnswerCard
from app.ui.context import DeskContext
from app.ui.tasks import LatestOnly, ask
from app.ui.widgets.chips import colours, status_label

NUMBER_ROLE = Qt.ItemDataRole.UserRole + 1


class CheckInPage(QWidget):
    """Check parties in as they arrive; the scan field always gets focus back."""

    def __init__(self, context: DeskContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._services = context.services
        self._arrivals_load = LatestOnly(context.runner)
        self._in_flight = 0
        self._asked = 0  # sequence of scans sent; only the newest answer is shown
        self._shown = 0
        self.groups: list[ArrivalGroup] = []

        title = QLabel("Check-in")
        title.setObjectName("pageTitle")
        self.day_summary = QLabel()
        self.day_summary.setObjectName("muted")
        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(16)
        header.addWidget(self.day_summary, 1)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        header.addWidget(refresh)

        self.scan_field = QLineEdit()
        self.scan_field.setObjectName("scanField")
        self.scan_field.setPlaceholderText("Scan or type a booking number, then press Enter")
        self.scan_field.setAccessibleName("Booking number")
        self.scan_field.returnPressed.connect(self._scan_typed)
        scan_button = QPushButton("Check in")
        scan_button.setObjectName("primary")
        scan_button.clicked.connect(self._scan_typed)
        scan_row = QHBoxLayout()
        scan_row.addWidget(self.scan_field, 1)
        scan_row.addWidget(scan_button)

        self.card = AnswerCard()
        self.card.undo_requested.connect(self.undo)
        self.card.override_requested.connect(
            lambda b: self.scan(b.booking_number, override_unpaid=True)
        )
        self.card.guests_changed.connect(self.set_guests_arrived)
        self.card.note_requested.connect(self.add_note)

        arrivals_title = QLabel("Today's arrivals")
        arrivals_title.setObjectName("sectionTitle")
        hint = QLabel("Select a party and press Enter to check it in.")
        hint.setObjectName("muted")
        self.arrivals = QTreeWidget()
        self.arrivals.setObjectName("arrivals")
        self.arrivals.setHeaderLabels(
            ["Time / booking", "Customer", "Activity", "Party", "Arrived", "Status", "Due"]
        )
        self.arrivals.setUniformRowHeights(True)
        self.arrivals.setAlternatingRowColors(True)
        self.arrivals.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.arrivals.itemActivated.connect(self._arrival_activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 8)
        layout.addLayout(header)
        layout.addLayout(scan_row)
        layout.addWidget(self.card)
        arrivals_head = QHBoxLayout()
        arrivals_head.addWidget(arrivals_title)
        arrivals_head.addStretch(1)
        arrivals_head.addWidget(hint)
        layout.addLayout(arrivals_head)
        layout.addWidget(self.arrivals, 1)

        QShortcut(QKeySequence.StandardKey.Undo, self, self._undo_shown)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        QShortcut(QKeySequence("Ctrl+L"), self, self.scan_field.setFocus)

    def activate(self) -> None:
        """Refresh the arrivals and put the cursor in the scan field."""
        self.refresh()
        self.scan_field.setFocus()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.scan_field.setFocus()

    # Scanning ----------------------------------------------------------------------------

    def _scan_typed(self) -> None:
        text = self.scan_field.text().strip()
        # Cleared at once: a scanner may already be typing the next number.
        self.scan_field.clear()
        if text:
            self.scan(text)

    def scan(self, text: str, *, override_unpaid: bool = False) -> None:
        """Answer ``text`` as a booking number and check the party in when it may enter."""
        self._run(self._scan(text, override_unpaid))

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        # Every scan runs to the end (none is cancelled: the service may have acted on it).
        self._asked += 1
        self._in_flight += 1
        self.context.runner.spawn(self._counted(work))

    async def _counted(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        finally:
            self._in_flight -= 1

    @property
    def busy(self) -> bool:
        return bool(self._in_flight) or self._arrivals_load.running

    async def _scan(self, text: str, override_unpaid: bool) -> None:
        identity = self._services.identity
        sequence = self._asked
        answer = await self._services.checkin.scan(
            text,
            timezone=identity.timezone,
            today=self._services.today(),
            override_unpaid=override_unpaid,
        )
        self._show(answer, sequence)
        self.scan_field.setFocus()
        if answer.booking is not None:
            self.sync_changed()

    def _show(self, answer: ScanAnswer, sequence: int, verdict: str | None = None) -> None:
        if sequence < self._shown:
            return
        self._shown = sequence
        identity = self._services.identity
        self.card.show_answer(
            answer, identity.role, identity.timezone, self._services.now(), self._services.today()
        )
        if verdict:
            self.card.verdict.setText(verdict)

    def _arrival_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        number = item.data(0, NUMBER_ROLE)
        if number:
            self.scan(number)

    def _undo_shown(self) -> None:
        if self.card.booking is not None and self.card.undo.isVisible():
            self.undo(self.card.booking)

    def undo(self, booking: BookingDetail) -> None:
        """Take back the check-in of ``booking``."""
        self._run(self._undo(booking.id))

    async def _undo(self, booking_id: uuid.UUID) -> None:
        sequence = self._asked
        booking = await self._services.checkin.undo(booking_id)
        self._show(
            ScanAnswer(CheckInResult.OK, "Check-in undone; the booking is confirmed.", booking),
            sequence,
            verdict="Check-in undone",
        )
        self.scan_field.setFocus()
        self.sync_changed()

    def set_guests_arrived(self, booking: BookingDetail, guests: int) -> None:
        """Record that ``guests`` of the party are here."""
        self._run(self._set_guests(booking.id, guests))

    async def _set_guests(self, booking_id: uuid.UUID, guests: int) -> None:
        sequence = self._asked
        updated = await self._services.checkin.set_guests_arrived(booking_id, guests)
        answer = self.card.answer
        if answer is not None:
            self._show(ScanAnswer(answer.result, answer.message, updated), sequence)
        self.context.notify(
            f"{updated.booking_number}: {updated.guests_arrived} of {updated.party_size} here.",
            "info",
        )
        self.sync_changed()

    def add_note(self, booking: BookingDetail) -> None:
        """Ask for a note and add it to ``booking`` (at once here; queued for the service)."""
        self._run(self._add_note(booking))

    async def _add_note(self, booking: BookingDetail) -> None:
        sequence = self._asked
        dialog = QInputDialog(self)
        dialog.setWindowTitle(f"Note on {booking.booking_number}")
        dialog.setLabelText("Note (staff only):")
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        if await ask(dialog) != QDialog.DialogCode.Accepted or not dialog.textValue().strip():
            self.scan_field.setFocus()
            return
        updated = await self._services.bookings.add_note(booking.id, dialog.textValue())
        answer = self.card.answer
        if answer is not None and answer.booking is not None and answer.booking.id == updated.id:
            self._show(ScanAnswer(answer.result, answer.message, updated), sequence)
        self.context.notify(f"Note added to {updated.booking_number}.", "info")
        self.scan_field.setFocus()

    # Arrivals ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload today's arrivals (and ask the service for what changed meanwhile)."""
        self._services.refresh()
        self._arrivals_load.run(self._load_arrivals())

    def sync_changed(self) -> None:
        """Bookings changed in the desk's copy: show today's arrivals as they are now."""
        self._arrivals_load.run(self._load_arrivals())

    async def _load_arrivals(self) -> None:
        today = self._services.today()
        groups = await self._services.checkin.arrivals(today)
        self._render(groups)

    def _render(self, groups: list[ArrivalGroup]) -> None:
        selected = self.arrivals.currentItem()
        selected_number = selected.data(0, NUMBER_ROLE) if selected else None
        self.groups = groups
        self.arrivals.clear()
        arrived = sum(g.arrived for g in groups)
        expected = sum(g.expected for g in groups)
        self.day_summary.setText(
            f"Today: {arrived} of {expected} guests arrived"
            if groups
            else "No arrivals expected today."
        )
        reselect = None
        for group in groups:
            head = QTreeWidgetItem(
                [f"{group.start_time:%H:%M}", f"{group.arrived} of {group.expected} arrived"]
            )
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            head.setFont(1, font)
            self.arrivals.addTopLevelItem(head)
            for b in group.bookings:
                due = format_amount(b.balance_due, b.currency) if b.balance_due else ""
                item = QTreeWidgetItem(
                    [
                        b.booking_number,
                        b.customer_name,
                        b.activity_name,
                        str(b.party_size),
                        str(b.guests_arrived),
                        status_label(b.status),
                        due,
                    ]
                )
                item.setData(0, NUMBER_ROLE, b.booking_number)
                background, foreground = colours(f"status:{b.status.value}")
                item.setBackground(5, QBrush(background))
                item.setForeground(5, QBrush(foreground))
                if due:
                    item.setForeground(6, QBrush(QColor("#92400e")))
                head.addChild(item)
                if b.booking_number == selected_number:
                    reselect = item
            head.setExpanded(True)
        if reselect is not None:
            self.arrivals.setCurrentItem(reselect)
