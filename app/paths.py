"""Where the files of ``resources/`` are: in a checkout, an installed wheel or a desk bundle.

A checkout (and an editable install) has them next to ``app/``; a wheel installs them as
data files under ``<prefix>/share/bookingtms/resources``; the PyInstaller bundle of the
desk carries them in its own directory.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


@cache
def resources_dir() -> Path:
    """The ``resources`` directory of this installation."""
    candidates = [
        Path(getattr(sys, "_MEIPASS", "")) / "resources" if hasattr(sys, "_MEIPASS") else None,
        Path(__file__).resolve().parents[1] / "resources",
        Path(sys.prefix) / "share" / "bookingtms" / "resources",
    ]
    for candidate in candidates:
        if candidate is not None and candidate.is_dir():
            return candidate
    raise FileNotFoundError("The resources directory of BookingTMS is missing.")


def resource(*parts: str) -> Path:
    """The path of ``resources/<parts…>``."""
    return resources_dir().joinpath(*parts)
