"""The Bookings page: stats, filters and search, table and calendar, detail, roles, export."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from app.domain.lifecycle import Action
from app.ui.bookings.dialogs import AddBookingDialog, CancelDialog
from app.ui.bookings.table_model import Columns
from app.ui.bookings.view import BookingsPage
from tests.desk.conftest import Driver, book
from tests.factories import local_today_session_start, make_org, make_session


@pytest.fixture(scope="module")
async def venue(db: Any, service_url: str) -> SimpleNamespace:
    """Today: Alice and Bob, and Dave (cancelled); in two days: Carol."""
    import httpx

    org = await make_org(db)
    today = await make_session(db, org, starts_at=local_today_session_start(org))
    later = await make_session(db, org, starts_at=org.now_local() + timedelta(days=2))
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        alice = await book(http, org, today, "Alice", "Anders", phone="+1 212 555 0101")
        bob = await book(http, org, today, "Bob", "Brown", adults=3, phone="+1 212 555 0202")
        dave = await book(http, org, today, "Dave", "Dunn", adults=1)
        carol = await book(http, org, later, "Carol", "Chen", adults=4)
        r = await http.post(
            f"/bookings/{dave['id']}/cancel",
            headers=org.manager.headers,
            json={"reason": "Customer called"},
        )
        assert r.status_code == 200, r.text
    return SimpleNamespace(org=org, alice=alice, bob=bob, carol=carol, dave=dave)


def rows(page: BookingsPage, column: Columns = Columns.CUSTOMER) -> list[str]:
    model = page.model
    return [model.index(r, column).data() for r in range(model.rowCount())]


def open_bookings(drive: Driver, open_window, staff) -> BookingsPage:  # type: ignore[no-untyped-def]
    window = open_window(staff)
    page = window.pages["bookings"]
    drive.until(lambda: page.model.rowCount() and page.stat_today.value.text() != "–", "loaded")
    assert not window.banner.isVisible(), window.banner.text.text()
    return page


class TestHeaderAndFilters:
    def test_today_is_shown_first_with_the_stats(
        self, drive: Driver, open_window, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.front_desk)
        assert sorted(rows(page)) == ["Alice Anders", "Bob Brown", "Dave Dunn"]
        assert page.stat_today.value.text() == "2"  # a cancelled booking is not a visit
        assert page.stat_revenue.value.text() == "$0.00"
        assert page.count_label.text() == "3 bookings"
        row = rows(page, Columns.NUMBER).index(venue.bob["booking_number"])
        assert page.model.index(row, Columns.AMOUNT).data() == "$90.00"
        assert page.model.index(row, Columns.STATUS).data() == "Confirmed"
        assert page.model.index(row, Columns.PAYMENT).data() == "Unpaid"
        assert page.model.index(row, Columns.WHEN).data().startswith("Today ")

    def test_status_date_range_and_activity_filters(
        self, drive: Driver, open_window, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.front_desk)
        bar = page.filters
        bar.status.setCurrentIndex(bar.status.findText("Cancelled"))
        drive.until(lambda: rows(page) == ["Dave Dunn"], "only the cancelled booking")

        bar.status.setCurrentIndex(0)
        bar.range_buttons["all"].click()
        drive.until(lambda: len(rows(page)) == 4, "every date")
        assert rows(page)[-1] == "Carol Chen"  # in date order

        bar.activity.setCurrentIndex(bar.activity.findText("Mystery Room"))
        drive.until(lambda: len(rows(page)) == 4, "the one activity")

        bar.range_buttons["custom"].click()
        assert bar.date_from.isVisible() and bar.date_to.isVisible()

    def test_search_as_you_type_by_name_number_and_phone(
        self, drive: Driver, open_window, qtbot, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.front_desk)
        page.filters.range_buttons["all"].click()
        drive.until(lambda: len(rows(page)) == 4, "every date")
        field = page.filters.search

        qtbot.keyClicks(field, "car")
        drive.until(lambda: rows(page) == ["Carol Chen"], "Carol, found by name")

        field.clear()
        qtbot.keyClicks(field, venue.bob["booking_number"].lower().replace("-", ""))
        drive.until(lambda: rows(page) == ["Bob Brown"], "Bob, found by number")

        field.clear()
        qtbot.keyClicks(field, "555 0101")
        drive.until(lambda: rows(page) == ["Alice Anders"], "Alice, found by phone")

        field.clear()
        qtbot.keyClicks(field, "nobody-like-this")
        drive.until(lambda: rows(page) == [], "nothing")
        assert page.count_label.text() == "No bookings match these filters."

    def test_only_the_newest_search_answer_is_shown(
        self, drive: Driver, open_window, qtbot, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.front_desk)
        page.filters.range_buttons["all"].click()
        field = page.filters.search
        for text in ("a", "al", "ali", "alice"):
            field.setText(text)
            qtbot.keyClick(field, Qt.Key.Key_Return)  # sent at once, none debounced away
        drive.until(lambda: rows(page) == ["Alice Anders"], "the last search's rows")


class TestViews:
    def test_calendar_shows_sessions_with_occupancy_and_bookings(
        self, drive: Driver, open_window, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.front_desk)
        page.view_buttons["calendar"].click()
        calendar = page.calendar
        assert page.views.currentWidget() is calendar
        drive.until(lambda: calendar.blocks, "session blocks")
        (block,) = calendar.blocks
        assert block.occupancy.text() == "5/10 booked"
        assert {b.booking_number for b in block.bookings} == {
            venue.alice["booking_number"],
            venue.bob["booking_number"],
            venue.dave["booking_number"],
        }

        calendar.mode_buttons["week"].click()
        drive.until(lambda: calendar.title.text().count("–") == 1, "a week")

        page.view_buttons["table"].click()
        assert page.views.currentIndex() == 0
        assert page.context.settings.bookings_view == "table"


class TestDetailAndActions:
    def select(self, drive: Driver, page: BookingsPage, number: str) -> None:
        row = rows(page, Columns.NUMBER).index(number)
        page.table.selectRow(row)
        drive.until(
            lambda: page.detail.booking and page.detail.booking.booking_number == number,
            "the detail panel",
        )

    def test_detail_panel_has_fields_timeline_and_money(
        self, drive: Driver, open_window, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.front_desk)
        self.select(drive, page, venue.dave["booking_number"])
        detail = page.detail
        assert detail.value("Customer") == "Dave Dunn"
        assert detail.value("Email") == "dave.dunn@example.com"
        assert detail.value("Total") == "$30.00"
        assert detail.value("Cancelled").endswith("— Customer called")
        assert detail.value("Starts").endswith(f"({venue.org.timezone})")
        timeline = [detail.timeline.topLevelItem(i).text(2) for i in range(2)]
        assert timeline[0].startswith("Created → Confirmed")
        assert timeline[1] == "Cancel → Cancelled: Customer called"
        assert detail.money.topLevelItem(0).text(1) == "No payments yet"

    def test_front_desk_cannot_cancel_and_the_tooltip_says_why(
        self, drive: Driver, open_window, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.front_desk)
        self.select(drive, page, venue.alice["booking_number"])
        cancel = page.detail.action_buttons[Action.CANCEL]
        assert not cancel.isEnabled()
        assert cancel.toolTip() == "Cancel needs the manager role or higher."
        assert page.detail.action_buttons[Action.CHECK_IN].isEnabled()
        no_show = page.detail.action_buttons[Action.NO_SHOW]
        assert not no_show.isEnabled()
        assert no_show.toolTip() == (
            "A booking can only be marked no-show once its session has started."
        )
        undo = page.detail.action_buttons[Action.UNDO_CHECK_IN]
        assert undo.toolTip() == "Only a checked-in booking can be undone; this one is confirmed."

        row = rows(page, Columns.NUMBER).index(venue.alice["booking_number"])
        menu = {a.text(): a for a in page.row_actions(row).actions() if a.text()}
        assert not menu["Cancel"].isEnabled()
        assert menu["Cancel"].toolTip() == "Cancel needs the manager role or higher."

    def test_not_today_and_terminal_statuses_are_explained(
        self, drive: Driver, open_window, venue: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, venue.org.manager)
        page.filters.range_buttons["all"].click()
        drive.until(lambda: len(rows(page)) == 4, "every date")
        self.select(drive, page, venue.carol["booking_number"])
        check_in = page.detail.action_buttons[Action.CHECK_IN]
        assert not check_in.isEnabled()
        assert check_in.toolTip().startswith("Booking is for ")
        assert page.detail.action_buttons[Action.CANCEL].isEnabled()

        self.select(drive, page, venue.dave["booking_number"])
        cancel = page.detail.action_buttons[Action.CANCEL]
        assert not cancel.isEnabled()
        assert cancel.toolTip() == "The booking is already cancelled."


@pytest.fixture(scope="module")
async def desk_day(db: Any, service_url: str) -> SimpleNamespace:
    """A venue of its own for actions that change bookings: Erin and Gina, today."""
    import httpx

    org = await make_org(db)
    today = await make_session(db, org, starts_at=local_today_session_start(org))
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        erin = await book(http, org, today, "Erin", "Early")
        gina = await book(http, org, today, "Gina", "Gray")
    return SimpleNamespace(org=org, erin=erin, gina=gina)


def find_dialog(page: BookingsPage, kind: type[QDialog]) -> Any:
    return next((d for d in page.findChildren(kind) if d.isVisible()), None)


class TestActions:
    def test_a_manager_cancels_with_a_reason(
        self, drive: Driver, open_window, desk_day: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, desk_day.org.manager)
        row = rows(page, Columns.NUMBER).index(desk_day.erin["booking_number"])
        menu = {a.text(): a for a in page.row_actions(row).actions() if a.text()}
        assert menu["Cancel"].isEnabled()
        menu["Cancel"].trigger()
        drive.until(lambda: find_dialog(page, CancelDialog), "the dialog", settled=False)
        dialog = find_dialog(page, CancelDialog)
        assert not dialog.ok.isEnabled()
        dialog.reason.setText("Double booking")
        dialog.ok.click()
        drive.until(
            lambda: page.model.index(row, Columns.STATUS).data() == "Cancelled", "cancelled"
        )
        assert page.detail.value("Cancelled").endswith("— Double booking")
        assert page.context.settings  # the window is still there
        window = page.window()
        assert window.banner.text.text() == f"{desk_day.erin['booking_number']} is now cancelled."

    def test_checking_in_an_unpaid_booking_asks_for_the_payment_first(
        self, drive: Driver, open_window, desk_day: SimpleNamespace
    ) -> None:
        from PySide6.QtWidgets import QMessageBox

        page = open_bookings(drive, open_window, desk_day.org.front_desk)
        row = rows(page, Columns.NUMBER).index(desk_day.gina["booking_number"])
        page.table.selectRow(row)
        drive.until(lambda: page.detail.booking is not None, "the detail panel")
        page.detail.action_buttons[Action.CHECK_IN].click()
        drive.until(lambda: find_dialog(page, QMessageBox), "the question", settled=False)
        box = find_dialog(page, QMessageBox)
        assert box.text().startswith("Unpaid: $60.00 due.")
        box.button(QMessageBox.StandardButton.Yes).click()
        drive.until(
            lambda: page.model.index(row, Columns.STATUS).data() == "Checked in", "checked in"
        )
        assert page.detail.action_buttons[Action.UNDO_CHECK_IN].isEnabled()

    def test_add_booking_at_the_desk(
        self, drive: Driver, open_window, desk_day: SimpleNamespace
    ) -> None:
        page = open_bookings(drive, open_window, desk_day.org.front_desk)
        page.add_button.click()
        drive.until(lambda: find_dialog(page, AddBookingDialog), "the dialog", settled=False)
        dialog = find_dialog(page, AddBookingDialog)
        drive.until(lambda: dialog.session.currentData(), "today's sessions", settled=False)
        assert "Mystery Room" in dialog.session.currentText()
        dialog.adult_count.setValue(2)
        dialog.child_count.setValue(1)
        assert dialog.total.text() == "$75.00"
        dialog.first_name.setText("Hana")
        dialog.last_name.setText("Hill")
        dialog.email.setText("hana.hill@example.com")
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        drive.until(lambda: "Hana Hill" in rows(page), "the new booking in the table")
        assert page.detail.value("Customer") == "Hana Hill"
        assert page.detail.value("Total") == "$75.00"

    def test_export_writes_the_current_filter_to_csv(
        self, drive: Driver, open_window, desk_day: SimpleNamespace, tmp_path: Path
    ) -> None:
        page = open_bookings(drive, open_window, desk_day.org.front_desk)
        target = tmp_path / "bookings.csv"
        page.export_to(target)
        assert page.exporting
        drive.until(lambda: page.export_label.isVisible(), "progress", settled=False)
        drive.until(lambda: target.exists() and not page.exporting, "the CSV file")
        assert not page.export_label.isVisible()
        with target.open(newline="", encoding="utf-8") as f:
            exported = list(csv.DictReader(f))
        assert {r["booking_number"] for r in exported} == set(rows(page, Columns.NUMBER))
        assert {r["customer"] for r in exported} >= {"Erin Early", "Gina Gray"}
        assert all(r["currency"] == "USD" for r in exported)
