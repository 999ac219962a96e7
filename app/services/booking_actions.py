"""Which actions a member of staff may take on a booking now, and why not.

The lifecycle rules come from :mod:`app.domain.lifecycle`; this module adds who may act,
the time rules the service applies, and the money actions (refund, reschedule, taking
payment, receipts), which need the service: the desk disables a button with the same
sentence the service would answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.checkin import describe_day
from app.domain.lifecycle import (
    STATUS_RULES,
    Action,
    BookingStatus,
    TransitionError,
    check_action,
    undo_check_in_allowed,
)
from app.domain.roles import Role
from app.services.bookings import BookingRow
from app.services.money import NEEDS_CONNECTION, refund_figures, reschedulable

ACTION_LABELS: dict[Action, str] = {
    Action.CHECK_IN: "Check in",
    Action.UNDO_CHECK_IN: "Undo check-in",
    Action.NO_SHOW: "No-show",
    Action.COMPLETE: "Complete",
    Action.CANCEL: "Cancel",
}

# Cancelling gives seats away and leads to refunds, so the desk keeps it to managers.
ACTION_ROLES: dict[Action, Role] = {
    Action.CHECK_IN: Role.FRONT_DESK,
    Action.UNDO_CHECK_IN: Role.FRONT_DESK,
    Action.NO_SHOW: Role.FRONT_DESK,
    Action.COMPLETE: Role.FRONT_DESK,
    Action.CANCEL: Role.MANAGER,
}


class MoneyAction(StrEnum):
    """Actions that move money or need the service's documents."""

    REFUND = "refund"
    RESCHEDULE = "reschedule"
    MARK_PAID = "mark_paid"
    PRINT_RECEIPT = "print_receipt"
    SAVE_RECEIPT = "save_receipt"


MONEY_LABELS: dict[MoneyAction, str] = {
    MoneyAction.REFUND: "Refund…",
    MoneyAction.RESCHEDULE: "Reschedule…",
    MoneyAction.MARK_PAID: "Mark paid…",
    MoneyAction.PRINT_RECEIPT: "Print…",
    MoneyAction.SAVE_RECEIPT: "Save as PDF…",
}
# The action as a sentence names it ("Refund needs …").
MONEY_NAMES: dict[MoneyAction, str] = {
    MoneyAction.REFUND: "Refund",
    MoneyAction.RESCHEDULE: "Rescheduling",
    MoneyAction.MARK_PAID: "Taking a payment",
    MoneyAction.PRINT_RECEIPT: "Printing the receipt",
    MoneyAction.SAVE_RECEIPT: "Saving the receipt",
}
MONEY_ROLES: dict[MoneyAction, Role] = {
    MoneyAction.REFUND: Role.MANAGER,
    MoneyAction.RESCHEDULE: Role.FRONT_DESK,
    MoneyAction.MARK_PAID: Role.FRONT_DESK,
    MoneyAction.PRINT_RECEIPT: Role.FRONT_DESK,
    MoneyAction.SAVE_RECEIPT: Role.FRONT_DESK,
}
# Statuses in which a booking no longer takes money.
_CLOSED = frozenset({BookingStatus.CANCELLED, BookingStatus.EXPIRED, BookingStatus.PAYMENT_FAILED})


@dataclass(frozen=True, slots=True)
class ActionState:
    """An action as a button shows it: enabled, or disabled with the reason."""

    action: Action | MoneyAction
    label: str
    enabled: bool
    reason: str

    @property
    def tooltip(self) -> str:
        return self.reason or self.label


def _time_rule(action: Action, booking: BookingRow, timezone: str, now: datetime) -> str:
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    if action is Action.CHECK_IN and booking.booking_date != today:
        return f"Booking is for {describe_day(booking.booking_date, today)}."
    if action is Action.UNDO_CHECK_IN and not (
        booking.checked_in_at and undo_check_in_allowed(booking.checked_in_at, now, timezone)
    ):
        return "A check-in can only be undone on the day it was made."
    if action is Action.NO_SHOW:
        starts = datetime.combine(booking.booking_date, booking.start_time, tzinfo=zone)
        if starts > now:
            return "A booking can only be marked no-show once its session has started."
    return ""


def action_state(
    action: Action,
    booking: BookingRow,
    role: Role,
    timezone: str,
    now: datetime,
    *,
    online: bool = True,
) -> ActionState:
    """Whether ``role`` may take ``action`` on ``booking`` at ``now`` (venue ``timezone``)."""
    label = ACTION_LABELS[action]
    needed = ACTION_ROLES[action]
    if not role.at_least(needed):
        reason = f"{label} needs the {needed.label.lower()} role or higher."
    elif action is Action.CANCEL and not online:
        # A cancellation may move money, so it is never queued offline.
        reason = f"{label} {NEEDS_CONNECTION}."
    else:
        try:
            check_action(action, booking.status)
        except TransitionError as exc:
            reason = exc.reason
        else:
            reason = _time_rule(action, booking, timezone, now)
    return ActionState(action, label, not reason, reason)


def action_states(
    booking: BookingRow, role: Role, timezone: str, now: datetime, *, online: bool = True
) -> list[ActionState]:
    """Every lifecycle action, in menu order, with its state."""
    return [action_state(a, booking, role, timezone, now, online=online) for a in ACTION_LABELS]


def _money_rule(action: MoneyAction, booking: BookingRow) -> str:
    status = STATUS_RULES[booking.status].label.lower()
    if action is MoneyAction.REFUND:
        figures = refund_figures(booking)
        if figures.paid == 0:
            return "Nothing to refund: no payment has been taken."
        if figures.refundable == 0:
            return "Everything paid has already been refunded."
    elif action is MoneyAction.RESCHEDULE and not reschedulable(booking.status):
        return f"Only a confirmed or checked-in booking can be rescheduled; this one is {status}."
    elif action is MoneyAction.MARK_PAID:
        if booking.status in _CLOSED:
            return f"The booking is {status} and takes no payment."
        if booking.balance_due <= 0:
            return "Nothing is due on this booking."
    return ""


def money_action_state(
    action: MoneyAction, booking: BookingRow, role: Role, *, online: bool
) -> ActionState:
    """Whether ``role`` may take money ``action`` on ``booking`` (``online``: the service
    answers)."""
    name = MONEY_NAMES[action]
    needed = MONEY_ROLES[action]
    if not role.at_least(needed):
        reason = f"{name} needs the {needed.label.lower()} role or higher."
    elif not online:
        reason = f"{name} {NEEDS_CONNECTION}."
    else:
        reason = _money_rule(action, booking)
    return ActionState(action, MONEY_LABELS[action], not reason, reason)


def money_action_states(booking: BookingRow, role: Role, *, online: bool) -> list[ActionState]:
    """Every money action, in menu order, with its state."""
    return [money_action_state(a, booking, role, online=online) for a in MONEY_LABELS]
