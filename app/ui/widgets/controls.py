"""Small constructors for controls used on several screens."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QPushButton

DATE_FORMAT = "ddd d MMM yyyy"


def segment_button(text: str) -> QPushButton:
    """A checkable button styled as one part of a segmented control."""
    button = QPushButton(text)
    button.setCheckable(True)
    button.setObjectName("segment")
    return button


def date_edit(day: date | None = None) -> QDateEdit:
    """A date field with a calendar popup, showing ``Sat 30 Nov 2026``."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(DATE_FORMAT)
    if day is not None:
        edit.setDate(QDate(day.year, day.month, day.day))
    return edit


def picked_date(edit: QDateEdit) -> date:
    """The date shown in ``edit``."""
    value = edit.date().toPython()
    assert isinstance(value, date)
    return value


def set_picked_date(edit: QDateEdit, day: date) -> None:
    """Show ``day`` in ``edit`` without announcing a change."""
    edit.blockSignals(True)
    edit.setDate(QDate(day.year, day.month, day.day))
    edit.blockSignals(False)
