"""A search box that reports what was typed once typing pauses."""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLineEdit, QWidget

DEBOUNCE_MS = 150


class SearchField(QLineEdit):
    """Emits :attr:`search` with the text ``DEBOUNCE_MS`` after the last keystroke."""

    search = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(lambda: self.search.emit(self.text()))
        self.textEdited.connect(lambda _: self._timer.start())
        self.returnPressed.connect(self._now)

    def _now(self) -> None:
        self._timer.stop()
        self.search.emit(self.text())
