"""The one bridge from the sync engine (no Qt) to the widgets: its events as Qt signals.

The engine calls its listeners on the event loop's thread, which under qasync is the GUI
thread, so the signals are emitted directly.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.sync.engine import CacheChanged, Progress, StatusChanged, SyncEngine, SyncEvent


class SyncBridge(QObject):
    """``status_changed(SyncStatus)``, ``cache_changed(CacheChanged)``,
    ``progress(Progress)``."""

    status_changed = Signal(object)
    cache_changed = Signal(object)
    progress = Signal(object)

    def __init__(self, engine: SyncEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        engine.add_listener(self._event)

    def _event(self, event: SyncEvent) -> None:
        if isinstance(event, StatusChanged):
            self.status_changed.emit(event.status)
        elif isinstance(event, CacheChanged):
            self.cache_changed.emit(event)
        elif isinstance(event, Progress):
            self.progress.emit(event)

    def detach(self) -> None:
        """Stop listening (the window is closing)."""
        self._engine.remove_listener(self._event)
