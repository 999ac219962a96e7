"""The booking lifecycle as data: statuses, allowed transitions, capacity and payment effects.

DESIGN.md's table made exact. The service and the desk both consult this module, so a
transition refused here is refused everywhere with the same sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class BookingStatus(StrEnum):
    """Where a booking is in its life."""

    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    EXPIRED = "expired"
    PAYMENT_FAILED = "payment_failed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class PaymentStatus(StrEnum):
    """What happened to the money of a booking."""

    UNPAID = "unpaid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class StatusRule:
    """What a status means for the session's capacity and which payment states fit it."""

    holds_capacity: bool
    payment_states: frozenset[PaymentStatus]
    label: str


_PAID_OR_AFTER = frozenset(
    {PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)

STATUS_RULES: dict[BookingStatus, StatusRule] = {
    BookingStatus.PENDING_PAYMENT: StatusRule(True, frozenset({PaymentStatus.UNPAID}), "Pending"),
    # A pay-at-desk booking is confirmed while still unpaid.
    BookingStatus.CONFIRMED: StatusRule(True, _PAID_OR_AFTER | {PaymentStatus.UNPAID}, "Confirmed"),
    # Staff may override "unpaid" at the door after taking payment, so unpaid is allowed.
    BookingStatus.CHECKED_IN: StatusRule(
        True, _PAID_OR_AFTER | {PaymentStatus.UNPAID}, "Checked in"
    ),
    BookingStatus.COMPLETED: StatusRule(
        False, _PAID_OR_AFTER | {PaymentStatus.UNPAID}, "Completed"
    ),
    BookingStatus.EXPIRED: StatusRule(
        False, frozenset({PaymentStatus.UNPAID, PaymentStatus.REFUNDED}), "Expired"
    ),
    BookingStatus.PAYMENT_FAILED: StatusRule(False, frozenset({PaymentStatus.FAILED}), "Failed"),
    BookingStatus.CANCELLED: StatusRule(
        False, _PAID_OR_AFTER | {PaymentStatus.UNPAID, PaymentStatus.FAILED}, "Cancelled"
    ),
    BookingStatus.NO_SHOW: StatusRule(False, _PAID_OR_AFTER | {PaymentStatus.UNPAID}, "No-show"),
}

TRANSITIONS: dict[BookingStatus, frozenset[BookingStatus]] = {
    BookingStatus.PENDING_PAYMENT: frozenset(
        {
            BookingStatus.CONFIRMED,
            BookingStatus.EXPIRED,
            BookingStatus.PAYMENT_FAILED,
            BookingStatus.CANCELLED,
        }
    ),
    BookingStatus.CONFIRMED: frozenset(
        {BookingStatus.CHECKED_IN, BookingStatus.CANCELLED, BookingStatus.NO_SHOW}
    ),
    # checked_in -> confirmed is "undo check-in", allowed only on the day of the check-in.
    BookingStatus.CHECKED_IN: frozenset(
        {BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.CONFIRMED}
    ),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.EXPIRED: frozenset(),
    BookingStatus.PAYMENT_FAILED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}

TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


class TransitionError(Exception):
    """A booking was asked to move somewhere its lifecycle does not allow."""

    def __init__(self, current: BookingStatus, target: BookingStatus, reason: str) -> None:
        super().__init__(reason)
        self.current = current
        self.target = target
        self.reason = reason


def can_transition(current: BookingStatus, target: BookingStatus) -> bool:
    """Whether the lifecycle allows ``current`` → ``target`` at all."""
    return target in TRANSITIONS[current]


def check_transition(current: BookingStatus, target: BookingStatus) -> None:
    """Raise :class:`TransitionError` with a readable sentence unless the move is allowed."""
    if can_transition(current, target):
        return
    now, then = STATUS_RULES[current].label.lower(), STATUS_RULES[target].label.lower()
    if current == target:
        reason = f"The booking is already {now}."
    elif current in TERMINAL:
        reason = f"The booking is {now} and can no longer become {then}."
    else:
        allowed = ", ".join(sorted(STATUS_RULES[s].label.lower() for s in TRANSITIONS[current]))
        reason = f"A {now} booking cannot become {then} (it can become: {allowed})."
    raise TransitionError(current, target, reason)


def capacity_delta(current: BookingStatus, target: BookingStatus, party_size: int) -> int:
    """The change to the session's ``reserved`` count when a booking moves.

    +party when the booking starts holding seats, −party when it stops, 0 otherwise.
    """
    held_before = STATUS_RULES[current].holds_capacity
    held_after = STATUS_RULES[target].holds_capacity
    if held_before == held_after:
        return 0
    return party_size if held_after else -party_size


def holds_capacity(status: BookingStatus) -> bool:
    """Whether a booking in this status keeps its seats reserved."""
    return STATUS_RULES[status].holds_capacity


# A payment that arrives for a booking whose hold already ended: the seats are taken again
# when the session still has room (the booking becomes confirmed); otherwise the money is
# refunded automatically. Not a staff transition, so it is outside TRANSITIONS.
REVIVABLE_BY_LATE_PAYMENT = frozenset({BookingStatus.EXPIRED, BookingStatus.PAYMENT_FAILED})


def payment_status_for(
    amount_paid: int, refunded_amount: int, *, failed: bool = False
) -> PaymentStatus:
    """The payment state that the money received and given back amounts to."""
    if refunded_amount > 0:
        if refunded_amount >= amount_paid:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED
    if amount_paid > 0:
        return PaymentStatus.PAID
    return PaymentStatus.FAILED if failed else PaymentStatus.UNPAID


def local_today(timezone: str, now: datetime | None = None) -> date:
    """The calendar date at the venue (``now`` defaults to the current time)."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


def undo_check_in_allowed(checked_in_at: datetime, now: datetime, timezone: str) -> bool:
    """Undo of a check-in is allowed on the venue's calendar day of the check-in only."""
    zone = ZoneInfo(timezone)
    return checked_in_at.astimezone(zone).date() == now.astimezone(zone).date()


class Action(StrEnum):
    """Staff actions that move a booking between statuses."""

    CHECK_IN = "check_in"
    UNDO_CHECK_IN = "undo_check_in"
    NO_SHOW = "no_show"
    COMPLETE = "complete"
    CANCEL = "cancel"


ACTION_TARGETS: dict[Action, BookingStatus] = {
    Action.CHECK_IN: BookingStatus.CHECKED_IN,
    Action.UNDO_CHECK_IN: BookingStatus.CONFIRMED,
    Action.NO_SHOW: BookingStatus.NO_SHOW,
    Action.COMPLETE: BookingStatus.COMPLETED,
    Action.CANCEL: BookingStatus.CANCELLED,
}


def check_action(action: Action, current: BookingStatus) -> BookingStatus:
    """The status ``action`` leads to from ``current``, or :class:`TransitionError`.

    "Undo check-in" is the one action whose transition (checked_in → confirmed) is not
    reachable by any other action, so it is refused from every other status by name.
    """
    target = ACTION_TARGETS[action]
    if action is Action.UNDO_CHECK_IN and current is not BookingStatus.CHECKED_IN:
        raise TransitionError(
            current,
            target,
            f"Only a checked-in booking can be undone; this one is "
            f"{STATUS_RULES[current].label.lower()}.",
        )
    check_transition(current, target)
    return target
