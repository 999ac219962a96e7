"""The Customers page: segment cards and filter, search, detail, and saved edits."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt

from app.ui.customers.table_model import Columns
from app.ui.customers.view import CustomersPage
from tests.desk.conftest import Driver, book
from tests.factories import make_org, make_session


@pytest.fixture(scope="module")
async def crm(db: Any, service_url: str) -> SimpleNamespace:
    """Four customers: Nora (new), Alan (active, two visits), Vera (VIP), Rita (at risk)."""
    from sqlalchemy import update

    from app.server.db.models import Customer

    org = await make_org(db)
    slot = await make_session(db, org)
    other = await make_session(db, org)
    async with httpx.AsyncClient(base_url=f"{service_url}/api/v1") as http:
        nora = await book(http, org, slot, "Nora", "New")
        alan = await book(http, org, slot, "Alan", "Active")
        await book(http, org, other, "Alan", "Active")
        vera = await book(http, org, slot, "Vera", "Vip")
        rita = await book(http, org, other, "Rita", "Risk")
    # Segments that take months of history are set directly.
    async with db.tenant(org.id) as s:
        for booking, segment in ((vera, "vip"), (rita, "at_risk")):
            await s.execute(
                update(Customer)
                .where(Customer.id == uuid.UUID(booking["customer_id"]))
                .values(segment=segment)
            )
    return SimpleNamespace(org=org, nora=nora, alan=alan, vera=vera, rita=rita)


def names(page: CustomersPage) -> list[str]:
    return [page.model.index(r, Columns.NAME).data() for r in range(page.model.rowCount())]


@pytest.fixture
def page(drive: Driver, open_window, crm: SimpleNamespace) -> CustomersPage:  # type: ignore[no-untyped-def]
    window = open_window(crm.org.front_desk, page="customers")
    page = window.pages["customers"]
    drive.until(lambda: page.model.rowCount() == 4, "the customers")
    return page


class TestList:
    def test_cards_count_every_segment(self, page: CustomersPage) -> None:
        cards = {card.title.text(): card.value.text() for card in page.cards.values()}
        assert cards == {"Total": "4", "Active": "1", "VIP": "1", "At-Risk": "1", "New": "1"}
        assert names(page) == ["Alan Active", "Nora New", "Rita Risk", "Vera Vip"]
        row = names(page).index("Alan Active")
        assert page.model.index(row, Columns.BOOKINGS).data() == "2"
        assert page.model.index(row, Columns.SEGMENT).data() == "Active"
        assert page.model.index(row, Columns.SPENT).data() == "$0.00"

    def test_segment_filter_and_cards(self, drive: Driver, qtbot, page: CustomersPage) -> None:
        page.segment.setCurrentIndex(page.segment.findText("VIP"))
        drive.until(lambda: names(page) == ["Vera Vip"], "VIPs only")
        qtbot.mouseClick(page.cards[None], Qt.MouseButton.LeftButton)
        drive.until(lambda: len(names(page)) == 4, "everyone")
        at_risk = next(c for c in page.cards.values() if c.title.text() == "At-Risk")
        qtbot.mouseClick(at_risk, Qt.MouseButton.LeftButton)
        drive.until(lambda: names(page) == ["Rita Risk"], "customers at risk")
        assert page.segment.currentText() == "At risk"
        assert page.count_label.text() == "1 customer match"

    def test_search(self, drive: Driver, qtbot, page: CustomersPage) -> None:
        qtbot.keyClicks(page.search, "nora")
        drive.until(lambda: names(page) == ["Nora New"], "Nora")


class TestDetail:
    def test_notes_contact_and_status_are_saved(
        self, drive: Driver, qtbot, page: CustomersPage, crm: SimpleNamespace, service_url: str
    ) -> None:
        page.table.selectRow(names(page).index("Nora New"))
        detail = page.detail
        drive.until(lambda: detail.customer is not None, "the detail panel")
        assert detail.figures["Bookings"].text() == "1"
        assert detail.figures["Lifetime value"].text() == "$0.00"
        assert detail.history.topLevelItemCount() == 1
        assert detail.history.topLevelItem(0).text(0) == crm.nora["booking_number"]
        assert not detail.save.isEnabled()

        detail.notes.setPlainText("Allergic to fog machines.")
        detail.phone.clear()
        qtbot.keyClicks(detail.phone, "+1 212 555 0199")
        detail.status.setCurrentIndex(detail.status.findData("blocked"))
        assert detail.save.isEnabled()
        detail.save.click()
        drive.until(lambda: detail.customer.notes == "Allergic to fog machines.", "saved")
        assert detail.status_chip.text() == "Blocked"
        assert not detail.save.isEnabled()
        row = names(page).index("Nora New")
        assert page.model.index(row, Columns.STATUS).data() == "Blocked"

        saved = httpx.get(
            f"{service_url}/api/v1/customers/{crm.nora['customer_id']}",
            headers=crm.org.manager.headers,
        ).json()
        assert saved["notes"] == "Allergic to fog machines."
        assert saved["phone"] == "+12125550199"
        assert saved["status"] == "blocked"
