"""The desk's money moves that go through Stripe (the in-process emulator, signed webhooks):
a card payment refunded from the desk, and a desk booking paid by an emailed link."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import stripe

from app.server.core.settings import Settings
from app.services.booking_actions import MoneyAction
from app.stripe_emulator import ThreadedEmulatorHandle, run_emulator_in_thread
from app.ui.bookings.dialogs import AddBookingDialog
from app.ui.bookings.money_dialogs import RefundDialog
from tests.desk.conftest import Driver
from tests.desk.test_money_dialogs import banner, find_dialog, open_booking, open_dialog
from tests.e2e.conftest import checkout_body, eventually
from tests.factories import local_today_session_start, make_org, make_session
from tests.live_server import live_server

WEBHOOK_SECRET = "whsec_" + secrets.token_hex(24)
STRIPE_KEY = "sk_test_" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ThreadedEmulatorHandle]:
    with run_emulator_in_thread(webhook_delay=0) as handle:
        yield handle


@pytest.fixture(scope="module")
def stripe_service(database_url: str, emulator: ThreadedEmulatorHandle) -> Iterator[str]:
    settings = Settings(
        database_url=database_url,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=emulator.url,
        public_url="http://widget.example",
        run_jobs=True,
    )
    with live_server(settings, database_url) as url:
        emulator.register_webhook(f"{url}/api/v1/webhooks/stripe", WEBHOOK_SECRET)
        yield url


@pytest.fixture(scope="module")
async def card(db: Any, stripe_service: str, emulator: ThreadedEmulatorHandle) -> SimpleNamespace:
    """A booking for today paid online by card."""
    org = await make_org(db)
    session_id = await make_session(db, org, starts_at=local_today_session_start(org))
    async with httpx.AsyncClient(base_url=f"{stripe_service}/api/v1") as http:
        r = await http.post(
            f"/public/{org.slug}/checkout-sessions", json=checkout_body(session_id, adults=2)
        )
        assert r.status_code == 201, r.text
        started = r.json()
        emulator.complete_checkout(started["checkout_session_id"], "paid")

        async def detail() -> dict[str, Any]:
            r = await http.get(f"/bookings/{started['booking_id']}", headers=org.manager.headers)
            return dict(r.json())

        paid = await eventually(detail, lambda b: b["status"] == "confirmed")
    return SimpleNamespace(org=org, paid=paid)


def refunds_in_stripe(emulator: ThreadedEmulatorHandle, intent: str) -> list[int]:
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": emulator.url})
    listed = client.v1.refunds.list(params={"payment_intent": intent})
    return sorted(r["amount"] for r in listed.data)


def test_a_card_payment_is_refunded_through_stripe_from_the_desk(
    drive: Driver,
    open_window,
    card: SimpleNamespace,
    stripe_service: str,
    emulator: ThreadedEmulatorHandle,
) -> None:
    def open_on_stripe(staff):  # type: ignore[no-untyped-def]
        return open_window(staff, base_url=stripe_service)

    page = open_booking(drive, open_on_stripe, card.org.manager, card.paid)
    dialog = open_dialog(drive, page, MoneyAction.REFUND, RefundDialog)
    assert not dialog.figures.desk_paid
    assert dialog.method_code() is None
    dialog.refund.choice.set_value("partial")
    dialog.refund.amount.setText("15")
    dialog.reason.setText("Birthday discount promised on the phone")
    dialog.ok.click()
    drive.until(lambda: find_dialog(page, RefundDialog) is None, "the dialog closed")
    assert banner(page) == f"Refunded $15.00 on {card.paid['booking_number']}."
    intent = card.paid["payments"][0]["stripe_payment_intent_id"]
    assert refunds_in_stripe(emulator, intent) == [1500]
    refunds = page.detail.booking.refunds
    assert [(r.provider, r.amount) for r in refunds] == [("stripe", 1500)]


def test_a_desk_booking_paid_by_an_emailed_link(
    drive: Driver,
    open_window,
    card: SimpleNamespace,
    stripe_service: str,
    emulator: ThreadedEmulatorHandle,
) -> None:
    window = open_window(card.org.front_desk, base_url=stripe_service)
    page = window.pages["bookings"]
    drive.until(lambda: page.model.rowCount(), "today's bookings")
    page.add_button.click()
    drive.until(lambda: find_dialog(page, AddBookingDialog), "the dialog", settled=False)
    dialog = find_dialog(page, AddBookingDialog)
    drive.until(lambda: dialog.selected_slot(), "today's session", settled=False)
    dialog.first_name.setText("Lena")
    dialog.last_name.setText("Link")
    dialog.email.setText("lena.link@example.com")
    dialog.payment.set_value("payment_link")
    dialog.ok.click()
    drive.until(lambda: page.detail.value("Customer") == "Lena Link", "the new booking")
    assert page.detail.status_chip.text() == "Pending"
    assert page.detail.payment_chip.text() == "Unpaid"
    number = page.detail.booking.booking_number
    r = httpx.get(
        f"{stripe_service}/api/v1/bookings/{page.detail.booking.id}",
        headers=card.org.manager.headers,
    )
    assert r.json()["payment_link_url"].startswith(emulator.url)
    assert banner(page) == (
        f"Booked {number}; a payment link for $60.00 was emailed to lena.link@example.com."
    )
