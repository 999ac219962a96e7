"""Dialogs of the Bookings page: a desk booking, and a cancellation reason."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import format_amount
from app.services.api_client import ApiError
from app.services.bookings import Activity, BookingDetail, NewBooking, SessionSlot
from app.services.desk import DeskServices
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.controls import date_edit, picked_date


class AddBookingDialog(QDialog):
    """Take a booking at the desk: session, party, customer. Confirmed, paid later."""

    def __init__(
        self, services: DeskServices, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add booking")
        self.setMinimumWidth(460)
        self._services = services
        self._runner = runner
        self._activities: dict[str, Activity] = {}
        self._sessions: dict[str, SessionSlot] = {}
        self._loading = LatestOnly(runner)
        self._saving = LatestOnly(runner)
        self._request: NewBooking | None = None
        self.created: BookingDetail | None = None

        today = services.today()
        self.day = date_edit(today)
        self.day.dateChanged.connect(lambda _: self._load_sessions())
        self.session = QComboBox()
        self.session.currentIndexChanged.connect(lambda _: self._update_total())
        self.adult_count = QSpinBox()
        self.adult_count.setRange(1, 500)
        self.adult_count.setValue(2)
        self.child_count = QSpinBox()
        self.child_count.setRange(0, 500)
        for spin in (self.adult_count, self.child_count):
            spin.valueChanged.connect(lambda _: self._update_total())
        self.first_name = QLineEdit()
        self.last_name = QLineEdit()
        self.email = QLineEdit()
        self.phone = QLineEdit()
        self.requests = QPlainTextEdit()
        self.requests.setFixedHeight(60)
        self.total = QLabel("–")
        self.total.setObjectName("total")
        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()

        form = QFormLayout()
        form.addRow("Date:", self.day)
        form.addRow("Session:", self.session)
        form.addRow("Adults:", self.adult_count)
        form.addRow("Children:", self.child_count)
        form.addRow("First name:", self.first_name)
        form.addRow("Last name:", self.last_name)
        form.addRow("Email:", self.email)
        form.addRow("Phone:", self.phone)
        form.addRow("Special requests:", self.requests)
        form.addRow("Total:", self.total)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create booking")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._load_sessions()

    def _show_error(self, exc: BaseException) -> None:
        self.error.setText(str(exc) if isinstance(exc, ApiError) else f"Could not save: {exc}")
        self.error.show()
        self.buttons.setEnabled(True)

    def _load_sessions(self) -> None:
        self._loading.run(self._fetch_sessions(picked_date(self.day)))

    async def _fetch_sessions(self, day: date) -> None:
        self.session.clear()
        self.session.addItem("Loading sessions…", None)
        try:
            activities = await self._services.bookings.activities()
            sessions = await self._services.bookings.sessions(day, day)
        except ApiError as exc:
            self._show_error(exc)
            return
        self._activities = {str(a.id): a for a in activities}
        now = self._services.now()
        self._sessions = {str(s.id): s for s in sessions if s.ends_at > now}
        self.session.clear()
        zone = self._services.identity.timezone
        for slot in sorted(self._sessions.values(), key=lambda s: s.starts_at):
            activity = self._activities.get(str(slot.activity_id))
            name = activity.name if activity else "Activity"
            start = slot.starts_at.astimezone(ZoneInfo(zone))
            seats = f"{slot.remaining} left" if slot.status == "open" else slot.status
            self.session.addItem(f"{start:%H:%M}  {name} — {seats}", str(slot.id))
        if not self._sessions:
            self.session.addItem("No sessions left on this day", None)
        self._update_total()

    def _update_total(self) -> None:
        slot = self._sessions.get(self.session.currentData() or "")
        activity = self._activities.get(str(slot.activity_id)) if slot else None
        if activity is None:
            self.total.setText("–")
            return
        amount = (
            self.adult_count.value() * activity.adult_price
            + self.child_count.value() * activity.child_price
        )
        self.total.setText(format_amount(amount, activity.currency))

    def _submit(self) -> None:
        slot = self._sessions.get(self.session.currentData() or "")
        missing = [
            label
            for label, ok in (
                ("a session", slot is not None),
                ("a first name", bool(self.first_name.text().strip())),
                ("an email address", bool(self.email.text().strip())),
            )
            if not ok
        ]
        if missing or slot is None:
            self._show_error(ApiError(f"Please enter {', '.join(missing)}."))
            return
        request = NewBooking(
            session_id=slot.id,
            adult_count=self.adult_count.value(),
            child_count=self.child_count.value(),
            email=self.email.text(),
            first_name=self.first_name.text(),
            last_name=self.last_name.text(),
            phone=self.phone.text(),
            special_requests=self.requests.toPlainText(),
        )
        # Pressing again after an error that changed nothing resends with the same key.
        if self._request is not None and self._request.body() == request.body():
            request = self._request
        self._request = request
        self.buttons.setEnabled(False)
        self.error.hide()
        self._saving.run(self._create(request))

    async def _create(self, request: NewBooking) -> None:
        try:
            self.created = await self._services.bookings.create(request)
        except ApiError as exc:
            self._show_error(exc)
            return
        self.accept()


class CancelDialog(QDialog):
    """Ask for the reason of a cancellation (required, as the timeline records it)."""

    def __init__(self, booking_number: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Cancel {booking_number}")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason (at least 3 characters)")
        note = QLabel(
            "The seats go back on sale. Money is not moved here: refund separately if needed."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Cancel booking")
        self.ok.setEnabled(False)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Keep booking")
        self.reason.textChanged.connect(lambda t: self.ok.setEnabled(len(t.strip()) >= 3))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.reason)
        layout.addWidget(buttons)
