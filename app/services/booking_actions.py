"""Which lifecycle actions a member of staff may take on a booking now, and why not.

The lifecycle rules come from :mod:`app.domain.lifecycle`; this module adds who may act
and the time rules the service applies, so the desk can disable a button with the same
sentence the service would answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.domain.checkin import describe_day
from app.domain.lifecycle import Action, TransitionError, check_action, undo_check_in_allowed
from app.domain.roles import Role
from app.services.bookings import BookingRow

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


@dataclass(frozen=True, slots=True)
class ActionState:
    """An action as a button shows it: enabled, or disabled with the reason."""

    action: Action
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
    action: Action, booking: BookingRow, role: Role, timezone: str, now: datetime
) -> ActionState:
    """Whether ``role`` may take ``action`` on ``booking`` at ``now`` (venue ``timezone``)."""
    label = ACTION_LABELS[action]
    needed = ACTION_ROLES[action]
    if not role.at_least(needed):
        reason = f"{label} needs the {needed.label.lower()} role or higher."
    else:
        try:
            check_action(action, booking.status)
        except TransitionError as exc:
            reason = exc.reason
        else:
            reason = _time_rule(action, booking, timezone, now)
    return ActionState(action, label, not reason, reason)


def action_states(
    booking: BookingRow, role: Role, timezone: str, now: datetime
) -> list[ActionState]:
    """Every lifecycle action, in menu order, with its state."""
    return [action_state(a, booking, role, timezone, now) for a in ACTION_LABELS]
