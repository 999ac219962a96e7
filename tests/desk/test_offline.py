"""The desk without the service: the door answers from its copy, check-ins wait in the
status bar and go when it is back, a refusal lands in "Needs attention", lists and search
keep working, money says it needs the service; and the first sync's progress."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from app.domain.lifecycle import Action
from app.domain.roles import Role
from app.services.booking_actions import MoneyAction
from app.sync.cache import Cache
from app.sync.engine import Progress, SyncEngine, SyncStatus
from app.sync.remote import SyncApi
from app.ui.bookings.table_model import Columns
from app.ui.checkin.view import CheckInPage
from app.ui.main_window import MainWindow
from app.ui.sync.bridge import SyncBridge
from app.ui.sync.first_sync import STEPS, FirstSyncDialog
from tests.desk.conftest import Driver, book, mark_paid
from tests.factories import local_today_session_start, make_org, make_session
from tests.sync.proxy import ChaosProxy


@pytest.fixture(scope="module")
async def venue(db: Any, service_url: str) -> SimpleNamespace:
    """Today: four paid parties of two (one already checked in by the manager) and one of
    four."""
    org = await make_org(db, capacity=30)
    today = await make_session(db, org, starts_at=local_today_session_start(org))
    v = SimpleNamespace(org=org, manager=f"{Role.MANAGER.label} {org.slug[-3:]}")
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        for first, last in (("Olive", "Offline"), ("Carl", "Cancelled"),
                            ("Sandy", "Search"), ("Mona", "Manager")):  # fmt: skip
            booking = await book(http, org, today, first, last)
            await mark_paid(db, org, booking)
            setattr(v, first.lower(), booking)
        v.pat = await book(http, org, today, "Pat", "Party", adults=4)
        await mark_paid(db, org, v.pat)
        r = await http.post(
            "/checkins",
            headers=org.manager.headers,
            json={"booking_number": v.mona["booking_number"]},
        )
        assert r.json()["result"] == "ok", r.text
    return v


@pytest.fixture
def link(drive: Driver, service_url: str) -> Iterator[ChaosProxy]:
    """The desk's network link to the service, which a test can pull out."""
    target = urlparse(service_url)
    assert target.hostname and target.port
    proxy = drive.run(ChaosProxy(target.hostname, target.port).start())
    yield proxy
    drive.run(proxy.close())


def open_offline(drive: Driver, open_window, staff, link: ChaosProxy, page: str) -> MainWindow:  # type: ignore[no-untyped-def]
    """A desk that synced once, then lost its link to the service."""
    window: MainWindow = open_window(staff, page=page, base_url=link.url)
    drive.until(lambda: window.services.sync.status.first_sync_done, "the first sync")
    link.block()
    drive.until(lambda: window.connection_label.text().startswith("● Offline since "), "offline")
    return window


def scan(drive: Driver, qtbot, page: CheckInPage, number: str) -> None:  # type: ignore[no-untyped-def]
    before = page.card.answer
    qtbot.keyClicks(page.scan_field, number)
    qtbot.keyClick(page.scan_field, Qt.Key.Key_Return)
    drive.until(lambda: page.card.answer is not before, f"the answer to {number}")


def find_note_dialog(page: CheckInPage) -> QInputDialog | None:
    return next((d for d in page.findChildren(QInputDialog) if d.isVisible()), None)


def served(service_url: str, venue: SimpleNamespace, booking: dict[str, Any]) -> dict[str, Any]:
    r = httpx.get(
        f"{service_url}/api/v1/bookings/{booking['id']}", headers=venue.org.manager.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


class TestTheDoorOffline:
    def test_answers_from_the_copy_and_sends_when_the_service_is_back(
        self, drive: Driver, qtbot, open_window, link: ChaosProxy, venue: SimpleNamespace,
        service_url: str,
    ) -> None:  # fmt: skip
        window = open_offline(drive, open_window, venue.org.front_desk, link, "checkin")
        page = window.pages["checkin"]
        assert isinstance(page, CheckInPage)
        assert window.banner.text.text().startswith(f"Cannot reach the service at {link.url}.")

        scan(drive, qtbot, page, venue.olive["booking_number"])
        assert page.card.verdict.text() == "Checked in"
        assert window.waiting_label.isVisible()
        assert window.waiting_label.text() == "1 action waiting"
        page.card.note.click()
        drive.until(lambda: find_note_dialog(page), "the note dialog", settled=False)
        dialog = find_note_dialog(page)
        dialog.setTextValue("Brought their own torch")
        dialog.accept()
        drive.until(lambda: window.waiting_label.text() == "2 actions waiting", "the note queued")
        scan(drive, qtbot, page, venue.mona["booking_number"])
        assert page.card.verdict.text() == "Already checked in"
        assert page.card.message.text().endswith(f" by {venue.manager}.")
        scan(drive, qtbot, page, "BK-222222-2222")
        assert page.card.verdict.text() == "Unknown booking"
        assert served(service_url, venue, venue.olive)["status"] == "confirmed"

        link.unblock()
        drive.until(lambda: window.connection_label.text() == "● Online", "online again")
        drive.until(lambda: not window.waiting_label.isVisible(), "the queue sent")
        olive = served(service_url, venue, venue.olive)
        assert olive["status"] == "checked_in"
        assert "Brought their own torch" in olive["notes"]
        assert not window.conflicts_button.isVisible()

    def test_guests_arriving_offline_show_at_once_and_reach_the_service(
        self, drive: Driver, qtbot, open_window, link: ChaosProxy, venue: SimpleNamespace,
        service_url: str,
    ) -> None:  # fmt: skip
        window = open_offline(drive, open_window, venue.org.front_desk, link, "checkin")
        page = window.pages["checkin"]
        assert isinstance(page, CheckInPage)
        scan(drive, qtbot, page, venue.pat["booking_number"])
        card = page.card
        assert card.verdict.text() == "Checked in"
        assert card.guests.isVisible() and card.guests_of.text() == "of 4"

        card.guests.setValue(3)
        card.guests_save.click()
        drive.until(lambda: card.booking and card.booking.guests_arrived == 3, "3 of 4")
        assert window.waiting_label.text() == "2 actions waiting"
        drive.until(
            lambda: any(
                b.booking_number == venue.pat["booking_number"] and b.guests_arrived == 3
                for g in page.groups
                for b in g.bookings
            ),
            "the arrivals showing 3",
        )
        assert served(service_url, venue, venue.pat)["status"] == "confirmed"

        link.unblock()
        drive.until(lambda: not window.waiting_label.isVisible(), "the queue sent")
        pat = served(service_url, venue, venue.pat)
        assert (pat["status"], pat["guests_arrived"]) == ("checked_in", 3)
        assert not window.conflicts_button.isVisible()

    def test_a_cancellation_missed_offline_needs_attention(
        self, drive: Driver, qtbot, open_window, link: ChaosProxy, venue: SimpleNamespace,
        service_url: str,
    ) -> None:  # fmt: skip
        window = open_offline(drive, open_window, venue.org.front_desk, link, "checkin")
        page = window.pages["checkin"]
        assert isinstance(page, CheckInPage)
        r = httpx.post(
            f"{service_url}/api/v1/bookings/{venue.carl['id']}/cancel",
            headers=venue.org.manager.headers,
            json={"reason": "Weather"},
        )
        assert r.status_code == 200, r.text
        scan(drive, qtbot, page, venue.carl["booking_number"])
        assert page.card.verdict.text() == "Checked in"  # as far as this desk knows

        link.unblock()
        drive.until(lambda: window.conflicts_button.isVisible(), "the conflict")
        assert window.conflicts_button.text() == "1 conflict"
        window.conflicts_button.click()
        assert window.current_page == "attention"
        attention = window.attention
        drive.until(lambda: attention.list.topLevelItemCount() == 1, "the entry")
        item = attention.list.topLevelItem(0)
        assert item.text(1) == venue.carl["booking_number"]
        assert item.text(2) == "Carl Cancelled"
        assert item.text(3) == "Refused"
        assert item.text(4).startswith("Checked in offline at ")
        assert ", but the booking was cancelled at " in item.text(4)
        assert item.text(4).endswith(f"by {venue.manager}.")
        assert "Needs attention (1)" in [
            window.sidebar.item(i).text() for i in range(window.sidebar.count())
        ]
        # The desk's copy was corrected: the party is no longer expected today.
        drive.until(
            lambda: all(
                b.booking_number != venue.carl["booking_number"]
                for g in page.groups
                for b in g.bookings
            ),
            "the arrivals corrected",
        )

        attention.list.setCurrentItem(item)
        attention.dismiss_button.click()
        drive.until(lambda: attention.list.topLevelItemCount() == 0, "dismissed")
        assert not window.conflicts_button.isVisible()


class TestBookingsOffline:
    def test_search_and_detail_work_and_money_waits_for_the_service(
        self, drive: Driver, qtbot, open_window, link: ChaosProxy, venue: SimpleNamespace
    ) -> None:
        window = open_offline(drive, open_window, venue.org.manager, link, "bookings")
        page = window.pages["bookings"]
        qtbot.keyClicks(page.filters.search, "sandy")
        drive.until(
            lambda: [page.model.index(r, Columns.CUSTOMER).data()
                     for r in range(page.model.rowCount())] == ["Sandy Search"],
            "Sandy, found in the desk's copy",
        )  # fmt: skip
        page.table.selectRow(0)
        drive.until(lambda: page.detail.booking is not None, "the detail panel")
        assert page.detail.value("Customer") == "Sandy Search"
        assert page.detail.action_buttons[Action.CHECK_IN].isEnabled()
        refund = page.detail.money_buttons[MoneyAction.REFUND]
        assert not refund.isEnabled()
        assert refund.toolTip() == "Refund needs a connection to the service."
        assert not page.add_button.isEnabled()

        page.detail.action_buttons[Action.CHECK_IN].click()
        drive.until(
            lambda: page.model.index(0, Columns.STATUS).data() == "Checked in", "checked in"
        )
        assert window.waiting_label.text() == "1 action waiting"
        link.unblock()
        drive.until(lambda: not window.waiting_label.isVisible(), "the queue sent")


def test_the_first_sync_shows_how_far_it_is(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    engine = SyncEngine(
        Cache(tmp_path / "c.sqlite3"),
        SyncApi("http://127.0.0.1:9", lambda: None),
        timezone="UTC",
    )
    bridge = SyncBridge(engine)
    dialog = FirstSyncDialog(bridge, "Lantern Escapes")
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.bar.maximum() == 0  # how far is not known yet
    bridge.progress.emit(Progress(rows=12_500, cursor=400, target=1000, done=False))
    assert (dialog.bar.value(), dialog.bar.maximum()) == (STEPS * 400 // 1000, STEPS)
    assert dialog.rows.text() == "12,500 bookings, customers and sessions so far"
    bridge.status_changed.emit(SyncStatus(online=False))
    assert dialog.rows.text().startswith("The service cannot be reached")
    bridge.status_changed.emit(SyncStatus(online=True, first_sync_done=True))
    assert not dialog.isVisible()
    engine.cache.close()
