"""The calendar view of bookings: sessions as blocks on a time axis, with booked/capacity
and their bookings.

Day view puts each activity in a column; week view puts each day in a column. Blocks sit at
their start time and are as tall as they last; overlapping sessions share the column's
width side by side; today's column has a line at the current time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
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

HEADER_HEIGHT = 30
LINE_HEIGHT = 24
DEFAULT_HOURS = (9, 21)


class SessionBlock(QFrame):
    """One session: its time, how full it is, and its bookings (click one to open it).

    Its height is its duration on the time axis. Bookings that do not fit get a "+N more"
    menu; a ``compact`` block (the week view's narrow lanes) shows only its start and
    occupancy, with every booking in its menu.
    """

    def __init__(
        self,
        slot: SessionSlot,
        title: str,
        bookings: list[BookingRow],
        timezone: ZoneInfo,
        on_booking: Callable[[uuid.UUID], None],
        height: int,
        *,
        compact: bool = False,
    ) -> None:
        super().__init__()
        self.setObjectName("sessionBlock")
        self.slot = slot
        self.bookings = bookings
        start, end = slot.starts_at.astimezone(timezone), slot.ends_at.astimezone(timezone)
        self.setToolTip(
            f"{start:%H:%M}–{end:%H:%M} {title}\n{slot.reserved}/{slot.capacity} booked"
            + "".join(f"\n{b.booking_number} {b.customer_name} ×{b.party_size}" for b in bookings)
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4 if compact else 8, 3, 4 if compact else 8, 3)
        layout.setSpacing(2)
        time_text = f"{start:%H:%M}" if compact else f"{start:%H:%M}–{end:%H:%M}"
        layout.addWidget(
            QLabel(f"<b>{time_text}</b>" + (f" {title}" if title and not compact else ""))
        )
        occupancy = f"{slot.reserved}/{slot.capacity}" + ("" if compact else " booked")
        self.occupancy = QLabel(occupancy)
        self.occupancy.setObjectName("occupancy")
        self.occupancy.setProperty("full", slot.reserved >= slot.capacity)
        layout.addWidget(self.occupancy)
        room = 0 if compact else max((height - 44) // LINE_HEIGHT, 0)
        shown = bookings if len(bookings) <= room else bookings[: max(room - 1, 0)]
        for booking in shown:
            layout.addWidget(self._line(booking, on_booking))
        hidden = bookings[len(shown) :]
        if hidden:
            more = QPushButton(f"{len(hidden)} ▾" if compact else f"+{len(hidden)} more")
            more.setObjectName("calendarMore")
            menu = QMenu(more)
            for booking in hidden:
                action = menu.addAction(
                    f"{booking.customer_name or booking.booking_number}  ×{booking.party_size}"
                    f"  · {status_label(booking.status)}"
                )
                action.triggered.connect(lambda _=False, b=booking.id: on_booking(b))
            more.setMenu(menu)
            layout.addWidget(more)
        layout.addStretch(1)

    @staticmethod
    def _line(booking: BookingRow, on_booking: Callable[[uuid.UUID], None]) -> QPushButton:
        background, foreground = PALETTE.get(f"status:{booking.status.value}", ("", ""))
        line = QPushButton(
            f"{booking.customer_name or booking.booking_number}  ×{booking.party_size}"
        )
        line.setObjectName("calendarBooking")
        line.setToolTip(f"{booking.booking_number} · {status_label(booking.status)}")
        line.setStyleSheet(f"border-left: 4px solid {foreground}; background: {background};")
        line.clicked.connect(lambda _=False, b=booking.id: on_booking(b))
        return line


@dataclass(frozen=True)
class TimeAxis:
    """The hours shown, from ``first_hour`` to ``last_hour`` (venue time)."""

    first_hour: int
    last_hour: int
    px_per_minute: float = 2.0

    @classmethod
    def around(
        cls, slots: list[SessionSlot], timezone: ZoneInfo, px_per_minute: float = 2.0
    ) -> TimeAxis:
        """Whole hours covering every session, or the usual opening hours when none."""
        if not slots:
            return cls(*DEFAULT_HOURS, px_per_minute)
        starts = [s.starts_at.astimezone(timezone) for s in slots]
        ends = [s.ends_at.astimezone(timezone) for s in slots]
        first = min(t.hour for t in starts)
        last = max(
            24 if e.date() > st.date() else e.hour + (1 if e.minute else 0)
            for st, e in zip(starts, ends, strict=True)
        )
        return cls(first, max(last, first + 1), px_per_minute)

    @property
    def height(self) -> int:
        return round((self.last_hour - self.first_hour) * 60 * self.px_per_minute)

    def y(self, moment: datetime, timezone: ZoneInfo) -> int:
        """Pixels from the top of the axis to ``moment`` (clamped to the axis)."""
        local = moment.astimezone(timezone)
        minutes = (local.hour - self.first_hour) * 60 + local.minute
        return max(0, min(round(minutes * self.px_per_minute), self.height))


def lanes(slots: list[SessionSlot]) -> dict[uuid.UUID, tuple[int, int]]:
    """Side-by-side lanes for overlapping sessions: id → (lane, lanes in its cluster)."""
    placed: dict[uuid.UUID, int] = {}
    result: dict[uuid.UUID, tuple[int, int]] = {}
    cluster: list[SessionSlot] = []
    cluster_end: datetime | None = None
    ends: list[datetime] = []

    def close() -> None:
        width = max((placed[s.id] for s in cluster), default=-1) + 1
        for s in cluster:
            result[s.id] = (placed[s.id], width)

    for slot in sorted(slots, key=lambda s: (s.starts_at, s.ends_at)):
        if cluster_end is not None and slot.starts_at >= cluster_end:
            close()
            cluster, ends = [], []
        lane = next((i for i, end in enumerate(ends) if end <= slot.starts_at), len(ends))
        if lane == len(ends):
            ends.append(slot.ends_at)
        else:
            ends[lane] = slot.ends_at
        placed[slot.id] = lane
        cluster.append(slot)
        cluster_end = max(cluster_end, slot.ends_at) if cluster_end else slot.ends_at
    close()
    return result


class HourRuler(QWidget):
    """The hour labels left of the columns."""

    def __init__(self, axis: TimeAxis) -> None:
        super().__init__()
        self.axis = axis
        self.setFixedWidth(48)
        self.setFixedHeight(HEADER_HEIGHT + axis.height + 8)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(QColor("#64748b"))
        for hour in range(self.axis.first_hour, self.axis.last_hour + 1):
            y = HEADER_HEIGHT + round((hour - self.axis.first_hour) * 60 * self.axis.px_per_minute)
            painter.drawText(0, y - 6, 42, 14, Qt.AlignmentFlag.AlignRight, f"{hour % 24:02d}:00")
        painter.end()


class TimeColumn(QFrame):
    """A day or an activity: its title, hour lines, and its session blocks at their times."""

    def __init__(self, title: str, axis: TimeAxis, now_y: int | None = None) -> None:
        super().__init__()
        self.setObjectName("calendarColumn")
        self.axis = axis
        self.now_y = now_y
        self.placed: list[tuple[SessionBlock, int, int, int, int]] = []
        self.setFixedHeight(HEADER_HEIGHT + axis.height + 8)
        self.title = QLabel(title, self)
        self.title.setObjectName("columnTitle")

    def place(self, block: SessionBlock, top: int, height: int, lane: int, width: int) -> None:
        block.setParent(self)
        self.placed.append((block, top, height, lane, width))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.title.setGeometry(6, 4, self.width() - 12, HEADER_HEIGHT - 6)
        usable = self.width() - 8
        for block, top, height, lane, width in self.placed:
            share = usable / width
            block.setGeometry(
                round(4 + lane * share), HEADER_HEIGHT + top, round(share) - 2, height
            )

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        painter.setPen(QPen(QColor("#e2e8f0"), 1))
        for hour in range(self.axis.last_hour - self.axis.first_hour + 1):
            y = HEADER_HEIGHT + round(hour * 60 * self.axis.px_per_minute)
            painter.drawLine(0, y, self.width(), y)
        if self.now_y is not None:
            painter.setPen(QPen(QColor("#dc2626"), 2))
            painter.drawLine(
                0, HEADER_HEIGHT + self.now_y, self.width(), HEADER_HEIGHT + self.now_y
            )
        painter.end()


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
        self.scroll_area = scroll = QScrollArea()
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

        columns: dict[str, tuple[list[SessionSlot], date]] = {}
        if self.mode == "week":
            day = first
            while day <= last:
                columns[describe_day(day, today)] = (
                    [s for s in shown if s.starts_at.astimezone(self._zone).date() == day],
                    day,
                )
                day += timedelta(days=1)
        else:
            for slot in shown:
                name = self._activity_names.get(slot.activity_id, "Activity")
                columns.setdefault(name, ([], first))[0].append(slot)
            if not columns:
                columns["No sessions"] = ([], first)

        week = self.mode == "week"
        axis = TimeAxis.around(shown, self._zone, 1.4 if week else 2.0)
        now = datetime.now(self._zone)
        self.columns.addWidget(HourRuler(axis), 0, Qt.AlignmentFlag.AlignTop)
        for heading, (slots, column_day) in columns.items():
            now_y = axis.y(now, self._zone) if column_day == today else None
            column = TimeColumn(heading, axis, now_y)
            column.setMinimumWidth(170 if week else 230)
            placing = lanes(slots)
            for slot in slots:
                lane, width = placing[slot.id]
                top = axis.y(slot.starts_at, self._zone)
                height = max(axis.y(slot.ends_at, self._zone) - top, 40)
                block = SessionBlock(
                    slot, self._activity_names.get(slot.activity_id, "") if week else "",
                    by_session.get(slot.id, []), self._zone, self.booking_selected.emit, height,
                    compact=week,
                )  # fmt: skip
                column.place(block, top, height, lane, width)
                self.blocks.append(block)
            self.columns.addWidget(column, 1, Qt.AlignmentFlag.AlignTop)
        # Evening venues open late: start at the current time on today's page, else at the top.
        shown_now = today in {d for _, d in columns.values()}
        target = axis.y(now, self._zone) - 60 if shown_now else 0
        self.scroll_area.verticalScrollBar().setValue(max(target, 0))
