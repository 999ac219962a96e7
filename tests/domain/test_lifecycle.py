"""The booking lifecycle: every transition, its capacity effect, staff actions, undo window."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product
from zoneinfo import ZoneInfo

import pytest

from app.domain.lifecycle import (
    ACTION_TARGETS,
    STATUS_RULES,
    TERMINAL,
    TRANSITIONS,
    Action,
    BookingStatus,
    TransitionError,
    can_transition,
    capacity_delta,
    check_action,
    check_transition,
    holds_capacity,
    undo_check_in_allowed,
)

S = BookingStatus

# Written out from the product design, independently of the module's own table.
ALLOWED: dict[BookingStatus, set[BookingStatus]] = {
    S.PENDING_PAYMENT: {S.CONFIRMED, S.EXPIRED, S.PAYMENT_FAILED, S.CANCELLED},
    S.CONFIRMED: {S.CHECKED_IN, S.CANCELLED, S.NO_SHOW},
    S.CHECKED_IN: {S.COMPLETED, S.CANCELLED, S.CONFIRMED},
    S.COMPLETED: set(),
    S.EXPIRED: set(),
    S.PAYMENT_FAILED: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: set(),
}
HOLDING = {S.PENDING_PAYMENT, S.CONFIRMED, S.CHECKED_IN}
ALL_PAIRS = list(product(BookingStatus, BookingStatus))
ALLOWED_PAIRS = [(a, b) for a, b in ALL_PAIRS if b in ALLOWED[a]]

NY = "America/New_York"


def _label(status: BookingStatus) -> str:
    return STATUS_RULES[status].label.lower()


def test_there_are_exactly_the_eight_statuses() -> None:
    assert {s.value for s in BookingStatus} == {
        "pending_payment",
        "confirmed",
        "checked_in",
        "completed",
        "expired",
        "payment_failed",
        "cancelled",
        "no_show",
    }


def test_transition_table_matches_the_design() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == ALLOWED


def test_terminal_statuses() -> None:
    expected = {S.COMPLETED, S.EXPIRED, S.PAYMENT_FAILED, S.CANCELLED, S.NO_SHOW}
    assert set(TERMINAL) == expected


def test_every_status_has_a_rule_with_a_label() -> None:
    assert set(STATUS_RULES) == set(BookingStatus)
    labels = [rule.label for rule in STATUS_RULES.values()]
    assert all(labels)
    assert len(set(labels)) == len(labels), "labels must tell statuses apart"


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_every_pair_of_statuses(current: BookingStatus, target: BookingStatus) -> None:
    if target in ALLOWED[current]:
        assert can_transition(current, target)
        check_transition(current, target)  # does not raise
        return

    assert not can_transition(current, target)
    with pytest.raises(TransitionError) as caught:
        check_transition(current, target)
    error = caught.value
    message = str(error)
    assert message.strip()
    assert message == error.reason
    assert error.current is current
    assert error.target is target
    assert "BookingStatus" not in message
    assert "<" not in message and "'" not in message
    # The statuses are named the way people read them.
    assert _label(current) in message
    assert _label(target) in message
    assert message[0].isupper()
    assert message.endswith(".")


def test_refusal_from_a_live_status_lists_where_it_can_go() -> None:
    with pytest.raises(TransitionError) as caught:
        check_transition(S.CONFIRMED, S.COMPLETED)
    message = str(caught.value)
    assert "confirmed" in message and "completed" in message
    for target in ALLOWED[S.CONFIRMED]:
        assert _label(target) in message.split("can become:")[1]


def test_refusal_to_stay_put_says_already() -> None:
    with pytest.raises(TransitionError, match="already checked in"):
        check_transition(S.CHECKED_IN, S.CHECKED_IN)


@pytest.mark.parametrize("status", list(BookingStatus), ids=lambda s: s.value)
def test_holds_capacity(status: BookingStatus) -> None:
    assert holds_capacity(status) is (status in HOLDING)


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS, ids=lambda s: s.value)
@pytest.mark.parametrize("party", [1, 4, 12])
def test_capacity_delta_for_every_allowed_transition(
    current: BookingStatus, target: BookingStatus, party: int
) -> None:
    before, after = current in HOLDING, target in HOLDING
    expected = 0 if before == after else (party if after else -party)
    assert capacity_delta(current, target, party) == expected


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        (S.CONFIRMED, S.CANCELLED, -4),
        (S.PENDING_PAYMENT, S.CONFIRMED, 0),
        (S.CHECKED_IN, S.CONFIRMED, 0),
        (S.CONFIRMED, S.CHECKED_IN, 0),
        (S.PENDING_PAYMENT, S.EXPIRED, -4),
        (S.PENDING_PAYMENT, S.PAYMENT_FAILED, -4),
        (S.CONFIRMED, S.NO_SHOW, -4),
        (S.CHECKED_IN, S.COMPLETED, -4),
        (S.CHECKED_IN, S.CANCELLED, -4),
    ],
)
def test_capacity_delta_examples(
    current: BookingStatus, target: BookingStatus, expected: int
) -> None:
    assert capacity_delta(current, target, 4) == expected


def test_no_allowed_transition_takes_seats_back() -> None:
    # Nothing in the lifecycle moves from a released status back to a holding one.
    assert all(capacity_delta(a, b, 3) <= 0 for a, b in ALLOWED_PAIRS)


def test_action_targets() -> None:
    assert ACTION_TARGETS == {
        Action.CHECK_IN: S.CHECKED_IN,
        Action.UNDO_CHECK_IN: S.CONFIRMED,
        Action.NO_SHOW: S.NO_SHOW,
        Action.COMPLETE: S.COMPLETED,
        Action.CANCEL: S.CANCELLED,
    }


def _action_allowed(action: Action, current: BookingStatus) -> bool:
    if action is Action.UNDO_CHECK_IN:
        return current is S.CHECKED_IN
    return ACTION_TARGETS[action] in ALLOWED[current]


@pytest.mark.parametrize(
    ("action", "current"), list(product(Action, BookingStatus)), ids=lambda x: x.value
)
def test_check_action_for_every_action_and_status(action: Action, current: BookingStatus) -> None:
    target = ACTION_TARGETS[action]
    if _action_allowed(action, current):
        assert check_action(action, current) is target
        return
    with pytest.raises(TransitionError) as caught:
        check_action(action, current)
    message = str(caught.value)
    assert message.strip()
    assert "BookingStatus" not in message and "Action." not in message
    assert _label(current) in message
    assert caught.value.current is current
    assert caught.value.target is target


def test_check_action_allowed_examples() -> None:
    assert check_action(Action.CHECK_IN, S.CONFIRMED) is S.CHECKED_IN
    assert check_action(Action.UNDO_CHECK_IN, S.CHECKED_IN) is S.CONFIRMED
    assert check_action(Action.NO_SHOW, S.CONFIRMED) is S.NO_SHOW
    assert check_action(Action.COMPLETE, S.CHECKED_IN) is S.COMPLETED
    for status in (S.PENDING_PAYMENT, S.CONFIRMED, S.CHECKED_IN):
        assert check_action(Action.CANCEL, status) is S.CANCELLED


@pytest.mark.parametrize("current", [s for s in BookingStatus if s is not S.CHECKED_IN])
def test_undo_is_refused_by_name_outside_checked_in(current: BookingStatus) -> None:
    # Even from pending_payment, where a move to "confirmed" is otherwise allowed.
    with pytest.raises(TransitionError, match="Only a checked-in booking can be undone"):
        check_action(Action.UNDO_CHECK_IN, current)


def test_pending_cannot_be_checked_in_directly() -> None:
    with pytest.raises(TransitionError):
        check_action(Action.CHECK_IN, S.PENDING_PAYMENT)


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(NY))


def test_undo_refused_across_the_venue_midnight() -> None:
    checked_in = _local(2024, 11, 29, 23, 30)
    now = _local(2024, 11, 30, 0, 10)
    # Both instants fall on the same UTC day (04:30 and 05:10 on 30 Nov) ...
    assert checked_in.astimezone(UTC).date() == now.astimezone(UTC).date()
    # ... but on different days at the venue.
    assert undo_check_in_allowed(checked_in, now, NY) is False


def test_undo_allowed_same_local_day_even_when_utc_day_differs() -> None:
    checked_in = _local(2024, 11, 29, 18, 0)  # 23:00 UTC on the 29th
    now = _local(2024, 11, 29, 21, 0)  # 02:00 UTC on the 30th
    assert checked_in.astimezone(UTC).date() != now.astimezone(UTC).date()
    assert undo_check_in_allowed(checked_in, now, NY) is True


def test_undo_window_uses_the_venue_zone_whatever_zone_the_inputs_are_in() -> None:
    checked_in = datetime(2024, 11, 30, 4, 30, tzinfo=UTC)  # 23:30 on the 29th in New York
    now = datetime(2024, 11, 30, 5, 10, tzinfo=UTC)  # 00:10 on the 30th in New York
    assert undo_check_in_allowed(checked_in, now, NY) is False
    assert undo_check_in_allowed(checked_in, now, "UTC") is True
    assert undo_check_in_allowed(checked_in, now, "Europe/London") is True


def test_undo_allowed_just_before_local_midnight_and_refused_just_after() -> None:
    checked_in = _local(2024, 7, 4, 0, 0)
    assert undo_check_in_allowed(checked_in, _local(2024, 7, 4, 23, 59, 59), NY) is True
    assert undo_check_in_allowed(checked_in, _local(2024, 7, 5, 0, 0), NY) is False


def test_undo_on_a_dst_change_day() -> None:
    # 10 Mar 2024: New York springs forward; the local day is 23 hours long.
    checked_in = _local(2024, 3, 10, 0, 30)
    assert undo_check_in_allowed(checked_in, _local(2024, 3, 10, 23, 30), NY) is True
    assert undo_check_in_allowed(checked_in, _local(2024, 3, 11, 0, 30), NY) is False


def test_undo_refused_on_a_later_day() -> None:
    assert undo_check_in_allowed(_local(2024, 11, 29, 10), _local(2024, 12, 2, 10), NY) is False
