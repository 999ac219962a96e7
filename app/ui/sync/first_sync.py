"""The first sync of a new desk: how far it is, while the organization's bookings come in.

Not modal: staff can look at what has arrived so far. It closes by itself when the desk
has caught up, and says so when the service cannot be reached.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from app.sync.engine import Progress, SyncStatus
from app.ui.sync.bridge import SyncBridge

SHOW_AFTER_MS = 400  # a quick first sync needs no dialog
STEPS = 1000


class FirstSyncDialog(QDialog):
    """ "Getting this desk ready…" with a progress bar, rows so far, and a way to wait in
    the background."""

    def __init__(self, bridge: SyncBridge, organization: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Getting this desk ready")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setMinimumWidth(440)
        self.finished_sync = False
        intro = QLabel(
            f"Fetching the bookings and customers of {organization}, so that this desk "
            "also works when the service cannot be reached."
        )
        intro.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)  # until the service says how far there is to go
        self.rows = QLabel("Connecting to the service…")
        self.rows.setObjectName("muted")
        hide = QPushButton("Continue in the background")
        hide.clicked.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.bar)
        layout.addWidget(self.rows)
        layout.addWidget(hide, 0, Qt.AlignmentFlag.AlignRight)
        bridge.progress.connect(self.show_progress)
        bridge.status_changed.connect(self.show_status)
        QTimer.singleShot(SHOW_AFTER_MS, self._show_if_still_needed)

    def _show_if_still_needed(self) -> None:
        if not self.finished_sync:
            self.show()

    def show_progress(self, progress: Progress) -> None:
        if progress.target:
            self.bar.setRange(0, STEPS)
            self.bar.setValue(min(STEPS, STEPS * progress.cursor // progress.target))
        self.rows.setText(f"{progress.rows:,} bookings, customers and sessions so far")

    def show_status(self, status: SyncStatus) -> None:
        if status.first_sync_done:
            self.finished_sync = True
            self.close()
        elif status.online is False:
            self.rows.setText(
                "The service cannot be reached; the desk keeps trying and carries on by "
                "itself when it answers."
            )
