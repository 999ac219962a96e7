"""The booking detail panel: every field, the timeline, payments and refunds, actions."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.lifecycle import Action
from app.domain.money import format_amount
from app.services.booking_actions import ACTION_LABELS, MONEY_LABELS, ActionState, MoneyAction
from app.services.bookings import BookingDetail
from app.ui.formatting import local_datetime
from app.ui.outbox.resend import can_resend
from app.ui.widgets.chips import PAYMENT_LABELS, ChipLabel, status_label

SOURCE_LABELS = {"widget": "Online", "admin": "Desk", "walk_in": "Walk-in", "phone": "Phone"}


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("sectionTitle")
    return label


def _tree(headers: list[str]) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    tree.setAlternatingRowColors(True)
    tree.setUniformRowHeights(True)
    tree.setMinimumHeight(110)
    tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return tree


class BookingDetailPanel(QStackedWidget):
    """Shows one :class:`BookingDetail`; :attr:`action_requested` when a button is pressed."""

    action_requested = Signal(object)  # Action or MoneyAction
    resend_requested = Signal(object)  # BookingDetail

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self.booking: BookingDetail | None = None
        placeholder = QLabel("Select a booking to see its details.")
        placeholder.setObjectName("placeholder")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(placeholder)

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(16, 16, 16, 16)
        head = QHBoxLayout()
        self.number = QLabel()
        self.number.setObjectName("detailTitle")
        self.number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_chip = ChipLabel()
        self.payment_chip = ChipLabel()
        head.addWidget(self.number)
        head.addStretch(1)
        head.addWidget(self.status_chip)
        head.addWidget(self.payment_chip)
        column.addLayout(head)

        # Three to a row, so the panel stays narrow enough to sit beside the table.
        actions = QGridLayout()
        self.action_buttons: dict[Action, QPushButton] = {}
        for i, (action, label) in enumerate(ACTION_LABELS.items()):
            button = QPushButton(label)
            button.setObjectName("danger" if action is Action.CANCEL else "action")
            button.clicked.connect(lambda _=False, a=action: self.action_requested.emit(a))
            self.action_buttons[action] = button
            actions.addWidget(button, i // 3, i % 3)
        column.addLayout(actions)
        money = QGridLayout()
        self.money_buttons: dict[MoneyAction, QPushButton] = {}
        for i, (money_action, label) in enumerate(MONEY_LABELS.items()):
            button = QPushButton(label)
            button.setObjectName("action")
            button.clicked.connect(lambda _=False, a=money_action: self.action_requested.emit(a))
            self.money_buttons[money_action] = button
            money.addWidget(button, i // 3, i % 3)
        column.addLayout(money)
        self.resend_button = QPushButton("Resend confirmation")
        self.resend_button.setObjectName("action")
        self.resend_button.setToolTip("E-mail the confirmation and receipt to the customer again")
        self.resend_button.clicked.connect(lambda: self.resend_requested.emit(self.booking))
        column.addWidget(self.resend_button)

        self.fields = QFormLayout()
        self.fields.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self._values: dict[str, QLabel] = {}
        for name in (
            "Customer",
            "Email",
            "Phone",
            "Activity",
            "Starts",
            "Ends",
            "Party",
            "Guests arrived",
            "Prices",
            "Subtotal",
            "Discount",
            "Total",
            "Paid",
            "Refunded",
            "Balance due",
            "Source",
            "Promo code",
            "Special requests",
            "Notes",
            "Booked",
            "Confirmed",
            "Checked in",
            "Cancelled",
            "Pay by",
            "Needs attention",
        ):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._values[name] = value
            self.fields.addRow(f"{name}:", value)
        column.addWidget(_section("Booking"))
        column.addLayout(self.fields)

        column.addWidget(_section("Timeline"))
        self.timeline = _tree(["When", "Who", "What"])
        column.addWidget(self.timeline)
        column.addWidget(_section("Payments and refunds"))
        self.money = _tree(["When", "Kind", "Method", "Status", "Amount", "Note"])
        column.addWidget(self.money)
        column.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.addWidget(scroll)

    def value(self, name: str) -> str:
        """The text shown for field ``name`` (as a person reads the panel)."""
        return self._values[name].text()

    def clear(self) -> None:
        self.booking = None
        self.setCurrentIndex(0)

    def show_booking(self, b: BookingDetail, states: list[ActionState], today: date) -> None:
        """Fill the panel with ``b``; buttons follow ``states``."""
        self.booking = b
        tz = b.timezone
        money = b.currency
        self.number.setText(b.booking_number)
        self.status_chip.set_chip(f"status:{b.status.value}", status_label(b.status))
        self.payment_chip.set_chip(
            f"payment:{b.payment_status.value}", PAYMENT_LABELS[b.payment_status.value]
        )
        cancelled = (
            f"{local_datetime(b.cancelled_at, tz, today)} — {b.cancel_reason or ''}"
            if b.cancelled_at
            else "–"
        )
        prices = f"{format_amount(b.adult_unit_amount, money)} adult"
        if b.child_count:
            prices += f", {format_amount(b.child_unit_amount, money)} child"
        values = {
            "Customer": b.customer_name or "–",
            "Email": b.customer_email or "–",
            "Phone": b.customer_phone or "–",
            "Activity": b.activity_name,
            "Starts": f"{local_datetime(b.starts_at, tz, today)} ({tz})",
            "Ends": local_datetime(b.ends_at, tz, today),
            "Party": f"{b.party_size} ({b.adult_count} adults, {b.child_count} children)",
            "Guests arrived": f"{b.guests_arrived} of {b.party_size}",
            "Prices": prices,
            "Subtotal": format_amount(b.subtotal_amount, money),
            "Discount": format_amount(b.discount_amount, money),
            "Total": format_amount(b.total_amount, money),
            "Paid": format_amount(b.amount_paid, money),
            "Refunded": format_amount(b.refunded_amount, money),
            "Balance due": format_amount(b.balance_due, money),
            "Source": SOURCE_LABELS.get(b.source, b.source),
            "Promo code": b.promo_code or "–",
            "Special requests": b.special_requests or "–",
            "Notes": b.notes or "–",
            "Booked": local_datetime(b.created_at, tz, today),
            "Confirmed": local_datetime(b.confirmed_at, tz, today),
            "Checked in": local_datetime(b.checked_in_at, tz, today),
            "Cancelled": cancelled,
            "Pay by": local_datetime(b.expires_at, tz, today),
            "Needs attention": b.attention_reason or "–",
        }
        for name, text in values.items():
            self._values[name].setText(text)

        self.timeline.clear()
        for event in b.events:
            what = event.kind.replace("_", " ").capitalize()
            if event.to_status:
                what += f" → {status_label(event.to_status)}"
            if event.message:
                what += f": {event.message}"
            self.timeline.addTopLevelItem(
                QTreeWidgetItem([local_datetime(event.at, tz, today), event.actor_name, what])
            )
        self.money.clear()
        for m in sorted((*b.payments, *b.refunds), key=lambda m: m.at):
            sign = -1 if m.kind == "refund" else 1
            self.money.addTopLevelItem(
                QTreeWidgetItem(
                    [
                        local_datetime(m.at, tz, today),
                        m.kind.capitalize(),
                        m.method or m.provider,
                        m.status,
                        format_amount(sign * m.amount, m.currency),
                        m.note,
                    ]
                )
            )
        if not (b.payments or b.refunds):
            self.money.addTopLevelItem(QTreeWidgetItem(["", "No payments yet", "", "", "", ""]))
        self.resend_button.setEnabled(can_resend(b))
        self.set_action_states(states)
        self.setCurrentIndex(1)

    def set_action_states(self, states: list[ActionState]) -> None:
        for state in states:
            action = state.action
            button = (
                self.money_buttons[action]
                if isinstance(action, MoneyAction)
                else self.action_buttons[action]
            )
            button.setEnabled(state.enabled)
            button.setToolTip(state.tooltip)
