"""The calendar view of bookings: sessions as blocks with booked/capacity and their bookings.

Day view puts each activity in a column; week view puts each day in a column.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.domain.checkin import describe_day
from app.services.bookings import BookingFilter, BookingRow, SessionSlot
from app.services.desk import DeskServices
from app.ui.bookings.filters import week_of
from app.ui.tasks import LatestOnly, TaskRunner
from app.ui.widgets.chips import PALETTE, status_label
from app.ui.widgets.controls import segment_button


class SessionBlock(QFrame):
    """One session: its time, how full it is, and a line per booking (click to open)."""

    def __init__(
        self,
        slot: SessionSlot,
        title: str,
        bookings: list[BookingRow],
        timezone: ZoneInfo,
        on_booking: Callable[[uuid.UUID], None],
    ) -> None:
        super().__init__()
        self.setObjectName("sessionBlock")
        self.slot = slot
        self.bookings = bookings
        start, end = slot.starts_at.astimezone(timezone), slot.ends_at.astimezone(timezone)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(3)
        heading = QLabel(f"<b>{start:%H:%M}–{end:%H:%M}</b>" + (f"<br>{title}" if title else ""))
        layout.addWidget(heading)
        self.occupancy = QLabel(f"{slot.reserved}/{slot.capacity} booked")
        self.occupancy.setObjectName("occupancy")
        full = slot.reserved >= slot.capacity
        self.occupancy.setProperty("full", full)
        layout.addWidget(self.occupancy)
        for booking in bookings:
            background, foreground = PALETTE.get(f"status:{booking.status.value}", ("", ""))
            line = QPushButton(
                f"{booking.customer_name or booking.booking_number}  ×{booking.party_size}"
            )
            line.setObjectName("calendarBooking")
            line.setToolTip(f"{booking.booking_number} · {status_label(booking.status)}")
            line.setStyleSheet(f"border-left: 4px solid {foreground}; background: {background};")
            line.clicked.connect(lambda _=False, b=booking.id: on_booking(b))
            layout.addWidget(line)


class CalendarView(QWidget):
    """Day or week of sessions; emits :attr:`booking_selected` with a booking id."""

    booking_selected = Signal(object)

    def __init__(
        self, services: DeskServices, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._zone = ZoneInfo(services.identity.timezone)
        self._load = LatestOnly(runner)
        self._filters = BookingFilter()
        self._activity_names: dict[uuid.UUID, str] = {}
        self.anchor = services.today()
        self.mode = "day"
        self.blocks: list[SessionBlock] = []

        bar = QHBoxLayout()
        self.mode_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        for key, label in (("day", "Day"), ("week", "Week")):
            button = segment_button(label)
            button.clicked.connect(lambda _=False, k=key: self.set_mode(k))
            group.addButton(button)
            self.mode_buttons[key] = button
            bar.addWidget(button)
        self.mode_buttons["day"].setChecked(True)
        bar.addSpacing(12)
        for text, tip, step in (
            ("◀", "Earlier", -1),
            ("Today", "Back to today", 0),
            ("▶", "Later", 1),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=step: self.step(s))
            bar.addWidget(button)
        self.title = QLabel()
        self.title.setObjectName("calendarTitle")
        bar.addSpacing(12)
        bar.addWidget(self.title, 1)

        self.columns_host = QWidget()
        self.columns = QHBoxLayout(self.columns_host)
        self.columns.setAlignment(Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.columns_host)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)

    def days(self) -> tuple[date, date]:
        """The first and last day shown."""
        if self.mode == "week":
            return week_of(self.anchor)
        return self.anchor, self.anchor

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.mode_buttons[mode].setChecked(True)
        self.refresh()

    def step(self, step: int) -> None:
        """Go ``step`` days (or weeks) on; 0 goes back to today."""
        if step == 0:
            self.anchor = self._services.today()
        else:
            self.anchor += timedelta(days=step * (7 if self.mode == "week" else 1))
        self.refresh()

    def show_filter(self, filters: BookingFilter) -> None:
        """Use the page's status, activity and search; the calendar keeps its own days."""
        self._filters = filters
        self.refresh()

    def refresh(self) -> None:
        first, last = self.days()
        today = self._services.today()
        self.title.setText(
            describe_day(first, today)
            if first == last
            else f"{describe_day(first, today)} – {describe_day(last, today)}"
        )
        self._load.run(self._fetch(first, last))

    @property
    def loading(self) -> bool:
        return self._load.running

    async def _fetch(self, first: date, last: date) -> None:
        bookings = self._services.bookings
        if not self._activity_names:
            self._activity_names = {a.id: a.name for a in await bookings.activities()}
        sessions = await bookings.sessions(first, last, self._filters.activity_id)
        rows = await bookings.all(replace(self._filters, date_from=first, date_to=last))
        self._render(sessions, rows, first, last)

    def _render(
        self, sessions: list[SessionSlot], rows: list[BookingRow], first: date, last: date
    ) -> None:
        while (item := self.columns.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        self.blocks = []
        by_session: dict[uuid.UUID, list[BookingRow]] = defaultdict(list)
        for row in rows:
            by_session[row.session_id].append(row)
        narrowed = bool(self._filters.q.strip() or self._filters.statuses)
        shown = [s for s in sessions if by_session.get(s.id) or not narrowed]
        shown.sort(key=lambda s: s.starts_at)
        today = self._services.today()

        columns: dict[str, list[SessionSlot]] = {}
        if self.mode == "week":
            day = first
            while day <= last:
                columns[describe_day(day, today)] = [
                    s for s in shown if s.starts_at.astimezone(self._zone).date() == day
                ]
                day += timedelta(days=1)
        else:
            for slot in shown:
                name = self._activity_names.get(slot.activity_id, "Activity")
                columns.setdefault(name, []).append(slot)
            if not columns:
                columns["No sessions"] = []

        for heading, slots in columns.items():
            column = QFrame()
            column.setObjectName("calendarColumn")
            column.setMinimumWidth(230 if self.mode == "day" else 180)
            stack = QVBoxLayout(column)
            stack.setAlignment(Qt.AlignmentFlag.AlignTop)
            title = QLabel(heading)
            title.setObjectName("columnTitle")
            stack.addWidget(title)
            for slot in slots:
                name = self._activity_names.get(slot.activity_id, "") if self.mode == "week" else ""
                block = SessionBlock(
                    slot,
                    name,
                    by_session.get(slot.id, []),
                    self._zone,
                    self.booking_selected.emit,
                )
                self.blocks.append(block)
                stack.addWidget(block)
            if not slots:
                empty = QLabel("No sessions")
                empty.setObjectName("placeholder")
                stack.addWidget(empty)
            self.columns.addWidget(column)
