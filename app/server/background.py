"""The service in a background thread: for the demo (the desk owns the main thread) and
for end-to-end tests, which talk to it over real HTTP."""

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

STREAMS_CUT_AFTER_SECONDS = 2


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def service_in_thread(
    settings: Settings, database_url: str, *, port: int | None = None
) -> Iterator[str]:
    """Serve the app on ``settings.host`` until the block ends; yields its base URL."""
    host = settings.host
    port = port if port is not None else free_port(host)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database_url),
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            # Desks' event streams never end by themselves; outside the main thread
            # sse-starlette cannot see the shutdown, so they are cut after this long.
            timeout_graceful_shutdown=STREAMS_CUT_AFTER_SECONDS,
        )
    )
    thread = threading.Thread(target=server.run, name="bookingtms-service", daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"The service did not start on {url}.")
        time.sleep(0.02)
    httpx.get(f"{url}/readyz", timeout=10).raise_for_status()
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
