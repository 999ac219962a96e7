"""The desk started cold, exactly as ``bookingtms desk`` starts with a remembered sign-in.

Run by ``bench.sync`` as a new process whose XDG directories point at a scratch home
holding the full cache: it imports nothing but the command line's module, puts the token
where the keyring would hold it, runs ``bookingtms desk --server URL`` and, from a timer
on the GUI loop, prints (as JSON) the wall-clock time at which the Bookings page first
shows rows and the process's resident memory then; then it leaves.

    python -m bench.desk_start URL EMAIL TOKEN
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(server_url: str, email: str, token: str) -> None:
    import keyring
    from keyring.backend import KeyringBackend
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app import cli
    from app.ui.main import qt_event_loop
    from app.ui.main_window import MainWindow
    from app.ui.settings import DeskSettings

    class SessionKeyring(KeyringBackend):
        """The OS keyring's part: holds the remembered token for this process."""

        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.tokens: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.tokens.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.tokens[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.tokens.pop((service, username), None)

    keyring.set_keyring(SessionKeyring())
    from app.services.credentials import CredentialStore

    CredentialStore().save(server_url, email, token)
    qt_event_loop()  # the same QApplication the command makes, made first to watch it
    settings = DeskSettings()
    settings.server_url, settings.last_email, settings.remember = server_url, email, True
    settings.sync()

    def shown() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.pages["bookings"].model.rowCount():
                print(json.dumps({"interactive_at": time.time(), "rss_mb": rss_mb()}), flush=True)
                os._exit(0)  # measured; nothing of the desk's shutdown matters here

    watch = QTimer()
    watch.timeout.connect(shown)
    watch.start(5)
    cli.main(["desk", "--server", server_url])


def rss_mb() -> float:
    """Resident memory of this process now, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main(*sys.argv[1:4])
