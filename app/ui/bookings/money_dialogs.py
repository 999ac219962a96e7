"""Refunding a booking and taking a payment for it at the desk."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget

from app.domain.money import format_amount
from app.services.bookings import BookingDetail
from app.services.money import (
    Intent,
    MoneyService,
    RefundChoice,
    RefundFigures,
    refund_figures,
)
from app.ui.bookings.money_common import (
    AmountField,
    Choice,
    MoneyDialog,
    ServiceLink,
    figure,
    method_choice,
)
from app.ui.tasks import TaskRunner

MIN_REASON = 3


def reason_field() -> QLineEdit:
    field = QLineEdit()
    field.setPlaceholderText(f"Reason (at least {MIN_REASON} characters)")
    field.setMaxLength(500)
    return field


def figures_row(pairs: list[tuple[str, str]]) -> QWidget:
    """``Paid $60.00 · Refunded $0.00 · …`` as one row of labelled figures."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, (name, value) in enumerate(pairs):
        if i:
            layout.addSpacing(16)
        caption = QLabel(f"{name}:")
        caption.setObjectName("muted")
        layout.addWidget(caption)
        layout.addWidget(figure(value))
    layout.addStretch(1)
    return row


class RefundAmount(QWidget):
    """Full refund, part of it (typed), or — when cancelling — none."""

    def __init__(self, figures: RefundFigures, *, allow_none: bool = False) -> None:
        super().__init__()
        self.figures = figures
        full = format_amount(figures.refundable, figures.currency)
        options = [(RefundChoice.FULL.value, f"Everything refundable ({full})")]
        options.append((RefundChoice.PARTIAL.value, "Part of it:"))
        if allow_none:
            options.insert(0, (RefundChoice.NONE.value, "No refund"))
        self.amount = AmountField(figures.currency)
        self.amount.set_amount(figures.refundable)
        self.choice = Choice(
            options, vertical=True, beside={RefundChoice.PARTIAL.value: self.amount}
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice)
        self.choice.changed.connect(lambda _: self._follow())
        self.choice.set_value(RefundChoice.NONE.value if allow_none else RefundChoice.FULL.value)
        self._follow()

    def _follow(self) -> None:
        self.amount.setEnabled(self.value() is RefundChoice.PARTIAL)

    def value(self) -> RefundChoice:
        return RefundChoice(self.choice.value())

    def minor(self) -> int:
        """The amount to refund in minor units (0 for none)."""
        match self.value():
            case RefundChoice.NONE:
                return 0
            case RefundChoice.FULL:
                return self.figures.refundable
            case RefundChoice.PARTIAL:
                return self.amount.amount() or 0

    def problem(self) -> str:
        if self.value() is RefundChoice.PARTIAL:
            return self.amount.problem(self.figures.refundable, "The refund")
        return ""


def refund_figures_row(figures: RefundFigures) -> QWidget:
    c = figures.currency
    refunded = format_amount(figures.refunded, c)
    if figures.pending:
        refunded += f" (+{format_amount(figures.pending, c)} on its way)"
    return figures_row(
        [
            ("Paid", format_amount(figures.paid, c)),
            ("Already refunded", refunded),
            ("Refundable", format_amount(figures.refundable, c)),
        ]
    )


class RefundDialog(MoneyDialog):
    """Give back all or part of what was paid: by Stripe to the card, or at the desk."""

    def __init__(
        self,
        booking: BookingDetail,
        money: MoneyService,
        runner: TaskRunner,
        link: ServiceLink,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Refund", "Refund", money, runner, link, parent)
        self.booking = booking
        self.setWindowTitle(f"Refund {booking.booking_number}")
        self.setMinimumWidth(520)
        self.figures = refund_figures(booking)
        self.refund = RefundAmount(self.figures)
        self.method = method_choice()
        self.reason = reason_field()
        self.reason.textChanged.connect(lambda _: self.update_ok())
        self.form.addRow(refund_figures_row(self.figures))
        self.form.addRow("Amount:", self.refund)
        if self.figures.desk_paid:
            self.form.addRow("Given back as:", self.method)
        else:
            note = QLabel("The money goes back to the customer's card through Stripe.")
            note.setObjectName("muted")
            self.form.addRow("Given back as:", note)
        self.form.addRow("Reason:", self.reason)
        self.update_ok()

    def ready(self) -> bool:
        return len(self.reason.text().strip()) >= MIN_REASON

    def problem(self) -> str:
        return self.refund.problem()

    def method_code(self) -> str | None:
        return str(self.method.currentData()) if self.figures.desk_paid else None

    async def send(self, intent: Intent) -> BookingDetail:
        return await self.money.refund(
            self.booking.id, self.refund.minor(), self.reason.text(), self.method_code(), intent
        )

    def done_message(self, updated: BookingDetail) -> str:
        refunded = format_amount(self.refund.minor(), updated.currency)
        return f"Refunded {refunded} on {updated.booking_number}."


class MarkPaidDialog(MoneyDialog):
    """Record money taken at the desk for a booking that is (partly) unpaid."""

    def __init__(
        self,
        booking: BookingDetail,
        money: MoneyService,
        runner: TaskRunner,
        link: ServiceLink,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Taking a payment", "Record payment", money, runner, link, parent)
        self.booking = booking
        self.setWindowTitle(f"Take payment for {booking.booking_number}")
        self.setMinimumWidth(460)
        c = booking.currency
        self.amount = AmountField(c)
        self.amount.set_amount(booking.balance_due)
        self.method = method_choice()
        self.form.addRow(
            figures_row(
                [
                    ("Total", format_amount(booking.total_amount, c)),
                    ("Paid", format_amount(booking.amount_paid, c)),
                    ("Balance due", format_amount(booking.balance_due, c)),
                ]
            )
        )
        self.form.addRow("Amount taken:", self.amount)
        self.form.addRow("Method:", self.method)
        self.update_ok()

    def problem(self) -> str:
        return self.amount.problem(self.booking.balance_due, "The payment")

    async def send(self, intent: Intent) -> BookingDetail:
        amount = self.amount.amount() or 0
        return await self.money.mark_paid(
            self.booking.id, amount, str(self.method.currentData()), intent
        )

    def done_message(self, updated: BookingDetail) -> str:
        c = updated.currency
        taken = format_amount(self.amount.amount() or 0, c)
        due = (
            f"{format_amount(updated.balance_due, c)} still due"
            if updated.balance_due > 0
            else "paid in full"
        )
        return f"{taken} recorded on {updated.booking_number}; {due}."
