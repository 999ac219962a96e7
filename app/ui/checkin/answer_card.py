"""The answer at the door: a coloured card with a verdict, a sentence and what to do next."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.checkin import CheckInResult
from app.domain.lifecycle import Action, BookingStatus
from app.domain.roles import Role
from app.services.booking_actions import action_state
from app.services.bookings import BookingDetail
from app.services.checkin import ScanAnswer
from app.ui.formatting import day_and_time
from app.ui.widgets.chips import PALETTE

VERDICTS = {
    CheckInResult.OK: "Checked in",
    CheckInResult.ALREADY_CHECKED_IN: "Already checked in",
    CheckInResult.NOT_TODAY: "Not today",
    CheckInResult.CANCELLED: "Cancelled",
    CheckInResult.EXPIRED: "Expired",
    CheckInResult.UNPAID: "Unpaid",
    CheckInResult.UNKNOWN: "Unknown booking",
}


class AnswerCard(QFrame):
    """Shows a :class:`ScanAnswer`; offers undo, guests arrived, the unpaid override and a
    note on the booking."""

    undo_requested = Signal(object)  # BookingDetail
    override_requested = Signal(object)  # BookingDetail
    guests_changed = Signal(object, int)  # BookingDetail, guests arrived
    note_requested = Signal(object)  # BookingDetail

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerCard")
        self.answer: ScanAnswer | None = None
        self.verdict = QLabel("Ready")
        self.verdict.setObjectName("verdict")
        self.message = QLabel("Scan a booking's code or type its number, then press Enter.")
        self.message.setObjectName("verdictMessage")
        self.message.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setObjectName("verdictSummary")
        self.summary.setWordWrap(True)

        self.guests = QSpinBox()
        self.guests.setMinimum(1)
        self.guests_label = QLabel("Guests arrived:")
        self.guests_of = QLabel()
        self.guests_save = QPushButton("Save")
        self.guests_save.setToolTip(
            "Record how many are here (kept with the booking, also offline)"
        )
        self.guests_save.clicked.connect(self._save_guests)
        self.undo = QPushButton("Undo check-in")
        self.undo.setToolTip("Take back this check-in (Ctrl+Z)")
        self.undo.clicked.connect(self._undo)
        self.override = QPushButton("Payment taken — check in")
        self.override.setObjectName("primary")
        self.override.clicked.connect(self._override)
        self.note = QPushButton("Add note…")
        self.note.setToolTip("Add a note to this booking (kept with it, also offline)")
        self.note.clicked.connect(self._note)
        controls = QHBoxLayout()
        for widget in (self.guests_label, self.guests, self.guests_of, self.guests_save):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.note)
        controls.addWidget(self.override)
        controls.addWidget(self.undo)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(self.verdict)
        layout.addWidget(self.message)
        layout.addWidget(self.summary)
        layout.addLayout(controls)
        self._colour("checkin:none")
        self._show_controls(None, False, False)

    @property
    def booking(self) -> BookingDetail | None:
        """The booking of the answer shown, if any."""
        return self.answer.booking if self.answer else None

    def _undo(self) -> None:
        if self.booking is not None:
            self.undo_requested.emit(self.booking)

    def _override(self) -> None:
        if self.booking is not None:
            self.override_requested.emit(self.booking)

    def _note(self) -> None:
        if self.booking is not None:
            self.note_requested.emit(self.booking)

    def _save_guests(self) -> None:
        if self.booking is not None:
            self.guests_changed.emit(self.booking, self.guests.value())

    def _colour(self, key: str) -> None:
        background, foreground = PALETTE.get(key, ("#ffffff", "#0f172a"))
        self.setStyleSheet(
            f"QFrame#answerCard {{ background: {background}; border-radius: 12px; }}"
            f"QFrame#answerCard QLabel {{ color: {foreground}; }}"
        )

    def _show_controls(self, booking: BookingDetail | None, undo: bool, override: bool) -> None:
        partial = (
            booking is not None
            and booking.status is BookingStatus.CHECKED_IN
            and booking.party_size > 1
        )
        for widget in (self.guests_label, self.guests, self.guests_of, self.guests_save):
            widget.setVisible(partial)
        if partial and booking is not None:
            self.guests.setMaximum(booking.party_size)
            self.guests.setValue(max(booking.guests_arrived, 1))
            self.guests_of.setText(f"of {booking.party_size}")
        self.undo.setVisible(undo)
        self.override.setVisible(override)
        self.note.setVisible(booking is not None)

    def show_answer(
        self, answer: ScanAnswer, role: Role, timezone: str, now: datetime, today: date
    ) -> None:
        """Show ``answer`` in its colour, with the actions that make sense for it."""
        self.answer = answer
        self._colour(f"checkin:{answer.result.value}")
        self.verdict.setText(VERDICTS[answer.result])
        self.message.setText(answer.message)
        booking = answer.booking
        if booking is None:
            self.summary.setText("")
            self._show_controls(None, False, False)
            return
        self.summary.setText(
            f"{booking.booking_number} · {booking.customer_name} · {booking.activity_name} · "
            f"{day_and_time(booking.booking_date, booking.start_time, today)} · "
            f"party of {booking.party_size}"
        )
        undo = action_state(Action.UNDO_CHECK_IN, booking, role, timezone, now).enabled
        override = (
            answer.result is CheckInResult.UNPAID
            and booking.status is BookingStatus.CONFIRMED
            and booking.booking_date == today
        )
        self._show_controls(booking, undo, override)
