"""The Bookings page's filter bar: date range, status, activity and search."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from app.domain.lifecycle import STATUS_RULES, BookingStatus
from app.services.bookings import Activity, BookingFilter
from app.ui.widgets.controls import date_edit, picked_date, segment_button, set_picked_date
from app.ui.widgets.search_field import SearchField

RANGES = ("today", "week", "all", "custom")
RANGE_LABELS = {"today": "Today", "week": "This week", "all": "All dates", "custom": "Custom"}


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday around ``day`` (the week the stats count)."""
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


class BookingFilterBar(QWidget):
    """Emits :attr:`changed` whenever the filter changes (search after a typing pause)."""

    changed = Signal()

    def __init__(self, today: Callable[[], date], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._today = today
        self.range_buttons: dict[str, QPushButton] = {}
        self._range_group = QButtonGroup(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for key in RANGES:
            button = segment_button(RANGE_LABELS[key])
            self._range_group.addButton(button)
            self.range_buttons[key] = button
            layout.addWidget(button)
        self.range_buttons["today"].setChecked(True)
        self._range_group.buttonClicked.connect(lambda _: self._range_changed())

        self.date_from = date_edit()
        self.date_to = date_edit()
        self.date_dash = QLabel("–")
        self._custom_dates_set = False
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(lambda _: self.changed.emit())
        for widget in (self.date_from, self.date_dash, self.date_to):
            widget.hide()
            layout.addWidget(widget)
        layout.addSpacing(12)

        self.status = QComboBox()
        self.status.setAccessibleName("Status")
        self.status.addItem("All statuses", None)
        for status in BookingStatus:
            self.status.addItem(STATUS_RULES[status].label, status.value)
        self.status.currentIndexChanged.connect(lambda _: self.changed.emit())
        layout.addWidget(self.status)

        self.activity = QComboBox()
        self.activity.setAccessibleName("Activity")
        self.activity.addItem("All activities", None)
        self.activity.currentIndexChanged.connect(lambda _: self.changed.emit())
        layout.addWidget(self.activity)

        self.search = SearchField("Search number, name, email, phone…")
        self.search.setMinimumWidth(260)
        self.search.search.connect(lambda _: self.changed.emit())
        layout.addWidget(self.search, 1)

    def set_activities(self, activities: list[Activity]) -> None:
        """Offer these activities, keeping the current choice when it still exists."""
        current = self.activity.currentData()
        self.activity.blockSignals(True)
        self.activity.clear()
        self.activity.addItem("All activities", None)
        for activity in activities:
            self.activity.addItem(activity.name, str(activity.id))
        index = self.activity.findData(current)
        self.activity.setCurrentIndex(max(index, 0))
        self.activity.blockSignals(False)

    def set_range(self, key: str) -> None:
        """Choose ``today``, ``week``, ``all`` or ``custom``."""
        self.range_buttons[key].setChecked(True)
        self._range_changed()

    @property
    def range_key(self) -> str:
        return next(k for k, b in self.range_buttons.items() if b.isChecked())

    def _range_changed(self) -> None:
        custom = self.range_key == "custom"
        if custom and not self._custom_dates_set:
            self._custom_dates_set = True
            first, last = week_of(self._today())
            set_picked_date(self.date_from, first)
            set_picked_date(self.date_to, last)
        for widget in (self.date_from, self.date_dash, self.date_to):
            widget.setVisible(custom)
        self.changed.emit()

    def dates(self) -> tuple[date | None, date | None]:
        """The chosen date range (``None`` ends are open)."""
        today = self._today()
        match self.range_key:
            case "today":
                return today, today
            case "week":
                return week_of(today)
            case "custom":
                first, last = picked_date(self.date_from), picked_date(self.date_to)
                return (first, last) if first <= last else (last, first)
            case _:
                return None, None

    def current(self) -> BookingFilter:
        """The filter as chosen now."""
        first, last = self.dates()
        status = self.status.currentData()
        activity = self.activity.currentData()
        return BookingFilter(
            date_from=first,
            date_to=last,
            statuses=(BookingStatus(status),) if status else (),
            activity_id=uuid.UUID(activity) if activity else None,
            q=self.search.text(),
        )
