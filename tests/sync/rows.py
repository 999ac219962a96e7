"""Rows of the change feed as the service sends them (app/server/sync/schemas.py), for
tests of the cache that need no service."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain.booking_numbers import new_booking_number
from app.server.sync.schemas import (
    ACTIVITY_EXTRA_FIELDS,
    ACTIVITY_FIELDS,
    BOOKING_EXTRA_FIELDS,
    BOOKING_FIELDS,
    CUSTOMER_FIELDS,
    SESSION_FIELDS,
)

ORG = str(uuid.uuid4())
VENUE = str(uuid.uuid4())
_cursors = itertools.count(1)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def activity(**values: Any) -> dict[str, Any]:
    now = _iso(datetime.now(UTC))
    row = {
        "id": str(uuid.uuid4()), "organization_id": ORG, "venue_id": VENUE,
        "name": "Mystery Room", "description": "", "what_to_bring": "",
        "duration_minutes": 60, "capacity": 10, "currency": "USD", "adult_price": 3000,
        "child_price": 1500, "min_adults": 1, "active": True, "created_at": now,
        "updated_at": now, "timezone": "America/New_York", "venue_name": "Venue",
    }  # fmt: skip
    row.update(values)
    assert set(row) == {*ACTIVITY_FIELDS, *ACTIVITY_EXTRA_FIELDS}
    return row


def session(activity_id: str, starts_at: datetime, **values: Any) -> dict[str, Any]:
    now = _iso(datetime.now(UTC))
    row = {
        "id": str(uuid.uuid4()), "organization_id": ORG, "activity_id": activity_id,
        "starts_at": _iso(starts_at), "ends_at": _iso(starts_at + timedelta(hours=1)),
        "capacity": 10, "reserved": 0, "status": "open", "created_at": now, "updated_at": now,
    }  # fmt: skip
    row.update(values)
    assert set(row) == set(SESSION_FIELDS)
    return row


def customer(first: str, last: str, **values: Any) -> dict[str, Any]:
    now = _iso(datetime.now(UTC))
    row = {
        "id": str(uuid.uuid4()), "organization_id": ORG, "first_name": first,
        "last_name": last, "email": f"{first.lower()}.{last.lower()}@example.com",
        "phone": None, "sms_opt_in": False, "stripe_customer_id": None, "total_bookings": 1,
        "total_spent": 0, "average_booking_value": 0, "lifetime_value": 0, "segment": "new",
        "first_booking_date": None, "last_booking_date": None, "last_activity_date": None,
        "created_via": "admin", "status": "active", "notes": "", "metadata": {},
        "merged_into_id": None, "created_at": now, "updated_at": now,
    }  # fmt: skip
    row.update(values)
    assert set(row) == set(CUSTOMER_FIELDS)
    return row


def booking(
    activity_row: dict[str, Any],
    session_row: dict[str, Any],
    customer_row: dict[str, Any] | None,
    day: date,
    **values: Any,
) -> dict[str, Any]:
    now = _iso(datetime.now(UTC))
    row = {
        "id": str(uuid.uuid4()), "organization_id": ORG, "booking_number": new_booking_number(),
        "venue_id": VENUE, "activity_id": activity_row["id"],
        "customer_id": customer_row["id"] if customer_row else None,
        "session_id": session_row["id"], "booking_date": day.isoformat(),
        "start_time": "18:00:00", "end_time": "19:00:00", "party_size": 2, "adult_count": 2,
        "child_count": 0, "guests_arrived": 0, "currency": "USD", "adult_unit_amount": 3000,
        "child_unit_amount": 1500, "subtotal_amount": 6000, "discount_amount": 0,
        "total_amount": 6000, "amount_paid": 6000, "refunded_amount": 0, "status": "confirmed",
        "payment_status": "paid", "source": "admin", "promo_code": None,
        "special_requests": "", "notes": "", "contact_name": "", "contact_email": None,
        "contact_phone": None, "stripe_payment_intent_id": None,
        "stripe_checkout_session_id": None, "payment_link_url": None, "expires_at": None,
        "confirmed_at": now, "checked_in_at": None, "checked_in_by": None,
        "cancelled_at": None, "cancelled_by": None, "cancel_reason": None,
        "attention_reason": None, "created_by": None, "version": 1, "created_at": now,
        "updated_at": now, "checked_in_by_name": None, "cancelled_by_name": None,
    }  # fmt: skip
    row.update(values)
    party = row["adult_count"] + row["child_count"]
    row["party_size"] = party
    assert set(row) == {*BOOKING_FIELDS, *BOOKING_EXTRA_FIELDS}
    return row


def change(entity: str, row: dict[str, Any] | None, *, entity_id: str | None = None) -> dict:
    """An upsert of ``row`` (or, with ``row=None``, a tombstone of ``entity_id``)."""
    return {
        "cursor": next(_cursors),
        "entity": entity,
        "id": row["id"] if row else entity_id,
        "op": "upsert" if row else "delete",
        "row": row,
    }
