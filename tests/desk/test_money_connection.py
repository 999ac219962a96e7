"""Money needs the service: actions are disabled while it is unreachable, and a refund whose
answer was lost on the way back is not made twice when staff press again."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.domain.lifecycle import Action
from app.services.booking_actions import MoneyAction
from app.ui.bookings.money_dialogs import RefundDialog
from tests.desk.conftest import Driver, book
from tests.desk.test_money_dialogs import (
    fetch,
    find_dialog,
    open_booking,
    open_dialog,
    pay_at_desk,
    snap,
)
from tests.factories import local_today_session_start, make_org, make_session


class FlakyLink:
    """A TCP proxy in front of the service, on a thread of its own, whose ``mode`` says what
    the network does: ``pass`` everything, ``drop_answers`` (requests reach the service,
    its answers never come back), or ``refuse`` (nothing gets through)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.mode = "pass"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""

    def __enter__(self) -> FlakyLink:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._connection, "127.0.0.1", 0), self._loop
        ).result()
        self._server = server
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *_: object) -> None:
        async def stop() -> None:
            self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _connection(self, client_r: Any, client_w: Any) -> None:
        if self.mode == "refuse":
            client_w.close()
            return
        service_r, service_w = await asyncio.open_connection(*self._upstream)

        async def requests() -> None:
            while data := await client_r.read(65536):
                if self.mode == "refuse":
                    break
                service_w.write(data)
                await service_w.drain()
            service_w.close()
            client_w.close()

        async def answers() -> None:
            while data := await service_r.read(65536):
                if self.mode != "pass":
                    break
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        await asyncio.gather(requests(), answers(), return_exceptions=True)


@pytest.fixture
def link(service_url: str) -> Iterator[FlakyLink]:
    with FlakyLink(service_url) as proxy:
        yield proxy


@pytest.fixture(scope="module")
async def counter(db: Any, service_url: str) -> SimpleNamespace:
    """Two paid bookings today."""
    org = await make_org(db)
    today = await make_session(db, org, starts_at=local_today_session_start(org))
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        gone = await book(http, org, today, "Gil", "Gone")
        lost = await book(http, org, today, "Lola", "Lost")
        for booking in (gone, lost):
            await pay_at_desk(http, org, booking)
    return SimpleNamespace(org=org, gone=gone, lost=lost)


@pytest.fixture
def http_client(service_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{service_url}/api/v1") as client:
        yield client


class TestWithoutTheService:
    def test_money_actions_say_they_need_a_connection(
        self, drive: Driver, open_window, link: FlakyLink, counter: SimpleNamespace
    ) -> None:
        def open_via_link(staff):  # type: ignore[no-untyped-def]
            return open_window(staff, base_url=link.url)

        page = open_booking(drive, open_via_link, counter.org.manager, counter.gone)
        buttons = page.detail.money_buttons
        assert buttons[MoneyAction.REFUND].isEnabled()
        assert page.add_button.isEnabled()

        link.mode = "refuse"
        page.refresh()
        drive.until(lambda: not buttons[MoneyAction.REFUND].isEnabled(), "refund disabled")
        assert buttons[MoneyAction.REFUND].toolTip() == "Refund needs a connection to the service."
        assert buttons[MoneyAction.PRINT_RECEIPT].toolTip() == (
            "Printing the receipt needs a connection to the service."
        )
        cancel = page.detail.action_buttons[Action.CANCEL]
        assert not cancel.isEnabled()
        assert cancel.toolTip() == "Cancel needs a connection to the service."
        assert not page.add_button.isEnabled()
        assert page.add_button.toolTip() == "Taking a booking needs a connection to the service."
        snap(page.detail, "offline-detail")

        link.mode = "pass"
        page.refresh()
        drive.until(lambda: buttons[MoneyAction.REFUND].isEnabled(), "refund enabled again")
        assert page.add_button.isEnabled()


class TestLostAnswer:
    def test_pressing_again_after_a_lost_answer_refunds_once(
        self,
        drive: Driver,
        open_window,
        link: FlakyLink,
        counter: SimpleNamespace,
        http_client: httpx.Client,
    ) -> None:
        def open_via_link(staff):  # type: ignore[no-untyped-def]
            return open_window(staff, base_url=link.url)

        page = open_booking(drive, open_via_link, counter.org.manager, counter.lost)
        dialog = open_dialog(drive, page, MoneyAction.REFUND, RefundDialog)
        dialog.refund.choice.set_value("partial")
        dialog.refund.amount.setText("10")
        dialog.method.setCurrentIndex(dialog.method.findData("cash"))
        dialog.reason.setText("Late start")

        link.mode = "drop_answers"
        dialog.ok.click()
        drive.until(
            lambda: dialog.error.isVisible() and not dialog.sending,
            "the lost answer",
            settled=False,
        )
        assert dialog.error.text().startswith("Refund needs a connection to the service:")
        assert dialog.offline_note.isVisible()
        assert not dialog.ok.isEnabled()
        # It did reach the service: the refund is there, only its answer was lost.
        assert fetch(http_client, counter.org, counter.lost)["refunded_amount"] == 1000

        link.mode = "pass"
        client = page.context.services.client
        assert drive.run(client.ping())
        drive.until(lambda: dialog.ok.isEnabled(), "the button back", settled=False)
        dialog.ok.click()
        drive.until(lambda: find_dialog(page, RefundDialog) is None, "the dialog closed")
        assert page.detail.value("Refunded") == "$10.00"
        data = fetch(http_client, counter.org, counter.lost)
        assert [r["amount"] for r in data["refunds"]] == [1000]
        assert uuid.UUID(data["id"]) == page.detail.booking.id
