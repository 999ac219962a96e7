"""The Outbox page: failed messages with their error, retry, template previews, and who sees
the page at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.server.db.models import Booking, OutboxMessage
from app.ui.outbox.dialogs import PreviewDialog
from app.ui.outbox.table_model import Columns
from app.ui.outbox.view import OutboxPage
from tests.desk.conftest import Driver
from tests.factories import make_org
from tests.server.notifications.conftest import make_booking

ERROR = "SMTP server answered 554 5.7.1 Message rejected as spam"


async def add_message(db: Any, org: Any, booking_id: Any, **values: Any) -> OutboxMessage:
    now = datetime.now(UTC)
    async with db.tenant(org.id) as s:
        row = OutboxMessage(
            organization_id=org.id,
            booking_id=booking_id,
            channel="email",
            recipient="guest@example.com",
            context={},
            send_after=now - timedelta(hours=1),
            **values,
        )
        s.add(row)
        await s.flush()
        return row


@pytest.fixture
async def outbox(db: Any) -> SimpleNamespace:
    """One booking with a sent confirmation and a cancellation that failed for good."""
    org = await make_org(db)
    booking_id = await make_booking(db, org, starts_at=datetime.now(UTC) + timedelta(days=4))
    async with db.tenant(org.id) as s:
        number = (await s.get_one(Booking, booking_id)).booking_number
    sent = await add_message(
        db, org, booking_id, template="booking_confirmation", cause="payment:1",
        status="sent", attempts=1, sent_at=datetime.now(UTC) - timedelta(minutes=50),
        subject=f"Mystery Room is confirmed ({number})",
    )  # fmt: skip
    failed = await add_message(
        db, org, booking_id, template="booking_cancelled", cause="cancel:1",
        status="failed", attempts=8, last_error=ERROR,
    )  # fmt: skip
    return SimpleNamespace(org=org, number=number, sent=sent, failed=failed, booking_id=booking_id)


def cell(page: OutboxPage, row: int, column: Columns) -> Any:
    return page.model.index(row, column).data()


def row_of(page: OutboxPage, message: OutboxMessage) -> int:
    row = page.model.row_of(message.id)
    assert row is not None
    return row


@pytest.fixture
def page(drive: Driver, open_window, outbox: SimpleNamespace) -> OutboxPage:  # type: ignore[no-untyped-def]
    window = open_window(outbox.org.manager, page="outbox")
    page = window.pages["outbox"]
    assert window.current_page == "outbox"
    drive.until(lambda: page.model.rowCount() == 2, "the messages")
    return page


def test_failed_message_is_shown_with_its_error(page: OutboxPage, outbox) -> None:  # type: ignore[no-untyped-def]
    failed = row_of(page, outbox.failed)
    assert cell(page, failed, Columns.STATUS) == "Failed"
    assert cell(page, failed, Columns.ERROR) == ERROR
    assert cell(page, failed, Columns.BOOKING) == outbox.number
    assert cell(page, failed, Columns.MESSAGE) == "Cancellation"
    assert cell(page, failed, Columns.ATTEMPTS) == "8"
    sent = row_of(page, outbox.sent)
    assert cell(page, sent, Columns.STATUS) == "Sent"
    assert cell(page, sent, Columns.ERROR) == ""
    cards = {status: card.value.text() for status, card in page.cards.items()}
    assert cards == {"pending": "0", "sent": "1", "failed": "1"}


def test_retry_sends_a_failed_message_again(drive: Driver, qtbot, page: OutboxPage, outbox) -> None:  # type: ignore[no-untyped-def]
    sent = row_of(page, outbox.sent)
    page.table.selectRow(sent)
    assert not page.retry_button.isEnabled()

    failed = row_of(page, outbox.failed)
    page.table.selectRow(failed)
    assert page.retry_button.isEnabled()
    assert ERROR in page.selected_label.text()
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)

    drive.until(lambda: cell(page, failed, Columns.STATUS) == "Waiting", "the message queued")
    assert cell(page, failed, Columns.ATTEMPTS) == "0"
    assert not page.retry_button.isEnabled()
    banner = page.window().banner
    assert banner.isVisible() and "sent again" in banner.text.text()

    # Reloaded, it is no longer failed (the service's worker may already have sent it).
    page.reload()
    drive.until(
        lambda: (
            page.model.row_of(outbox.failed.id) is not None
            and cell(page, row_of(page, outbox.failed), Columns.STATUS)
            in ("Waiting", "Sending", "Sent")
        ),
        "the message no longer failed",
    )


def test_status_cards_filter_the_list(drive: Driver, qtbot, page: OutboxPage) -> None:
    qtbot.mouseClick(page.cards["failed"], Qt.MouseButton.LeftButton)
    drive.until(lambda: page.model.rowCount() == 1, "failed messages only")
    assert cell(page, 0, Columns.STATUS) == "Failed"
    assert page.status.currentText() == "Failed"
    page.set_status(None)
    drive.until(lambda: page.model.rowCount() == 2, "everything")


def test_preview_of_the_selected_bookings_template(drive: Driver, page: OutboxPage, outbox) -> None:  # type: ignore[no-untyped-def]
    page.table.selectRow(row_of(page, outbox.sent))
    assert page.template.currentData() == "booking_confirmation"
    page.preview_button.click()
    drive.until(lambda: page.preview_dialog is not None and page.preview_dialog.isVisible(),
                "the preview", settled=False)  # fmt: skip
    dialog = page.preview_dialog
    assert isinstance(dialog, PreviewDialog)
    assert outbox.number in dialog.subject.text()
    assert dialog.attachments.text() == f"receipt-{outbox.number}.pdf"
    assert "Mystery Room" in dialog.html.toPlainText()
    assert outbox.number in dialog.text.toPlainText()
    assert dialog.sms is not None and outbox.number in dialog.sms.toPlainText()
    dialog.reject()


def test_preview_of_a_sample_booking(drive: Driver, page: OutboxPage) -> None:
    page.template.setCurrentIndex(page.template.findData("payment_link"))
    page.preview_button.click()
    drive.until(lambda: page.preview_dialog is not None and page.preview_dialog.isVisible(),
                "the preview", settled=False)  # fmt: skip
    dialog = page.preview_dialog
    assert dialog is not None
    assert "Complete your payment" in dialog.subject.text()
    assert "checkout.stripe.com" in dialog.text.toPlainText()
    assert dialog.sms is None
    dialog.reject()


def test_front_desk_has_no_outbox_page(open_window, outbox) -> None:  # type: ignore[no-untyped-def]
    window = open_window(outbox.org.front_desk, page="outbox")
    assert "outbox" not in window.pages
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert "Outbox" not in titles
    assert window.current_page == "bookings"
