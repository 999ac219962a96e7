"""Customer segments, the seed's five, as a pure function of bookings and today's date.

The seed's table, made exact (thresholds are inclusive where the seed says "within"):

| segment  | rule, checked in this order                                             |
|----------|-------------------------------------------------------------------------|
| churned  | 90 or more days since the last activity                                 |
| at_risk  | 60–89 days since the last activity ("was active, 60–90 days without")   |
| vip      | spent more than $500 (50,000 minor units), or 10+ bookings, or a booking |
|          | in each of the last three 30-day windows ("monthly bookings")           |
| active   | activity within the last 60 days and 2+ bookings                        |
| new      | first booking within the last 30 days (days 0–29) and fewer than 2      |
| active   | anyone else with activity within the last 60 days (a one-time customer  |
|          | 30–59 days on: no longer new, not yet at risk)                          |

Recency comes first so that a VIP who stops coming shows up as at risk, which is when a
venue wants to hear about them. Only bookings that represent a visit count: confirmed,
checked in, completed and no-show; pending, expired, failed and cancelled ones do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.domain.lifecycle import BookingStatus


class Segment(StrEnum):
    """The five customer segments."""

    NEW = "new"
    ACTIVE = "active"
    VIP = "vip"
    AT_RISK = "at_risk"
    CHURNED = "churned"


VIP_SPEND_THRESHOLD = 50_000  # minor units; "more than $500"
VIP_BOOKING_COUNT = 10
NEW_WINDOW_DAYS = 30
AT_RISK_AFTER_DAYS = 60
CHURNED_AFTER_DAYS = 90
MONTHLY_WINDOWS = 3

COUNTED_STATUSES = frozenset(
    {
        BookingStatus.CONFIRMED,
        BookingStatus.CHECKED_IN,
        BookingStatus.COMPLETED,
        BookingStatus.NO_SHOW,
    }
)


@dataclass(frozen=True, slots=True)
class BookingFact:
    """What segmentation needs to know about one booking."""

    booked_on: date  # the day the customer made the booking (venue time)
    visit_date: date  # the day of the activity
    amount_paid: int  # minor units actually kept (paid minus refunded)
    status: BookingStatus


@dataclass(frozen=True, slots=True)
class CustomerAnalytics:
    """Figures derived from a customer's bookings."""

    total_bookings: int
    total_spent: int
    average_booking_value: int
    lifetime_value: int
    first_booking_date: date | None
    last_booking_date: date | None
    last_activity_date: date | None
    segment: Segment


def _activity_day(fact: BookingFact, today: date) -> date:
    # Booking is activity; so is a visit, once it has happened.
    return max(fact.booked_on, min(fact.visit_date, today))


def segment_for(facts: Iterable[BookingFact], today: date) -> Segment:
    """The segment of a customer with these bookings, as of ``today``."""
    return analyse(facts, today).segment


def analyse(facts: Iterable[BookingFact], today: date) -> CustomerAnalytics:
    """Totals, dates and segment of a customer from all their bookings."""
    all_facts = list(facts)
    counted = [f for f in all_facts if f.status in COUNTED_STATUSES]
    # Money kept on a cancelled booking (a partial refund) is still money spent.
    spent = sum(max(f.amount_paid, 0) for f in all_facts)
    count = len(counted)
    if not counted:
        return CustomerAnalytics(0, spent, 0, spent, None, None, None, Segment.NEW)

    first = min(f.booked_on for f in counted)
    last_booking = max(f.visit_date for f in counted)
    last_activity = max(_activity_day(f, today) for f in counted)
    days_quiet = (today - last_activity).days
    days_since_first = (today - first).days

    monthly = all(
        any(
            today - timedelta(days=NEW_WINDOW_DAYS * (w + 1))
            < _activity_day(f, today)
            <= today - timedelta(days=NEW_WINDOW_DAYS * w)
            for f in counted
        )
        for w in range(MONTHLY_WINDOWS)
    )

    if days_quiet >= CHURNED_AFTER_DAYS:
        segment = Segment.CHURNED
    elif days_quiet >= AT_RISK_AFTER_DAYS:
        segment = Segment.AT_RISK
    elif spent > VIP_SPEND_THRESHOLD or count >= VIP_BOOKING_COUNT or monthly:
        segment = Segment.VIP
    elif count < 2 and days_since_first < NEW_WINDOW_DAYS:
        segment = Segment.NEW
    else:
        segment = Segment.ACTIVE

    return CustomerAnalytics(
        total_bookings=count,
        total_spent=spent,
        average_booking_value=spent // count,
        lifetime_value=spent,
        first_booking_date=first,
        last_booking_date=last_booking,
        last_activity_date=last_activity,
        segment=segment,
    )
