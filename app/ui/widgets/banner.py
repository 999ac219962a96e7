"""An inline message strip at the top of the window: errors, warnings and confirmations."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

INFO_SECONDS = 6


class MessageBanner(QFrame):
    """Shows one message at a time; errors stay until closed, notices fade by themselves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.text = QLabel()
        self.text.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setObjectName("bannerClose")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    @property
    def kind(self) -> str:
        return str(self.property("kind") or "")

    def show_message(self, message: str, kind: str = "error") -> None:
        """Show ``message``; ``kind`` is ``error``, ``warning`` or ``info``."""
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.text.setText(message)
        self.show()
        if kind == "info":
            self._timer.start(INFO_SECONDS * 1000)
        else:
            self._timer.stop()
