"""The main window: sidebar pages, and what it remembers between runs."""

from __future__ import annotations

from typing import Any

import pytest

from app.ui.settings import DeskSettings
from tests.desk.conftest import Driver
from tests.factories import Org, make_org


@pytest.fixture(scope="module")
async def org(db: Any) -> Org:
    return await make_org(db)


def test_last_page_and_geometry_are_remembered(
    drive: Driver, open_window, desk_settings: DeskSettings, org: Org
) -> None:
    window = open_window(org.front_desk)
    assert [window.sidebar.item(i).text() for i in range(3)] == [
        "Bookings",
        "Check-in",
        "Customers",
    ]
    window.sidebar.setCurrentRow(2)
    assert window.current_page == "customers"
    drive.until(lambda: window.pages["customers"].count_label.text(), "the customers page")
    window.close()
    drive.until(lambda: True, "the closed window's tasks to wind down")
    assert desk_settings.last_page == "customers"
    assert desk_settings.window_geometry is not None

    again = open_window(org.front_desk, page=desk_settings.last_page)
    assert again.current_page == "customers"
    assert again.stack.currentWidget() is again.pages["customers"]
