"""The service as a real process (``bookingtms server``) that a test can stop, kill and start
again on the same port, as an outage would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from app.server.background import free_port


class ServiceProcess:
    """``bookingtms server`` on ``database_url``, always on the same port."""

    def __init__(self, database_url: str, port: int | None = None) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ServiceProcess:
        env = {**os.environ, "DATABASE_URL": self.database_url, "BOOKINGTMS_RUN_JOBS": "false",
               "BOOKINGTMS_LOG_LEVEL": "warning"}  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "server", "--port", str(self.port)], env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the service did not become ready")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the process (SIGTERM: a shutdown; SIGKILL: a crash) and wait for it."""
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
