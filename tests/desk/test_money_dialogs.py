"""Money at the desk against the real service: refund, cancel with refund, reschedule,
taking payment, desk bookings with payment, and receipts printed and saved."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QWidget

from app.domain.checkin import describe_day
from app.domain.lifecycle import Action
from app.services.api_client import ApiError
from app.services.booking_actions import MoneyAction
from app.services.money import Intent
from app.ui.bookings.dialogs import AddBookingDialog, CancelDialog
from app.ui.bookings.money_dialogs import MarkPaidDialog, RefundDialog
from app.ui.bookings.money_reschedule import RescheduleDialog
from app.ui.bookings.table_model import Columns
from app.ui.bookings.view import BookingsPage
from tests.desk.conftest import Driver, book
from tests.factories import Org, local_today_session_start, make_org, make_session


def snap(widget: QWidget, name: str) -> None:
    """Save a picture of ``widget`` when BOOKINGTMS_SCREENSHOTS names a folder."""
    folder = os.environ.get("BOOKINGTMS_SCREENSHOTS")
    if folder:
        widget.grab().save(str(Path(folder) / f"money-{name}.png"))


async def pay_at_desk(http: httpx.AsyncClient, org: Org, booking: dict[str, Any]) -> None:
    r = await http.post(
        f"/bookings/{booking['id']}/mark-paid",
        headers={**org.manager.headers, "Idempotency-Key": str(uuid.uuid4())},
        json={"amount": booking["total_amount"], "method": "cash"},
    )
    assert r.status_code == 200, r.text


async def add_activity(db: Any, org: Org, name: str, adult_price: int) -> uuid.UUID:
    """A second activity of the venue, with a session tomorrow; the session's id."""
    from app.server.db.models import Activity, ActivitySession

    start = (org.now_local() + timedelta(days=1)).replace(microsecond=0)
    async with db.tenant(org.id) as s:
        activity = Activity(
            organization_id=org.id, venue_id=org.venue_id, name=name, description="",
            what_to_bring="", duration_minutes=45, capacity=12, currency="USD",
            adult_price=adult_price, child_price=1000, min_adults=1, active=True,
        )  # fmt: skip
        s.add(activity)
        await s.flush()
        session = ActivitySession(
            organization_id=org.id, activity_id=activity.id, starts_at=start,
            ends_at=start + timedelta(minutes=45), capacity=12, reserved=0, status="open",
        )  # fmt: skip
        s.add(session)
        await s.flush()
        return session.id


async def add_promo(db: Any, org: Org, code: str, percent: int) -> None:
    from app.server.db.models import PromoCode

    async with db.tenant(org.id) as s:
        promo = PromoCode(organization_id=org.id, code=code, kind="percent", value=percent * 100)
        s.add(promo)


@pytest.fixture(scope="module")
async def till(db: Any, service_url: str) -> SimpleNamespace:
    """Today's session with a booking per test, one more session tomorrow, and a pricier
    activity tomorrow."""
    org = await make_org(db, capacity=40)
    today = await make_session(db, org, starts_at=local_today_session_start(org))
    tomorrow = await make_session(db, org, starts_at=org.now_local() + timedelta(days=1))
    laser = await add_activity(db, org, "Laser Maze", adult_price=4000)
    await add_promo(db, org, "SPRING10", percent=10)
    b = SimpleNamespace(org=org, today=today, tomorrow=tomorrow, laser=laser)
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        for key, first, last, paid in (
            ("front", "Fay", "Front", True),
            ("partial", "Rita", "Refund", True),
            ("over", "Oscar", "Over", True),
            ("twice", "Tess", "Twice", True),
            ("cancel", "Carl", "Cancel", True),
            ("move", "Ron", "Move", False),
            ("priced", "Pia", "Price", True),
            ("unpaid", "Una", "Unpaid", False),
            ("receipt", "Rhea", "Receipt", True),
        ):
            booking = await book(http, org, today, first, last)
            if paid:
                await pay_at_desk(http, org, booking)
            setattr(b, key, booking)
    return b


@pytest.fixture
def http_client(service_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{service_url}/api/v1") as client:
        yield client


def fetch(http_client: httpx.Client, org: Org, booking: dict[str, Any]) -> dict[str, Any]:
    r = http_client.get(f"/bookings/{booking['id']}", headers=org.manager.headers)
    assert r.status_code == 200, r.text
    return r.json()


def rows(page: BookingsPage, column: Columns = Columns.NUMBER) -> list[str]:
    return [page.model.index(r, column).data() for r in range(page.model.rowCount())]


def open_booking(drive: Driver, open_window, staff, booking: dict[str, Any]) -> BookingsPage:  # type: ignore[no-untyped-def]
    window = open_window(staff)
    page = window.pages["bookings"]
    number = booking["booking_number"]
    drive.until(lambda: number in rows(page), "today's bookings")
    page.table.selectRow(rows(page).index(number))
    drive.until(
        lambda: page.detail.booking and page.detail.booking.booking_number == number,
        "the detail panel",
    )
    return page


def find_dialog(page: BookingsPage, kind: type[QDialog]) -> Any:
    return next((d for d in page.findChildren(kind) if d.isVisible()), None)


def open_dialog(drive: Driver, page: BookingsPage, action: MoneyAction, kind: type[QDialog]) -> Any:
    button = page.detail.money_buttons[action]
    assert button.isEnabled(), button.toolTip()
    button.click()
    drive.until(lambda: find_dialog(page, kind), f"the {kind.__name__}", settled=False)
    return find_dialog(page, kind)


def banner(page: BookingsPage) -> str:
    return page.window().banner.text.text()


class TestRefund:
    def test_front_desk_sees_refund_disabled_and_the_service_refuses_anyway(
        self, drive: Driver, open_window, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        page = open_booking(drive, open_window, till.org.front_desk, till.front)
        refund = page.detail.money_buttons[MoneyAction.REFUND]
        assert not refund.isEnabled()
        assert refund.toolTip() == "Refund needs the manager role or higher."
        row = rows(page).index(till.front["booking_number"])
        menu = {a.text(): a for a in page.row_actions(row).actions() if a.text()}
        assert not menu["Refund…"].isEnabled()
        assert page.detail.money_buttons[MoneyAction.MARK_PAID].toolTip() == (
            "Nothing is due on this booking."
        )

        booking_id = uuid.UUID(till.front["id"])
        with pytest.raises(ApiError) as refused:
            drive.run(page.money.money.refund(booking_id, 1000, "Asked nicely", "cash", Intent()))
        assert refused.value.status == 403
        assert fetch(http_client, till.org, till.front)["refunded_amount"] == 0

    def test_a_manager_refunds_part_of_a_cash_payment(
        self, drive: Driver, open_window, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        page = open_booking(drive, open_window, till.org.manager, till.partial)
        snap(page.detail, "detail")
        dialog = open_dialog(drive, page, MoneyAction.REFUND, RefundDialog)
        figures = [w.text() for w in dialog.findChildren(QLabel) if w.objectName() == "figure"]
        assert figures == ["$60.00", "$0.00", "$60.00"]  # paid, already refunded, refundable
        assert not dialog.ok.isEnabled()  # a reason is required
        dialog.refund.choice.set_value("partial")
        dialog.refund.amount.setText("12.50")
        dialog.method.setCurrentIndex(dialog.method.findData("card_terminal"))
        dialog.reason.setText("One guest could not come")
        snap(dialog, "refund")
        dialog.ok.click()
        drive.until(lambda: page.detail.value("Refunded") == "$12.50", "the refund shown")
        assert find_dialog(page, RefundDialog) is None
        assert page.detail.payment_chip.text() == "Part refunded"
        assert banner(page) == f"Refunded $12.50 on {till.partial['booking_number']}."
        refunds = fetch(http_client, till.org, till.partial)["refunds"]
        assert [(r["amount"], r["method"]) for r in refunds] == [(1250, "card_terminal")]

    def test_an_over_refund_shows_the_services_sentence_and_keeps_the_dialog(
        self, drive: Driver, open_window, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        page = open_booking(drive, open_window, till.org.manager, till.over)
        dialog = open_dialog(drive, page, MoneyAction.REFUND, RefundDialog)
        dialog.refund.choice.set_value("partial")
        dialog.refund.amount.setText("60.01")
        dialog.reason.setText("Too much")
        dialog.ok.click()
        assert dialog.error.text() == "The refund can be at most $60.00."  # not sent

        # Meanwhile a colleague refunds $20 from another desk: the dialog's $60 is too much.
        r = http_client.post(
            f"/bookings/{till.over['id']}/refund",
            headers={**till.org.manager.headers, "Idempotency-Key": str(uuid.uuid4())},
            json={"amount": 2000, "reason": "Voucher", "method": "cash"},
        )
        assert r.status_code == 200, r.text
        dialog.refund.choice.set_value("full")
        dialog.ok.click()
        drive.until(
            lambda: dialog.error.isVisible() and not dialog.sending, "the refusal", settled=False
        )
        assert dialog.isVisible()
        assert "$40.00" in dialog.error.text()
        snap(dialog, "refund-refused")
        assert fetch(http_client, till.org, till.over)["refunded_amount"] == 2000

        dialog.refund.choice.set_value("partial")
        dialog.refund.amount.setText("40")
        dialog.ok.click()  # the same intent, corrected: accepted
        drive.until(lambda: find_dialog(page, RefundDialog) is None, "the dialog closed")
        assert fetch(http_client, till.org, till.over)["refunded_amount"] == 6000

    def test_pressing_twice_refunds_once(
        self, drive: Driver, open_window, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        page = open_booking(drive, open_window, till.org.manager, till.twice)
        dialog = open_dialog(drive, page, MoneyAction.REFUND, RefundDialog)
        dialog.reason.setText("Closed for a leak")
        dialog.ok.click()
        dialog.ok.click()
        dialog.submit()
        drive.until(lambda: page.detail.value("Refunded") == "$60.00", "the refund shown")
        assert len(fetch(http_client, till.org, till.twice)["refunds"]) == 1


class TestCancel:
    def test_a_manager_cancels_with_a_full_refund(
        self, drive: Driver, open_window, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        page = open_booking(drive, open_window, till.org.manager, till.cancel)
        page.detail.action_buttons[Action.CANCEL].click()
        drive.until(lambda: find_dialog(page, CancelDialog), "the dialog", settled=False)
        dialog = find_dialog(page, CancelDialog)
        assert dialog.refund is not None
        assert dialog.refund_choice().value == "none"
        dialog.refund.choice.set_value("full")
        dialog.reason.setText("Venue closed for a private event")
        snap(dialog, "cancel")
        dialog.ok.click()
        drive.until(lambda: page.detail.value("Refunded") == "$60.00", "the refund shown")
        assert page.detail.status_chip.text() == "Cancelled"
        assert page.detail.payment_chip.text() == "Refunded"
        assert banner(page) == f"{till.cancel['booking_number']} is now cancelled. $60.00 refunded."
        data = fetch(http_client, till.org, till.cancel)
        assert (data["status"], data["refunded_amount"]) == ("cancelled", 6000)


class TestReschedule:
    def pick(self, drive: Driver, dialog: RescheduleDialog, day: Any, activity: str) -> None:
        dialog.day.setDate(QDate(day.year, day.month, day.day))
        dialog.activity.setCurrentIndex(dialog.activity.findText(activity))
        drive.until(
            lambda: (
                dialog.options.topLevelItemCount() and dialog.activity.currentText() == activity
            ),
            "sessions with room",
            settled=False,
        )
        dialog.options.setCurrentItem(dialog.options.topLevelItem(0))

    def test_a_booking_moves_to_tomorrow_at_the_same_price(
        self, drive: Driver, open_window, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        page = open_booking(drive, open_window, till.org.front_desk, till.move)
        dialog = open_dialog(drive, page, MoneyAction.RESCHEDULE, RescheduleDialog)
        tomorrow = till.org.now_local().date() + timedelta(days=1)
        drive.until(lambda: dialog.activity.count() == 2, "the activities", settled=False)
        self.pick(drive, dialog, tomorrow, "Mystery Room")
        assert dialog.difference.text() == "Same price"
        assert dialog.settlement().value == "none"
        dialog.ok.click()
        drive.until(lambda: page.detail.booking.session_id == till.tomorrow, "the booking moved")
        assert page.detail.value("Starts").startswith(describe_day(tomorrow, tomorrow))
        assert page.detail.status_chip.text() == "Confirmed"
        assert banner(page).startswith(f"{till.move['booking_number']} moved to ")
        assert fetch(http_client, till.org, till.move)["session_id"] == str(till.tomorrow)

    def test_moving_to_a_pricier_activity_charges_the_difference_at_the_desk(
        self, drive: Driver, open_window, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        page = open_booking(drive, open_window, till.org.front_desk, till.priced)
        dialog = open_dialog(drive, page, MoneyAction.RESCHEDULE, RescheduleDialog)
        tomorrow = till.org.now_local().date() + timedelta(days=1)
        drive.until(lambda: dialog.activity.count() == 2, "the activities", settled=False)
        self.pick(drive, dialog, tomorrow, "Laser Maze")
        assert dialog.difference.text() == "+$20.00 to pay"
        assert dialog.settlement().value == "charge_at_desk"
        assert not dialog.settle.buttons["refund"].isVisible()
        dialog.method.setCurrentIndex(dialog.method.findData("cash"))
        snap(dialog, "reschedule")
        dialog.ok.click()
        drive.until(lambda: page.detail.value("Total") == "$80.00", "the new total")
        assert page.detail.value("Paid") == "$80.00"
        assert page.detail.value("Activity") == "Laser Maze"
        data = fetch(http_client, till.org, till.priced)
        assert (data["session_id"], data["balance_due"]) == (str(till.laser), 0)


class TestMarkPaid:
    def test_taking_the_payment_of_an_unpaid_booking_later(
        self, drive: Driver, open_window, till: SimpleNamespace
    ) -> None:
        page = open_booking(drive, open_window, till.org.front_desk, till.unpaid)
        assert page.detail.money_buttons[MoneyAction.REFUND].toolTip() == (
            "Refund needs the manager role or higher."
        )
        dialog = open_dialog(drive, page, MoneyAction.MARK_PAID, MarkPaidDialog)
        assert dialog.amount.text() == "60.00"
        dialog.amount.setText("60.50")
        dialog.ok.click()
        assert dialog.error.text() == "The payment can be at most $60.00."
        dialog.amount.setText("60")
        dialog.method.setCurrentIndex(dialog.method.findData("card_terminal"))
        snap(dialog, "mark-paid")
        dialog.ok.click()
        drive.until(lambda: page.detail.value("Paid") == "$60.00", "the payment shown")
        assert page.detail.payment_chip.text() == "Paid"
        assert banner(page) == f"$60.00 recorded on {till.unpaid['booking_number']}; paid in full."
        assert not page.detail.money_buttons[MoneyAction.MARK_PAID].isEnabled()


class TestAddBooking:
    def open(self, drive: Driver, open_window, staff) -> tuple[BookingsPage, AddBookingDialog]:  # type: ignore[no-untyped-def]
        window = open_window(staff)
        page = window.pages["bookings"]
        drive.until(lambda: page.model.rowCount(), "today's bookings")
        page.add_button.click()
        drive.until(lambda: find_dialog(page, AddBookingDialog), "the dialog", settled=False)
        dialog = find_dialog(page, AddBookingDialog)
        drive.until(lambda: dialog.activity.count() == 3, "the activities", settled=False)
        dialog.activity.setCurrentIndex(dialog.activity.findText("Mystery Room"))
        drive.until(lambda: dialog.selected_slot(), "today's session", settled=False)
        return page, dialog

    def test_paid_in_cash_at_the_desk(
        self, drive: Driver, open_window, qtbot, till: SimpleNamespace
    ) -> None:
        page, dialog = self.open(drive, open_window, till.org.front_desk)
        assert "Mystery Room" in dialog.session.currentText()
        assert dialog.adult_price.text() == "× $30.00"
        dialog.adult_count.setValue(3)
        dialog.child_count.setValue(1)
        assert dialog.total.text() == "$105.00"  # from the prices, at once
        qtbot.keyClicks(dialog.promo_code, "spring10")
        drive.until(lambda: dialog.quote is not None, "the service's quote", settled=False)
        assert dialog.total.text() == "$94.50"
        assert "SPRING10 −$10.50" in dialog.quote_note.text()
        dialog.first_name.setText("Quinn")
        dialog.last_name.setText("Cash")
        dialog.email.setText("quinn.cash@example.com")
        dialog.payment.set_value("pay_at_desk")
        dialog.method.setCurrentIndex(dialog.method.findData("cash"))
        snap(dialog, "add-booking")
        dialog.ok.click()
        drive.until(lambda: page.detail.value("Customer") == "Quinn Cash", "the new booking")
        assert page.detail.value("Total") == "$94.50"
        assert page.detail.value("Paid") == "$94.50"
        assert page.detail.payment_chip.text() == "Paid"
        assert page.detail.value("Promo code") == "SPRING10"
        number = page.detail.booking.booking_number
        assert banner(page) == f"Booked {number}; $94.50 paid by cash."

    def test_for_an_existing_customer_found_as_you_type(
        self, drive: Driver, open_window, qtbot, till: SimpleNamespace
    ) -> None:
        page, dialog = self.open(drive, open_window, till.org.front_desk)
        qtbot.keyClicks(dialog.customer_search, "rhea")
        drive.until(lambda: dialog.customer_results.count(), "matches", settled=False)
        item = dialog.customer_results.item(0)
        assert item.text() == "Rhea Receipt — rhea.receipt@example.com"
        dialog.customer_results.itemClicked.emit(item)
        assert dialog.email.text() == "rhea.receipt@example.com"
        assert dialog.customer_note.text().startswith("Existing customer Rhea Receipt")
        dialog.ok.click()
        drive.until(lambda: page.detail.value("Customer") == "Rhea Receipt", "the new booking")
        assert page.detail.booking.customer_id == uuid.UUID(till.receipt["customer_id"])
        assert page.detail.payment_chip.text() == "Unpaid"

    def test_an_unknown_promo_code_is_refused_and_nothing_is_booked(
        self, drive: Driver, open_window, qtbot, till: SimpleNamespace, http_client: httpx.Client
    ) -> None:
        _, dialog = self.open(drive, open_window, till.org.front_desk)
        qtbot.keyClicks(dialog.promo_code, "NOPE")
        drive.until(lambda: "NOPE" in dialog.quote_note.text(), "the promo refusal", settled=False)
        dialog.first_name.setText("Nora")
        dialog.email.setText("nora@example.com")
        dialog.ok.click()
        drive.until(
            lambda: dialog.error.isVisible() and not dialog.sending, "the refusal", settled=False
        )
        assert dialog.isVisible()
        assert "NOPE" in dialog.error.text()
        r = http_client.get("/bookings", params={"q": "nora"}, headers=till.org.manager.headers)
        assert r.json()["items"] == []


class TestReceipts:
    def test_save_as_pdf_writes_the_services_receipt(
        self,
        drive: Driver,
        open_window,
        till: SimpleNamespace,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        page = open_booking(drive, open_window, till.org.front_desk, till.receipt)
        target = tmp_path / "receipt.pdf"
        monkeypatch.setattr(
            QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), ""))
        )
        page.detail.money_buttons[MoneyAction.SAVE_RECEIPT].click()
        drive.until(target.exists, "the saved receipt")
        number = till.receipt["booking_number"]
        text = "".join(p.extract_text() for p in PdfReader(target).pages)
        assert number in text
        assert "Rhea Receipt" in text
        assert banner(page) == f"Saved the receipt of {number} to {target}."

    def test_print_goes_to_the_chosen_printer_and_its_qr_checks_the_party_in(
        self,
        drive: Driver,
        open_window,
        qtbot,
        till: SimpleNamespace,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        page = open_booking(drive, open_window, till.org.front_desk, till.receipt)
        printed = tmp_path / "printed.pdf"

        def choose_pdf_printer(dialog: QPrintDialog) -> int:
            printer = dialog.printer()
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(printed))
            return QDialog.DialogCode.Accepted.value

        monkeypatch.setattr(QPrintDialog, "exec", choose_pdf_printer)
        page.detail.money_buttons[MoneyAction.PRINT_RECEIPT].click()
        number = till.receipt["booking_number"]
        drive.until(lambda: banner(page).startswith("Sent the receipt"), "printing done")
        assert banner(page) == f"Sent the receipt of {number} (1 page)."
        assert len(PdfReader(printed).pages) == 1

        image = pypdfium2.PdfDocument(BytesIO(printed.read_bytes()))[0].render(scale=2).to_pil()
        (code,) = zxingcpp.read_barcodes(image)
        assert code.text == number

        door = open_window(till.org.front_desk, page="checkin").pages["checkin"]
        drive.until(lambda: door.groups, "today's arrivals")
        qtbot.keyClicks(door.scan_field, code.text)
        qtbot.keyClick(door.scan_field, Qt.Key.Key_Return)
        drive.until(lambda: door.card.answer is not None, "the answer at the door")
        assert door.card.verdict.text() == "Checked in"
        assert door.card.answer.booking.booking_number == number
