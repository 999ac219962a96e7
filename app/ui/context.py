"""What every screen of the signed-in desk is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.services.desk import DeskServices
from app.ui.settings import DeskSettings
from app.ui.tasks import TaskRunner


@dataclass(frozen=True)
class DeskContext:
    """Services, the task runner, settings, and the window's message banner."""

    services: DeskServices
    runner: TaskRunner
    settings: DeskSettings
    notify: Callable[[str, str], None]  # (message, kind): "info", "warning" or "error"
