"""The real service over real HTTP, for end-to-end and desk tests."""

from __future__ import annotations

from app.server.background import free_port
from app.server.background import service_in_thread as live_server

__all__ = ["free_port", "live_server"]
