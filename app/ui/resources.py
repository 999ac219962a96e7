"""Files under ``resources/``: the style sheet and icons."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

from app.paths import resource


def resource_path(name: str) -> Path:
    """The path of ``resources/<name>``."""
    return resource(name)


@cache
def style_sheet() -> str:
    """The desk's Qt style sheet."""
    return resource_path("desk.qss").read_text(encoding="utf-8")


def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` as an icon."""
    return QIcon(str(resource_path(f"icons/{name}.svg")))
