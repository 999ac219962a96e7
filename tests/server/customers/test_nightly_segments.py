"""The nightly job moves customers between time-based segments without any booking change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from app.server.db.models import Booking, Customer
from app.server.jobs import refresh_segments_at_night
from tests.server.helpers import booked


async def _segment(db, org, customer_id) -> str:
    async with db.tenant(org.id) as s:
        return (await s.get_one(Customer, customer_id, populate_existing=True)).segment


async def test_a_quiet_customer_turns_at_risk_overnight(client, db, org):
    booking = await booked(client, org, db, email="quiet@example.com")
    customer_id = booking["customer_id"]
    assert await _segment(db, org, customer_id) == "new"
    # The booking was made and visited 61 days ago (as if time had passed).
    long_ago = datetime.now(UTC) - timedelta(days=61)
    async with db.tenant(org.id) as s:
        await s.execute(update(Booking).where(Booking.customer_id == customer_id).values(
            created_at=long_ago, booking_date=long_ago.astimezone(ZoneInfo(org.timezone)).date()))

    # Not 03:00 at the venue: nothing is recomputed.
    local_noon = datetime.now(ZoneInfo(org.timezone)).replace(hour=12, minute=5)
    await refresh_segments_at_night(db, local_noon.astimezone(UTC))
    assert await _segment(db, org, customer_id) == "new"

    local_three = local_noon.replace(hour=3)
    changed = await refresh_segments_at_night(db, local_three.astimezone(UTC))
    assert changed >= 1
    assert await _segment(db, org, customer_id) == "at_risk"
