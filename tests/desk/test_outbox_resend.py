"""The booking detail's "Resend confirmation" queues the confirmation again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import create_engine, select

from app.server.db.models import OutboxMessage
from tests.desk.conftest import Driver
from tests.factories import make_org
from tests.server.notifications.conftest import make_booking


@pytest.fixture
async def bookings(db: Any) -> SimpleNamespace:
    org = await make_org(db)
    start = datetime.now(UTC) + timedelta(days=3)
    confirmed = await make_booking(db, org, starts_at=start, email_address="r@example.com")
    cancelled = await make_booking(
        db, org, starts_at=start + timedelta(hours=2), status="cancelled"
    )
    return SimpleNamespace(org=org, confirmed=confirmed, cancelled=cancelled)


def confirmation_causes(database_url: str, booking_id: uuid.UUID) -> list[str]:
    """Read with a plain connection of its own: the desk's loop owns the test's thread."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.scalars(
                    select(OutboxMessage.cause).where(
                        OutboxMessage.booking_id == booking_id,
                        OutboxMessage.template == "booking_confirmation",
                    )
                )
            )
    finally:
        engine.dispose()


def test_resend_confirmation_from_the_booking_detail(
    drive: Driver, qtbot, open_window, bookings, database_url
) -> None:  # type: ignore[no-untyped-def]
    window = open_window(bookings.org.front_desk, page="bookings")
    page = window.pages["bookings"]

    page.show_booking(bookings.cancelled)
    drive.until(lambda: page.detail.booking is not None, "the cancelled booking")
    assert not page.detail.resend_button.isEnabled()

    page.show_booking(bookings.confirmed)
    drive.until(
        lambda: page.detail.booking is not None and page.detail.booking.id == bookings.confirmed,
        "the confirmed booking",
    )
    assert page.detail.resend_button.isEnabled()
    qtbot.mouseClick(page.detail.resend_button, Qt.MouseButton.LeftButton)

    drive.until(lambda: window.banner.isVisible(), "the banner")
    assert "on its way to r@example.com" in window.banner.text.text()
    causes = confirmation_causes(database_url, bookings.confirmed)
    assert len(causes) == 1 and causes[0].startswith("resend:")
