"""The Check-in page: every answer kind from a typed number and Enter, arrivals, undo,
parties arriving in parts."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt

from app.domain.checkin import describe_day
from app.ui.checkin.view import NUMBER_ROLE, CheckInPage
from tests.desk.conftest import Driver, book, mark_paid, update_booking
from tests.factories import local_today_session_start, make_org, make_session


@pytest.fixture(scope="module")
async def door(db: Any, service_url: str) -> SimpleNamespace:
    """Today's bookings in every state the door can meet, and one for another day."""
    org = await make_org(db, capacity=30)
    today = await make_session(db, org, starts_at=local_today_session_start(org))
    later = await make_session(db, org, starts_at=org.now_local() + timedelta(days=2))
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        b = SimpleNamespace(org=org)
        b.paid = await book(http, org, today, "Paula", "Paid")
        b.already = await book(http, org, today, "Andy", "Already")
        b.later = await book(http, org, later, "Nina", "Later")
        b.cancelled = await book(http, org, today, "Cora", "Cancel")
        b.expired = await book(http, org, today, "Eddie", "Expired")
        b.unpaid = await book(http, org, today, "Ursula", "Unpaid")
        b.party = await book(http, org, today, "Parker", "Party", adults=4)
        b.keyed = await book(http, org, today, "Kim", "Key")
        for booking in (b.paid, b.already, b.later, b.party, b.keyed):
            await mark_paid(db, org, booking)
        await update_booking(db, org, b.expired["id"], status="expired")
        r = await http.post(
            f"/bookings/{b.cancelled['id']}/cancel",
            headers=org.manager.headers,
            json={"reason": "Changed plans"},
        )
        assert r.status_code == 200, r.text
        r = await http.post(
            "/checkins",
            headers=org.manager.headers,
            json={"booking_number": b.already["booking_number"]},
        )
        assert r.json()["result"] == "ok", r.text
    return b


def open_checkin(drive: Driver, open_window, staff) -> CheckInPage:  # type: ignore[no-untyped-def]
    window = open_window(staff, page="checkin")
    page = window.pages["checkin"]
    drive.until(lambda: page.groups, "today's arrivals")
    return page


def scan(drive: Driver, qtbot, page: CheckInPage, text: str) -> None:  # type: ignore[no-untyped-def]
    before = page.card.answer
    qtbot.keyClicks(page.scan_field, text)
    qtbot.keyClick(page.scan_field, Qt.Key.Key_Return)
    assert page.scan_field.text() == ""  # ready for the next scan at once
    drive.until(lambda: page.card.answer is not before, f"the answer to {text}")


@pytest.fixture
def page(drive: Driver, open_window, door: SimpleNamespace) -> CheckInPage:  # type: ignore[no-untyped-def]
    return open_checkin(drive, open_window, door.org.front_desk)


class TestAnswers:
    def test_ok_checks_the_party_in(
        self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        scan(drive, qtbot, page, door.paid["booking_number"])
        assert page.card.verdict.text() == "Checked in"
        assert page.card.message.text() == "Checked in."
        assert page.card.summary.text().startswith(
            f"{door.paid['booking_number']} · Paula Paid · Mystery Room · Today "
        )
        assert page.card.undo.isVisible()
        assert "#dcfce7" in page.card.styleSheet()  # green

    def test_already_checked_in_says_when_and_by_whom(
        self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        scan(drive, qtbot, page, door.already["booking_number"].lower())
        assert page.card.verdict.text() == "Already checked in"
        manager = f"Manager {door.org.slug[-3:]}"
        assert page.card.message.text().startswith("Already checked in at ")
        assert page.card.message.text().endswith(f" by {manager}.")
        assert "#dbeafe" in page.card.styleSheet()  # blue

    def test_not_today_gives_the_booking_date(
        self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        scan(drive, qtbot, page, door.later["booking_number"])
        day = (door.org.now_local() + timedelta(days=2)).date()
        today = door.org.now_local().date()
        assert page.card.verdict.text() == "Not today"
        assert page.card.message.text() == f"Booking is for {describe_day(day, today)}."

    def test_cancelled(
        self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        scan(drive, qtbot, page, door.cancelled["booking_number"])
        assert page.card.verdict.text() == "Cancelled"
        assert page.card.message.text() == "This booking was cancelled."
        assert "#fee2e2" in page.card.styleSheet()  # red

    def test_expired(self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace) -> None:
        scan(drive, qtbot, page, door.expired["booking_number"])
        assert page.card.verdict.text() == "Expired"
        assert page.card.message.text() == "This booking was never paid and expired."

    def test_unpaid_shows_the_balance_and_can_be_overridden(
        self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        scan(drive, qtbot, page, door.unpaid["booking_number"])
        assert page.card.verdict.text() == "Unpaid"
        assert page.card.message.text() == "Unpaid: $60.00 due."
        assert page.card.override.isVisible()
        before = page.card.answer
        page.card.override.click()
        drive.until(lambda: page.card.answer is not before, "the override's answer")
        assert page.card.verdict.text() == "Checked in"

    def test_unknown_numbers_and_text_that_is_no_number(
        self, drive: Driver, qtbot, page: CheckInPage
    ) -> None:
        scan(drive, qtbot, page, "BK-222222-2222")
        assert page.card.verdict.text() == "Unknown booking"
        assert page.card.message.text() == "No booking with that number."
        scan(drive, qtbot, page, "hello")
        assert page.card.verdict.text() == "Unknown booking"


class TestArrivals:
    def arrival(self, page: CheckInPage, number: str) -> Any:
        for g in range(page.arrivals.topLevelItemCount()):
            group = page.arrivals.topLevelItem(g)
            for i in range(group.childCount()):
                if group.child(i).data(0, NUMBER_ROLE) == number:
                    return group.child(i)
        return None

    def test_grouped_by_session_time_with_counts(
        self, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        (group,) = page.groups
        head = page.arrivals.topLevelItem(0)
        assert head.text(0) == f"{group.start_time:%H:%M}"
        assert head.text(1) == f"{group.arrived} of {group.expected} arrived"
        names = {b.customer_name for b in group.bookings}
        assert "Cora Cancel" not in names and "Eddie Expired" not in names
        assert "Nina Later" not in names
        assert page.day_summary.text().startswith("Today: ")

    def test_one_keystroke_checks_in_the_selected_arrival_and_undo_takes_it_back(
        self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        number = door.keyed["booking_number"]
        item = self.arrival(page, number)
        assert item.text(5) == "Confirmed"
        page.arrivals.setCurrentItem(item)
        page.arrivals.setFocus()
        before = page.card.answer
        qtbot.keyClick(page.arrivals, Qt.Key.Key_Return)
        drive.until(lambda: page.card.answer is not before, "the answer")
        assert page.card.verdict.text() == "Checked in"
        assert self.arrival(page, number).text(5) == "Checked in"
        assert self.arrival(page, number).text(4) == "2"

        page.card.undo.click()
        drive.until(lambda: page.card.verdict.text() == "Check-in undone", "the undo")
        assert self.arrival(page, number).text(5) == "Confirmed"
        assert self.arrival(page, number).text(4) == "0"

    def test_a_party_arriving_in_parts(
        self, drive: Driver, qtbot, page: CheckInPage, door: SimpleNamespace
    ) -> None:
        scan(drive, qtbot, page, door.party["booking_number"])
        card = page.card
        assert card.guests.isVisible()
        assert card.guests_of.text() == "of 4"
        card.guests.setValue(2)
        card.guests_save.click()
        drive.until(lambda: card.booking and card.booking.guests_arrived == 2, "2 of 4")
        assert self.arrival(page, door.party["booking_number"]).text(4) == "2"
