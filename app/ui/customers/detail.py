"""The customer detail panel: figures, editable contact, status and notes, booking history."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import format_amount
from app.services.customers import STATUSES, CustomerChanges, CustomerDetail
from app.ui.formatting import day_and_time, short_date
from app.ui.widgets.chips import (
    CUSTOMER_STATUS_LABELS,
    SEGMENT_LABELS,
    ChipLabel,
    status_label,
)


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("sectionTitle")
    return label


class CustomerDetailPanel(QStackedWidget):
    """Shows one customer; :attr:`save_requested` carries the edits when Save is pressed."""

    save_requested = Signal(object)  # CustomerChanges

    def __init__(self, currency: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self.customer: CustomerDetail | None = None
        self._currency = currency
        self._today = date.today()
        placeholder = QLabel("Select a customer to see their history.")
        placeholder.setObjectName("placeholder")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(placeholder)

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(16, 16, 16, 16)
        head = QHBoxLayout()
        self.name = QLabel()
        self.name.setObjectName("detailTitle")
        self.segment_chip = ChipLabel()
        self.status_chip = ChipLabel()
        head.addWidget(self.name)
        head.addStretch(1)
        head.addWidget(self.segment_chip)
        head.addWidget(self.status_chip)
        column.addLayout(head)

        figures = QGridLayout()
        self.figures: dict[str, QLabel] = {}
        for i, caption in enumerate(
            (
                "Lifetime value",
                "Total spent",
                "Average booking",
                "Bookings",
                "First booking",
                "Last booking",
            )
        ):
            title = QLabel(caption)
            title.setObjectName("statTitle")
            value = QLabel()
            value.setObjectName("figure")
            self.figures[caption] = value
            figures.addWidget(title, (i // 3) * 2, i % 3)
            figures.addWidget(value, (i // 3) * 2 + 1, i % 3)
        column.addLayout(figures)

        column.addWidget(_section("Contact and notes"))
        form = QFormLayout()
        self.first_name = QLineEdit()
        self.last_name = QLineEdit()
        self.email = QLineEdit()
        self.phone = QLineEdit()
        self.status = QComboBox()
        for status in STATUSES:
            self.status.addItem(CUSTOMER_STATUS_LABELS[status], status)
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes for staff (allergies, preferences, history…)")
        self.notes.setFixedHeight(90)
        form.addRow("First name:", self.first_name)
        form.addRow("Last name:", self.last_name)
        form.addRow("Email:", self.email)
        form.addRow("Phone:", self.phone)
        form.addRow("Status:", self.status)
        form.addRow("Notes:", self.notes)
        column.addLayout(form)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.revert = QPushButton("Revert")
        self.revert.clicked.connect(self._revert)
        self.save = QPushButton("Save changes")
        self.save.setObjectName("primary")
        self.save.clicked.connect(self._save)
        buttons.addWidget(self.revert)
        buttons.addWidget(self.save)
        column.addLayout(buttons)
        for edit in (self.first_name, self.last_name, self.email, self.phone):
            edit.textEdited.connect(lambda _: self._update_dirty())
        self.notes.textChanged.connect(self._update_dirty)
        self.status.currentIndexChanged.connect(lambda _: self._update_dirty())

        column.addWidget(_section("Booking history"))
        self.history = QTreeWidget()
        self.history.setHeaderLabels(["Booking", "When", "Activity", "Party", "Amount", "Status"])
        self.history.setRootIsDecorated(False)
        self.history.setAlternatingRowColors(True)
        self.history.setMinimumHeight(160)
        self.history.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        column.addWidget(self.history)
        column.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.addWidget(scroll)
        self._update_dirty()

    def changes(self) -> CustomerChanges:
        """What differs in the form from the customer as loaded."""
        c = self.customer
        if c is None:
            return CustomerChanges()

        def changed(new: str, old: str | None) -> str | None:
            return new if new != (old or "") else None

        return CustomerChanges(
            first_name=changed(self.first_name.text().strip(), c.first_name),
            last_name=changed(self.last_name.text().strip(), c.last_name),
            email=changed(self.email.text().strip(), c.email),
            phone=changed(self.phone.text().strip(), c.phone),
            notes=changed(self.notes.toPlainText(), c.notes),
            status=changed(self.status.currentData(), c.status),
        )

    def _update_dirty(self) -> None:
        dirty = bool(self.changes().body())
        self.save.setEnabled(dirty)
        self.revert.setEnabled(dirty)

    def _save(self) -> None:
        changes = self.changes()
        if changes.body():
            self.save.setEnabled(False)
            self.save_requested.emit(changes)

    def _revert(self) -> None:
        if self.customer is not None:
            self.show_customer(self.customer, self._today)

    def saving_failed(self) -> None:
        """Let the user try again after a refused save."""
        self._update_dirty()

    def clear(self) -> None:
        self.customer = None
        self.setCurrentIndex(0)

    def show_customer(self, c: CustomerDetail, today: date) -> None:
        """Fill the panel with ``c`` (the form shows what is saved); ``today`` at the venue."""
        self.customer = c
        self._today = today
        money = self._currency
        self.name.setText(c.name or c.email)
        self.segment_chip.set_chip(f"segment:{c.segment.value}", SEGMENT_LABELS[c.segment.value])
        # "Active" is the normal case; only an inactive or blocked customer gets a chip.
        self.status_chip.set_chip(
            f"customer:{c.status}", "" if c.status == "active" else CUSTOMER_STATUS_LABELS[c.status]
        )
        for caption, text in {
            "Lifetime value": format_amount(c.lifetime_value, money),
            "Total spent": format_amount(c.total_spent, money),
            "Average booking": format_amount(c.average_booking_value, money),
            "Bookings": str(c.total_bookings),
            "First booking": short_date(c.first_booking_date, today),
            "Last booking": short_date(c.last_booking_date, today),
        }.items():
            self.figures[caption].setText(text)
        for widget in (self.notes, self.status):
            widget.blockSignals(True)
        self.first_name.setText(c.first_name)
        self.last_name.setText(c.last_name)
        self.email.setText(c.email)
        self.phone.setText(c.phone or "")
        self.status.setCurrentIndex(max(self.status.findData(c.status), 0))
        self.notes.setPlainText(c.notes)
        for widget in (self.notes, self.status):
            widget.blockSignals(False)
        self.history.clear()
        for b in c.bookings:
            self.history.addTopLevelItem(
                QTreeWidgetItem(
                    [
                        b.booking_number,
                        day_and_time(b.booking_date, b.start_time, today),
                        b.activity_name,
                        str(b.party_size),
                        format_amount(b.total_amount, b.currency),
                        status_label(b.status),
                    ]
                )
            )
        self._update_dirty()
        self.setCurrentIndex(1)
