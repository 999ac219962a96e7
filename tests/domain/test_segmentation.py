"""Customer segments: every boundary of the rules in the module docstring, on a fixed date."""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.lifecycle import BookingStatus
from app.domain.segmentation import (
    BookingFact,
    CustomerAnalytics,
    Segment,
    analyse,
    segment_for,
)

S = BookingStatus
TODAY = date(2025, 6, 15)
COUNTED = [S.CONFIRMED, S.CHECKED_IN, S.COMPLETED, S.NO_SHOW]
NOT_COUNTED = [S.PENDING_PAYMENT, S.EXPIRED, S.PAYMENT_FAILED, S.CANCELLED]


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def fact(
    booked_days_ago: int,
    visit_days_ago: int | None = None,
    *,
    amount: int = 1_000,
    status: BookingStatus = S.COMPLETED,
) -> BookingFact:
    """A booking made ``booked_days_ago`` for a visit ``visit_days_ago`` (negative: future)."""
    visit = booked_days_ago if visit_days_ago is None else visit_days_ago
    return BookingFact(ago(booked_days_ago), ago(visit), amount, status)


def seg(*facts: BookingFact) -> Segment:
    return segment_for(facts, TODAY)


# --- no bookings -------------------------------------------------------------------------


def test_no_bookings_is_new_with_zero_totals() -> None:
    assert analyse([], TODAY) == CustomerAnalytics(
        total_bookings=0,
        total_spent=0,
        average_booking_value=0,
        lifetime_value=0,
        first_booking_date=None,
        last_booking_date=None,
        last_activity_date=None,
        segment=Segment.NEW,
    )


# --- new vs not new ------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "expected"), [(0, Segment.NEW), (29, Segment.NEW)])
def test_single_booking_within_30_days_is_new(days: int, expected: Segment) -> None:
    assert seg(fact(days)) is expected


def test_single_booking_30_days_ago_is_no_longer_new() -> None:
    assert seg(fact(30)) is Segment.ACTIVE


def test_new_is_measured_from_the_first_booking_not_the_visit() -> None:
    # Booked 29 days ago for a visit next week: still new.
    assert seg(fact(29, -7)) is Segment.NEW
    # Booked 30 days ago for a visit today: no longer new, but active (visit is today).
    assert seg(fact(30, 0)) is Segment.ACTIVE


def test_two_recent_bookings_are_active_not_new() -> None:
    assert seg(fact(3), fact(1)) is Segment.ACTIVE


def test_vip_is_checked_before_new() -> None:
    assert seg(fact(5, amount=60_000)) is Segment.VIP


# --- recency -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_quiet", "expected"),
    [
        (59, Segment.ACTIVE),
        (60, Segment.AT_RISK),
        (89, Segment.AT_RISK),
        (90, Segment.CHURNED),
        (400, Segment.CHURNED),
    ],
)
def test_recency_boundaries_single_booking(days_quiet: int, expected: Segment) -> None:
    assert seg(fact(days_quiet)) is expected


@pytest.mark.parametrize(
    ("days_quiet", "expected"),
    [(59, Segment.ACTIVE), (60, Segment.AT_RISK), (89, Segment.AT_RISK), (90, Segment.CHURNED)],
)
def test_recency_boundaries_repeat_customer(days_quiet: int, expected: Segment) -> None:
    assert seg(fact(days_quiet + 100), fact(days_quiet)) is expected


def test_recency_uses_the_latest_activity() -> None:
    analytics = analyse([fact(200), fact(59), fact(120)], TODAY)
    assert analytics.last_activity_date == ago(59)
    assert analytics.segment is Segment.ACTIVE


def test_future_visit_counts_as_activity_capped_at_today() -> None:
    # Booked 70 days ago (would be at risk), visit in 10 days: activity is "today".
    analytics = analyse([fact(70, -10)], TODAY)
    assert analytics.last_activity_date == TODAY
    assert analytics.last_booking_date == ago(-10)
    assert analytics.segment is Segment.ACTIVE


def test_visit_today_is_activity_today() -> None:
    assert analyse([fact(95, 0)], TODAY).last_activity_date == TODAY
    assert seg(fact(95, 0)) is Segment.ACTIVE


def test_a_past_visit_is_activity_on_its_day() -> None:
    analytics = analyse([fact(100, 61)], TODAY)
    assert analytics.last_activity_date == ago(61)
    assert analytics.segment is Segment.AT_RISK


# --- VIP -----------------------------------------------------------------------------------


def test_spend_of_exactly_500_dollars_is_not_vip() -> None:
    assert seg(fact(10, amount=50_000)) is Segment.NEW
    assert seg(fact(40, amount=25_000), fact(10, amount=25_000)) is Segment.ACTIVE


def test_spend_over_500_dollars_is_vip() -> None:
    assert seg(fact(10, amount=50_001)) is Segment.VIP
    assert seg(fact(40, amount=25_000), fact(10, amount=25_001)) is Segment.VIP


def test_nine_bookings_are_not_vip_ten_are() -> None:
    # All on one day 40 days ago: one 30-day window only, small spend.
    nine = [fact(40, amount=100) for _ in range(9)]
    assert seg(*nine) is Segment.ACTIVE
    assert seg(*nine, fact(40, amount=100)) is Segment.VIP


def test_uncounted_bookings_do_not_count_toward_ten() -> None:
    nine = [fact(40, amount=0) for _ in range(9)]
    assert seg(*nine, fact(40, amount=0, status=S.CANCELLED)) is Segment.ACTIVE


@pytest.mark.parametrize(
    "days_ago",
    [
        (29, 59, 89),  # the oldest edge of each window
        (0, 30, 60),  # the newest edge of each window
        (1, 31, 61),
        (10, 45, 75),
    ],
)
def test_a_booking_in_each_of_the_last_three_windows_is_vip(days_ago: tuple[int, ...]) -> None:
    assert seg(*(fact(d, amount=100) for d in days_ago)) is Segment.VIP


@pytest.mark.parametrize(
    "days_ago",
    [
        (5, 65, 75),  # nothing in days 30-59
        (5, 10, 45),  # nothing in days 60-89
        (30, 60, 89),  # nothing in days 0-29 (30 belongs to the second window)
        (0, 30, 90),  # day 90 is outside the third window
        (0, 1, 2),
    ],
)
def test_a_gap_in_one_window_is_not_monthly(days_ago: tuple[int, ...]) -> None:
    assert seg(*(fact(d, amount=100) for d in days_ago)) is Segment.ACTIVE


def test_monthly_windows_use_the_activity_day() -> None:
    # Booked 70 days ago for a visit 40 days ago: activity on day 40 only, so window three
    # (days 60-89) stays empty.
    assert seg(fact(5, amount=100), fact(70, 40, amount=100)) is Segment.ACTIVE
    assert seg(fact(5), fact(70, 40), fact(65, amount=100)) is Segment.VIP


def test_monthly_windows_ignore_uncounted_bookings() -> None:
    facts = [fact(5), fact(35), fact(65, status=S.CANCELLED, amount=0)]
    assert seg(*facts) is Segment.ACTIVE


# --- recency beats VIP -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_quiet", "expected"),
    [(59, Segment.VIP), (60, Segment.AT_RISK), (89, Segment.AT_RISK), (90, Segment.CHURNED)],
)
def test_recency_beats_vip(days_quiet: int, expected: Segment) -> None:
    big_spender = [fact(days_quiet, amount=60_000) for _ in range(12)]
    assert seg(*big_spender) is expected


# --- which statuses count --------------------------------------------------------------------


@pytest.mark.parametrize("status", NOT_COUNTED, ids=str)
def test_uncounted_statuses_do_not_make_a_customer_active(status: BookingStatus) -> None:
    old_visit = fact(70)
    fresh = fact(0, -5, amount=0, status=status)
    analytics = analyse([old_visit, fresh], TODAY)
    assert analytics.segment is Segment.AT_RISK
    assert analytics.total_bookings == 1
    assert analytics.last_activity_date == ago(70)
    assert analytics.first_booking_date == ago(70)
    assert analytics.last_booking_date == ago(70)


@pytest.mark.parametrize("status", COUNTED, ids=str)
def test_counted_statuses_are_activity(status: BookingStatus) -> None:
    analytics = analyse([fact(70), fact(1, status=status)], TODAY)
    assert analytics.segment is Segment.ACTIVE
    assert analytics.total_bookings == 2


@pytest.mark.parametrize("status", NOT_COUNTED, ids=str)
def test_only_uncounted_bookings_means_no_counted_bookings(status: BookingStatus) -> None:
    analytics = analyse([fact(200, status=status, amount=0)], TODAY)
    assert analytics.segment is Segment.NEW
    assert analytics.total_bookings == 0
    assert analytics.total_spent == 0
    assert analytics.first_booking_date is None
    assert analytics.last_booking_date is None
    assert analytics.last_activity_date is None


def test_money_kept_on_a_cancelled_booking_counts_toward_total_spent() -> None:
    analytics = analyse([fact(20, amount=3_000), fact(10, amount=700, status=S.CANCELLED)], TODAY)
    assert analytics.total_bookings == 1
    assert analytics.total_spent == 3_700
    assert analytics.lifetime_value == 3_700
    assert analytics.average_booking_value == 3_700


def test_money_kept_on_cancelled_bookings_alone() -> None:
    analytics = analyse([fact(20, amount=700, status=S.CANCELLED)], TODAY)
    assert analytics.total_bookings == 0
    assert analytics.total_spent == 700
    assert analytics.average_booking_value == 0


# --- analyse -----------------------------------------------------------------------------


def test_analyse_totals_and_dates() -> None:
    facts = [
        fact(100, 95, amount=3_000),
        fact(20, -10, amount=1_001),
        fact(50, 45, amount=0, status=S.NO_SHOW),
        fact(300, 290, amount=0, status=S.EXPIRED),  # earlier, but does not count
    ]
    analytics = analyse(facts, TODAY)
    assert analytics.total_bookings == 3
    assert analytics.total_spent == 4_001
    assert analytics.lifetime_value == 4_001
    assert analytics.average_booking_value == 4_001 // 3
    assert analytics.first_booking_date == ago(100)
    assert analytics.last_booking_date == ago(-10)
    assert analytics.last_activity_date == TODAY
    assert analytics.segment is Segment.ACTIVE


def test_average_is_floor_division() -> None:
    analytics = analyse([fact(5, amount=1_000), fact(4, amount=1_001)], TODAY)
    assert analytics.average_booking_value == 1_000


def test_analyse_accepts_a_one_shot_iterable() -> None:
    facts = (f for f in [fact(5, amount=1_000), fact(4, amount=2_000)])
    analytics = analyse(facts, TODAY)
    assert analytics.total_bookings == 2
    assert analytics.total_spent == 3_000


def test_segment_for_is_the_segment_of_analyse() -> None:
    facts = [fact(61), fact(70)]
    assert segment_for(facts, TODAY) is analyse(facts, TODAY).segment is Segment.AT_RISK


# --- properties ----------------------------------------------------------------------------


def _fact_from(booked: int, lead: int, amount: int, status: BookingStatus) -> BookingFact:
    return fact(booked, booked - lead, amount=amount, status=status)


facts_strategy = st.lists(
    st.builds(
        _fact_from,
        st.integers(0, 200),
        st.integers(0, 60),
        st.integers(0, 30_000),
        st.sampled_from(list(BookingStatus)),
    ),
    max_size=12,
)


@given(facts_strategy, st.randoms(use_true_random=False))
def test_order_of_bookings_does_not_matter(facts: list[BookingFact], rnd: Random) -> None:
    shuffled = list(facts)
    rnd.shuffle(shuffled)
    assert analyse(shuffled, TODAY) == analyse(facts, TODAY)


@given(facts_strategy, st.sampled_from(NOT_COUNTED), st.integers(0, 200), st.integers(-30, 200))
def test_an_uncounted_free_booking_never_changes_the_segment(
    facts: list[BookingFact], status: BookingStatus, booked: int, visit: int
) -> None:
    extra = fact(booked, min(visit, booked), amount=0, status=status)
    assert analyse([*facts, extra], TODAY) == analyse(facts, TODAY)


@given(facts_strategy)
def test_recency_segments_follow_days_quiet(facts: list[BookingFact]) -> None:
    analytics = analyse(facts, TODAY)
    if analytics.last_activity_date is None:
        assert analytics.segment is Segment.NEW
        return
    quiet = (TODAY - analytics.last_activity_date).days
    assert quiet >= 0
    if quiet >= 90:
        assert analytics.segment is Segment.CHURNED
    elif quiet >= 60:
        assert analytics.segment is Segment.AT_RISK
    else:
        assert analytics.segment in {Segment.VIP, Segment.ACTIVE, Segment.NEW}
