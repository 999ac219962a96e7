"""Dialogs of the Bookings page: a desk booking with its payment, and a cancellation."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import format_amount
from app.services.api_client import ApiError
from app.services.bookings import Activity, BookingDetail, SessionSlot
from app.services.customers import CustomerRow, CustomerSearch
from app.services.desk import DeskServices
from app.services.money import (
    DESK_CHARGE_METHODS,
    PAYMENT_METHODS,
    CancelRequest,
    Contact,
    DeskBookingRequest,
    DeskBookingResult,
    DeskPayment,
    Intent,
    MoneyService,
    PaymentMode,
    Quote,
    RefundChoice,
    explain,
    refund_figures,
)
from app.ui.bookings.money_common import Choice, MoneyDialog, ServiceLink, method_choice
from app.ui.bookings.money_dialogs import (
    MIN_REASON,
    RefundAmount,
    reason_field,
    refund_figures_row,
)
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.controls import date_edit, picked_date
from app.ui.widgets.search_field import SearchField

QUOTE_DEBOUNCE_MS = 250
CUSTOMER_MATCHES = 8
PAYMENT_OPTIONS = (
    (PaymentMode.PAY_AT_DESK.value, "Pay at the desk now"),
    (PaymentMode.PAYMENT_LINK.value, "Email a payment link"),
    (PaymentMode.UNPAID.value, "Leave unpaid (pays on arrival)"),
)


class AddBookingDialog(MoneyDialog):
    """Take a booking at the desk: activity, session, party, customer, promo code, payment.

    The total is worked out from the activity's prices at once and then confirmed by the
    service's quote (promo codes, seats left) once typing pauses.
    """

    def __init__(
        self,
        services: DeskServices,
        money: MoneyService,
        runner: TaskRunner,
        link: ServiceLink,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Taking a booking", "Create booking", money, runner, link, parent)
        self.setWindowTitle("Add booking")
        self.setMinimumWidth(560)
        self._services = services
        self._activities: dict[str, Activity] = {}
        self._sessions: dict[str, SessionSlot] = {}
        self._loading = LatestOnly(runner)
        self._quoting = LatestOnly(runner)
        self._searching = LatestOnly(runner)
        self._customer: CustomerRow | None = None
        self.quote: Quote | None = None
        self.outcome: DeskBookingResult | None = None

        self.activity = QComboBox()
        self.activity.addItem("All activities", None)
        self.activity.currentIndexChanged.connect(lambda _: self._show_sessions())
        self.day = date_edit(services.today())
        self.day.dateChanged.connect(lambda _: self._load_sessions())
        self.session = QComboBox()
        self.session.currentIndexChanged.connect(lambda _: self._party_changed())
        self.adult_count = QSpinBox()
        self.adult_count.setRange(1, 500)
        self.adult_count.setValue(2)
        self.child_count = QSpinBox()
        self.child_count.setRange(0, 500)
        self.adult_price = QLabel()
        self.child_price = QLabel()
        for spin in (self.adult_count, self.child_count):
            spin.valueChanged.connect(lambda _: self._party_changed())
        self.promo_code = QLineEdit()
        self.promo_code.setPlaceholderText("Optional")
        self.promo_code.setMaxLength(40)
        self.promo_code.textEdited.connect(lambda _: self._party_changed())
        self.total = QLabel("–")
        self.total.setObjectName("total")
        self.quote_note = QLabel()
        self.quote_note.setWordWrap(True)
        self.quote_note.setObjectName("muted")
        self._quote_timer = QTimer(self, singleShot=True, interval=QUOTE_DEBOUNCE_MS)
        self._quote_timer.timeout.connect(self._ask_quote)

        self.form.addRow("Activity:", self.activity)
        self.form.addRow("Date:", self.day)
        self.form.addRow("Session:", self.session)
        self.form.addRow("Adults:", _with_note(self.adult_count, self.adult_price))
        self.form.addRow("Children:", _with_note(self.child_count, self.child_price))
        self.form.addRow("Promo code:", self.promo_code)
        self.form.addRow("Total:", self.total)
        self.form.addRow("", self.quote_note)
        self.form.addRow(self._customer_box())
        self.form.addRow(self._payment_box())
        self.requests = QPlainTextEdit()
        self.requests.setFixedHeight(50)
        self.form.addRow("Special requests:", self.requests)
        self.update_ok()
        self._load_sessions()

    # Parts -------------------------------------------------------------------------------

    def _customer_box(self) -> QGroupBox:
        box = QGroupBox("Customer")
        self.customer_search = SearchField("Find a customer by name, email or phone")
        self.customer_search.search.connect(self._search_customers)
        self.customer_results = QListWidget()
        self.customer_results.setMaximumHeight(110)
        self.customer_results.hide()
        self.customer_results.itemActivated.connect(self._customer_picked)
        self.customer_results.itemClicked.connect(self._customer_picked)
        self.customer_note = QLabel("New customer: enter their details.")
        self.customer_note.setObjectName("muted")
        self.first_name = QLineEdit()
        self.last_name = QLineEdit()
        self.email = QLineEdit()
        self.phone = QLineEdit()
        for field in (self.first_name, self.last_name, self.email, self.phone):
            field.textEdited.connect(lambda _: self._contact_edited())
            field.textChanged.connect(lambda _: self.update_ok())
        names = QHBoxLayout()
        names.addWidget(self.first_name)
        names.addWidget(self.last_name)
        self.first_name.setPlaceholderText("First name")
        self.last_name.setPlaceholderText("Last name")
        self.email.setPlaceholderText("Email")
        self.phone.setPlaceholderText("Phone (optional)")
        layout = QVBoxLayout(box)
        layout.addWidget(self.customer_search)
        layout.addWidget(self.customer_results)
        layout.addWidget(self.customer_note)
        layout.addLayout(names)
        layout.addWidget(self.email)
        layout.addWidget(self.phone)
        return box

    def _payment_box(self) -> QGroupBox:
        box = QGroupBox("Payment")
        self.payment = Choice(PAYMENT_OPTIONS, vertical=True)
        self.payment.set_value(PaymentMode.UNPAID.value)
        self.payment.changed.connect(lambda _: self._payment_changed())
        self.method = method_choice(DESK_CHARGE_METHODS)
        self.payment_note = QLabel()
        self.payment_note.setObjectName("muted")
        self.payment_note.setWordWrap(True)
        method_row = QHBoxLayout()
        method_row.addWidget(QLabel("Method:"))
        method_row.addWidget(self.method)
        method_row.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.payment)
        layout.addLayout(method_row)
        layout.addWidget(self.payment_note)
        self._payment_changed()
        return box

    # Sessions ----------------------------------------------------------------------------

    def _load_sessions(self) -> None:
        self._loading.run(self._fetch_sessions(picked_date(self.day)))

    async def _fetch_sessions(self, day: date) -> None:
        self.session.clear()
        self.session.addItem("Loading sessions…", None)
        try:
            activities = await self._services.bookings.activities()
            sessions = await self._services.bookings.sessions(day, day)
        except ApiError as exc:
            self.show_error(explain(exc, "Finding sessions"))
            return
        if not self._activities:
            for activity in activities:
                self.activity.addItem(activity.name, str(activity.id))
        self._activities = {str(a.id): a for a in activities}
        now = self._services.now()
        self._sessions = {str(s.id): s for s in sessions if s.ends_at > now}
        self._show_sessions()

    def _show_sessions(self) -> None:
        wanted = self.activity.currentData()
        kept = self.session.currentData()
        self.session.blockSignals(True)
        self.session.clear()
        zone = ZoneInfo(self._services.identity.timezone)
        model = self.session.model()
        assert isinstance(model, QStandardItemModel)
        for slot in sorted(self._sessions.values(), key=lambda s: s.starts_at):
            if wanted and str(slot.activity_id) != wanted:
                continue
            activity = self._activities.get(str(slot.activity_id))
            name = activity.name if activity else "Activity"
            start = slot.starts_at.astimezone(zone)
            bookable = slot.status == "open" and slot.remaining > 0
            seats = (
                f"{slot.remaining} left"
                if bookable
                else ("full" if slot.status == "open" else slot.status)
            )
            self.session.addItem(f"{start:%H:%M}  {name} — {seats}", str(slot.id))
            model.item(self.session.count() - 1).setEnabled(bookable)
        if not self.session.count():
            self.session.addItem("No sessions left on this day", None)
        index = self.session.findData(kept) if kept else -1
        enabled = [i for i in range(self.session.count()) if model.item(i).isEnabled()]
        self.session.setCurrentIndex(index if index >= 0 else (enabled[0] if enabled else 0))
        self.session.blockSignals(False)
        self._party_changed()

    def selected_slot(self) -> SessionSlot | None:
        return self._sessions.get(self.session.currentData() or "")

    # Price -------------------------------------------------------------------------------

    def _party_changed(self) -> None:
        """Show the total from the prices at once; ask the service once typing pauses."""
        self.quote = None
        slot = self.selected_slot()
        activity = self._activities.get(str(slot.activity_id)) if slot else None
        if activity is None:
            for label in (self.adult_price, self.child_price):
                label.clear()
            self.total.setText("–")
            self.quote_note.clear()
        else:
            c = activity.currency
            self.adult_price.setText(f"× {format_amount(activity.adult_price, c)}")
            self.child_price.setText(f"× {format_amount(activity.child_price, c)}")
            estimate = (
                self.adult_count.value() * activity.adult_price
                + self.child_count.value() * activity.child_price
            )
            self.total.setText(format_amount(estimate, c))
            self.quote_note.setText("Checking price and seats…")
            self._quote_timer.start()
        self._payment_changed()

    def _ask_quote(self) -> None:
        slot = self.selected_slot()
        if slot is not None:
            self._quoting.run(self._fetch_quote(slot.id))

    async def _fetch_quote(self, session_id: uuid.UUID) -> None:
        try:
            quote = await self.money.quote(
                session_id,
                self.adult_count.value(),
                self.child_count.value(),
                self.promo_code.text(),
            )
        except ApiError as exc:
            self.quote_note.setText(explain(exc, "Checking the price"))
            return
        self.quote = quote
        c = quote.currency
        self.total.setText(format_amount(quote.total_amount, c))
        note = f"{quote.remaining} seats left in this session."
        if quote.discount_amount:
            note = (
                f"Subtotal {format_amount(quote.subtotal_amount, c)}, "
                f"{quote.promo_code or 'discount'} −{format_amount(quote.discount_amount, c)}. "
                + note
            )
        self.quote_note.setText(note)
        self._payment_changed()

    # Customer ----------------------------------------------------------------------------

    def _search_customers(self, text: str) -> None:
        if len(text.strip()) < 2:
            self._searching.cancel()
            self.customer_results.clear()
            self.customer_results.hide()
            return
        self._searching.run(self._find_customers(text))

    async def _find_customers(self, text: str) -> None:
        try:
            page = await self._services.customers.page(
                CustomerSearch(q=text), limit=CUSTOMER_MATCHES
            )
        except ApiError as exc:
            self.customer_note.setText(explain(exc, "Finding customers"))
            return
        self.customer_results.clear()
        for customer in page.items:
            item = QListWidgetItem(f"{customer.name} — {customer.email}")
            item.setData(Qt.ItemDataRole.UserRole, customer)
            self.customer_results.addItem(item)
        if not page.items:
            self.customer_results.addItem("No customer matches; enter a new one below.")
        self.customer_results.show()

    def _customer_picked(self, item: QListWidgetItem) -> None:
        customer = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(customer, CustomerRow):
            self.pick_customer(customer)

    def pick_customer(self, customer: CustomerRow) -> None:
        """Book for an existing customer (their details fill the fields)."""
        self._customer = customer
        self.first_name.setText(customer.first_name)
        self.last_name.setText(customer.last_name)
        self.email.setText(customer.email)
        self.phone.setText(customer.phone or "")
        visits = f"{customer.total_bookings} booking{'s' if customer.total_bookings != 1 else ''}"
        self.customer_note.setText(f"Existing customer {customer.name} ({visits}).")
        self.customer_results.hide()

    def _contact_edited(self) -> None:
        if self._customer is not None:
            # Different details are a different person: found or created by email.
            self._customer = None
            self.customer_note.setText("New customer: enter their details.")

    # Payment -----------------------------------------------------------------------------

    def payment_mode(self) -> PaymentMode:
        return PaymentMode(self.payment.value())

    def _payment_changed(self) -> None:
        mode = self.payment_mode()
        self.method.setEnabled(mode is PaymentMode.PAY_AT_DESK)
        total = self.total.text()
        self.payment_note.setText(
            {
                PaymentMode.PAY_AT_DESK: f"Take {total} now; the booking is then paid.",
                PaymentMode.PAYMENT_LINK: (
                    "The customer gets an email with a link to pay online; the seats are "
                    "held until they pay."
                ),
                PaymentMode.UNPAID: f"The booking is confirmed; {total} is due on arrival.",
            }[mode]
        )

    # Sending -----------------------------------------------------------------------------

    def ready(self) -> bool:
        return bool(self.first_name.text().strip() and self.email.text().strip())

    def problem(self) -> str:
        missing = [
            label
            for label, ok in (
                ("a session", self.selected_slot() is not None),
                ("a first name", bool(self.first_name.text().strip())),
                ("an email address", bool(self.email.text().strip())),
            )
            if not ok
        ]
        if missing:
            return f"Please enter {', '.join(missing)}."
        if self.payment_mode() is PaymentMode.PAY_AT_DESK and self.quote is None:
            return "Wait for the price to be confirmed before taking the payment."
        return ""

    def request(self) -> DeskBookingRequest:
        """The booking as the form now describes it."""
        slot = self.selected_slot()
        assert slot is not None
        mode = self.payment_mode()
        payment = DeskPayment(mode)
        if mode is PaymentMode.PAY_AT_DESK and self.quote is not None:
            payment = DeskPayment(mode, str(self.method.currentData()), self.quote.total_amount)
        customer = self._customer
        return DeskBookingRequest(
            session_id=slot.id,
            adult_count=self.adult_count.value(),
            child_count=self.child_count.value(),
            contact=Contact(
                email=self.email.text(),
                first_name=self.first_name.text(),
                last_name=self.last_name.text(),
                phone=self.phone.text(),
                customer_id=customer.id if customer else None,
            ),
            payment=payment,
            promo_code=self.promo_code.text(),
            special_requests=self.requests.toPlainText(),
        )

    async def send(self, intent: Intent) -> BookingDetail:
        self.outcome = await self.money.create_booking(self.request(), intent)
        return self.outcome.booking

    def done_message(self, updated: BookingDetail) -> str:
        total = format_amount(updated.total_amount, updated.currency)
        payment = self.request().payment
        message = f"Booked {updated.booking_number}"
        if payment.mode is PaymentMode.PAY_AT_DESK:
            method = PAYMENT_METHODS.get(payment.method or "", "at the desk").lower()
            return f"{message}; {total} paid by {method}."
        if payment.mode is PaymentMode.PAYMENT_LINK:
            return f"{message}; a payment link for {total} was emailed to {updated.customer_email}."
        return f"{message}; {total} due on arrival."

    @property
    def created(self) -> BookingDetail | None:
        return self.outcome.booking if self.outcome else None


def _with_note(spin: QSpinBox, note: QLabel) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(spin)
    layout.addWidget(note)
    layout.addStretch(1)
    return row


class CancelDialog(MoneyDialog):
    """Cancel a booking (managers): the reason, and a full, partial or no refund."""

    def __init__(
        self,
        booking: BookingDetail,
        money: MoneyService,
        runner: TaskRunner,
        link: ServiceLink,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Cancelling", "Cancel booking", money, runner, link, parent)
        self.booking = booking
        self.setWindowTitle(f"Cancel {booking.booking_number}")
        self.setMinimumWidth(520)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Keep booking")
        self.figures = refund_figures(booking)
        self.refund: RefundAmount | None = None
        self.method = method_choice()
        self.reason = reason_field()
        self.reason.textChanged.connect(lambda _: self.update_ok())
        note = QLabel("The seats go back on sale.")
        note.setWordWrap(True)
        self.form.addRow(note)
        if self.figures.refundable > 0:
            self.refund = RefundAmount(self.figures, allow_none=True)
            self.refund.choice.changed.connect(lambda _: self._follow())
            self.form.addRow(refund_figures_row(self.figures))
            self.form.addRow("Refund:", self.refund)
            if self.figures.desk_paid:
                self.form.addRow("Given back as:", self.method)
        else:
            nothing = "Nothing was paid" if not self.figures.paid else "Everything paid is back"
            self.form.addRow("Refund:", QLabel(f"{nothing}, so nothing is refunded."))
        self.form.addRow("Reason:", self.reason)
        self._follow()
        self.update_ok()

    def _follow(self) -> None:
        self.method.setEnabled(self.refund_choice() is not RefundChoice.NONE)

    def refund_choice(self) -> RefundChoice:
        return self.refund.value() if self.refund else RefundChoice.NONE

    def ready(self) -> bool:
        return len(self.reason.text().strip()) >= MIN_REASON

    def problem(self) -> str:
        return self.refund.problem() if self.refund else ""

    def cancel_request(self) -> CancelRequest:
        choice = self.refund_choice()
        return CancelRequest(
            reason=self.reason.text(),
            refund=choice,
            refund_amount=self.refund.minor() if self.refund else None,
            refund_method=str(self.method.currentData()) if self.figures.desk_paid else None,
        )

    async def send(self, intent: Intent) -> BookingDetail:
        return await self.money.cancel(self.booking.id, self.cancel_request(), intent)

    def done_message(self, updated: BookingDetail) -> str:
        message = f"{updated.booking_number} is now cancelled."
        if self.refund is not None and self.refund_choice() is not RefundChoice.NONE:
            message += f" {format_amount(self.refund.minor(), updated.currency)} refunded."
        return message
