"""The real service over real HTTP: uvicorn on 127.0.0.1 with a free port, in a thread.

End-to-end and desk tests talk to it exactly as the widget, Stripe and the desk do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from app.server.core.app import create_app
from app.server.core.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(settings: Settings, database_url: str) -> Iterator[str]:
    """Serve the app until the block ends; yields its base URL (no trailing slash)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, database_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    httpx.get(f"{url}/readyz", timeout=10).raise_for_status()
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
