"""Where a desk keeps its cache: the user data directory, one file per service and
organization (signing in elsewhere never mixes venues' rows)."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

import platformdirs

APP_NAME = "BookingTMS Desk"
APP_AUTHOR = "BookingTMS"


def data_dir() -> Path:
    """The desk's per-user data directory (e.g. ``~/.local/share/BookingTMS Desk``)."""
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def cache_path(server_url: str, organization_id: uuid.UUID, base: Path | None = None) -> Path:
    """The cache file of ``organization_id`` at ``server_url``, under ``base`` (default:
    :func:`data_dir`)."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", server_url.split("://", 1)[-1]).strip("_")
    digest = hashlib.sha256(server_url.encode()).hexdigest()[:8]
    folder = (base or data_dir()) / "cache" / f"{readable[:60]}-{digest}"
    return folder / f"{organization_id}.sqlite3"
