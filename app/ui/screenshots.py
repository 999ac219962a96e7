"""Screenshots of every desk page, taken from the running demo (``bookingtms screenshots``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.services.credentials import CredentialStore
from app.ui.bookings.view import BookingsPage
from app.ui.main import DeskApp, qt_event_loop
from app.ui.settings import DeskSettings

SETTLE_SECONDS = 3.0


async def _capture(desk: DeskApp, out: Path) -> None:
    for _ in range(600):
        if desk.window is not None:
            break
        await asyncio.sleep(0.05)
    window = desk.window
    if window is None:
        raise RuntimeError("The desk did not sign in.")
    window.resize(1440, 900)
    window.show()

    async def save(name: str) -> None:
        await asyncio.sleep(SETTLE_SECONDS)  # let the page load its data from the service
        path = out / f"{name}.png"
        window.grab().save(str(path))
        print(f"saved {path}", flush=True)

    for page in list(window.pages):
        window.show_page(page)
        await save(page)
    bookings = window.pages["bookings"]
    assert isinstance(bookings, BookingsPage)
    window.show_page("bookings")
    bookings.view_buttons["calendar"].click()
    await save("bookings-calendar-day")
    bookings.calendar.mode_buttons["week"].click()
    await save("bookings-calendar-week")
    bookings.calendar.mode_buttons["day"].click()
    bookings.view_buttons["table"].click()  # the view is remembered: leave the demo's as it was


def capture_screenshots(server_url: str, email: str, password: str, out: Path) -> None:
    """Sign in to ``server_url``, visit each page and save ``<page>.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    loop = qt_event_loop()
    desk = DeskApp(loop, DeskSettings(), CredentialStore(), server_url)
    desk.start(email, password)
    with loop:
        loop.run_until_complete(_capture(desk, out))
