"""Desk actions sent from the offline queue, applied exactly once each, in order.

Each action runs in a transaction of its own: its ``client_actions`` row is claimed first
(a concurrent copy of the same id waits on it, then reads the stored answer), the effect runs
in a savepoint (a refusal undoes all of it), and the answer is stored with the claim. The
rules are the bookings' and the door's own (``apply_action``, ``checkins.service.admit``);
this module only turns their refusals into per-action answers that say who and when.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.checkin import CheckInResult, describe_day
from app.domain.lifecycle import Action, BookingStatus, TransitionError
from app.server.auth.principal import Principal
from app.server.bookings import repository as bookings
from app.server.bookings.events import Actor, record_event
from app.server.bookings.service import apply_action, venue_timezone
from app.server.checkins.service import admit
from app.server.core.db import Database
from app.server.core.errors import AppError, Invalid, NotFound
from app.server.db.models import Booking, BookingEvent, ClientAction, StaffUser
from app.server.sync import repository
from app.server.sync.schemas import DeskAction

EXPIRED = frozenset({BookingStatus.EXPIRED, BookingStatus.PAYMENT_FAILED})


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one action; stored, and sent again for a replay."""

    id: uuid.UUID
    outcome: str
    code: str | None
    message: str
    at: datetime | None = None
    by: str | None = None
    cursor: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "id": str(self.id), "at": self.at.isoformat() if self.at else None}


class Refusal(Exception):
    """The action cannot be applied; ``code`` is one of ``schemas.REJECTION_CODES``."""

    def __init__(
        self, code: str, message: str, *, at: datetime | None = None, by: str | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.at, self.by = code, message, at, by


async def apply_actions(
    db: Database,
    principal: Principal,
    device_id: str,
    actions: list[DeskAction],
    *,
    now: datetime | None = None,
) -> list[Answer]:
    """Apply ``actions`` in order, each once; one answer per action, in the same order."""
    return [await apply_one(db, principal, device_id, action, now=now) for action in actions]


async def apply_one(
    db: Database,
    principal: Principal,
    device_id: str,
    action: DeskAction,
    *,
    now: datetime | None = None,
) -> Answer:
    """Apply one action unless its id was seen before; the (stored) answer either way."""
    async with db.tenant(principal.organization_id) as session:
        if not await _claim(session, principal, device_id, action):
            return await _stored_answer(session, action)
        first_change = await repository.last_drawn_id(session)
        try:
            async with session.begin_nested():
                answer = await _perform(session, principal, action, now or datetime.now(UTC))
        except Refusal as refusal:
            answer = Answer(
                action.id, "rejected", refusal.code, refusal.message, refusal.at, refusal.by
            )
        if answer.outcome == "applied":
            cursor = await repository.last_change_of(
                session, "bookings", str(action.booking_id), first_change
            )
            answer = replace(answer, cursor=cursor or None)
        await session.execute(
            update(ClientAction)
            .where(ClientAction.id == action.id)
            .values(
                outcome=answer.outcome,
                code=answer.code,
                message=answer.message,
                payload={**_request_payload(action), "answer": answer.to_json()},
            )
        )
    return answer


def _request_payload(action: DeskAction) -> dict[str, Any]:
    return {
        "guests_arrived": action.guests_arrived,
        "override_unpaid": action.override_unpaid,
        "note": action.note,
    }


async def _claim(
    session: AsyncSession, principal: Principal, device_id: str, action: DeskAction
) -> bool:
    """Take the action's id; ``False`` when it was taken before (or is being taken now)."""
    claimed = await session.scalar(
        insert(ClientAction)
        .values(
            id=action.id,
            organization_id=principal.organization_id,
            device_id=device_id,
            staff_user_id=principal.staff_user_id,
            kind=action.kind,
            booking_id=action.booking_id,
            payload=_request_payload(action),
            happened_at=action.happened_at,
            # Replaced below, in this transaction, by the real answer.
            outcome="rejected",
            message="",
        )
        .on_conflict_do_nothing(index_elements=[ClientAction.id])
        .returning(ClientAction.id)
    )
    return claimed is not None


async def _stored_answer(session: AsyncSession, action: DeskAction) -> Answer:
    stored = await session.get(ClientAction, action.id)
    if stored is None:  # the id is taken in another organization
        return Answer(
            action.id, "rejected", "forbidden", "This action id is already taken; send a new one."
        )
    if stored.kind != action.kind or stored.booking_id != action.booking_id:
        return Answer(
            action.id,
            "rejected",
            "forbidden",
            "This action id was already used for a different action; send a new one.",
        )
    saved = stored.payload.get("answer", {})
    at = saved.get("at")
    return Answer(
        action.id,
        stored.outcome,
        stored.code,
        stored.message or "",
        datetime.fromisoformat(at) if at else None,
        saved.get("by"),
        saved.get("cursor"),
    )


async def _perform(
    session: AsyncSession, principal: Principal, action: DeskAction, now: datetime
) -> Answer:
    actor = Actor.staff(principal)
    # When staff did it, as the desk says, but never later than the service's own clock.
    when = min(action.happened_at, now)
    booking = await bookings.get(session, action.booking_id, lock=True)
    if booking is None:
        raise Refusal("unknown", "There is no such booking (it may have been removed).")
    timezone = await venue_timezone(session, booking)
    try:
        if action.kind == "check_in":
            return await _check_in(session, booking, actor, action, when, timezone)
        if action.kind == "note":
            return await _note(session, booking, actor, action, when)
        return await _move(session, booking, actor, action, when, timezone)
    except TransitionError as exc:
        raise await _transition_refusal(session, booking, exc, now, timezone) from exc
    except NotFound as exc:
        raise Refusal("unknown", exc.message) from exc
    except Invalid as exc:
        raise Refusal("invalid", exc.message) from exc
    except AppError as exc:  # the lifecycle's own refusals: not_today, unpaid, too_early…
        raise Refusal(exc.code, exc.message) from exc


async def _check_in(
    session: AsyncSession,
    booking: Booking,
    actor: Actor,
    action: DeskAction,
    when: datetime,
    timezone: str,
) -> Answer:
    outcome = await admit(
        session,
        booking,
        actor,
        guests_arrived=action.guests_arrived,
        override_unpaid=action.override_unpaid,
        now=when,
    )
    result, booking = outcome.answer.result, outcome.booking or booking
    if result is CheckInResult.OK:
        return Answer(action.id, "applied", None, "Checked in.", booking.checked_in_at, actor.name)
    if result is CheckInResult.ALREADY_CHECKED_IN:
        by = await _staff_name(session, booking.checked_in_by)
        return Answer(
            action.id, "already_done", None, outcome.answer.message, booking.checked_in_at, by
        )
    if result is CheckInResult.CANCELLED:
        raise await _cancelled(session, booking, when, timezone)
    raise Refusal(result.value, outcome.answer.message)


async def _move(
    session: AsyncSession,
    booking: Booking,
    actor: Actor,
    action: DeskAction,
    when: datetime,
    timezone: str,
) -> Answer:
    """Undo a check-in or mark a no-show, or say that it was done already."""
    status = BookingStatus(booking.status)
    kind = Action(action.kind)
    if kind is Action.UNDO_CHECK_IN and status is BookingStatus.CONFIRMED:
        done = await _last_event(session, booking.id, Action.UNDO_CHECK_IN.value)
        if done is not None:
            return Answer(
                action.id,
                "already_done",
                None,
                f"The check-in was already undone {_when(done.at, when, timezone)}"
                f"{_by(done.actor_name)}.",
                done.at,
                done.actor_name or None,
            )
    if kind is Action.NO_SHOW and status is BookingStatus.NO_SHOW:
        done = await _last_event(session, booking.id, Action.NO_SHOW.value)
        at = done.at if done else None
        by = done.actor_name if done else None
        return Answer(
            action.id,
            "already_done",
            None,
            f"Already marked as a no-show{' ' + _when(at, when, timezone) if at else ''}{_by(by)}.",
            at,
            by or None,
        )
    await apply_action(session, booking.id, kind, actor, now=when)
    message = "Check-in undone." if kind is Action.UNDO_CHECK_IN else "Marked as a no-show."
    return Answer(action.id, "applied", None, message, when, actor.name)


async def _note(
    session: AsyncSession, booking: Booking, actor: Actor, action: DeskAction, when: datetime
) -> Answer:
    text = action.note or ""
    booking.notes = f"{booking.notes.rstrip()}\n{text}" if booking.notes.strip() else text
    await session.flush()
    await record_event(
        session, booking, "note", actor, message=text, data={"happened_at": when.isoformat()}
    )
    return Answer(action.id, "applied", None, "Note added.", when, actor.name)


async def _transition_refusal(
    session: AsyncSession,
    booking: Booking,
    exc: TransitionError,
    now: datetime,
    timezone: str,
) -> Refusal:
    if exc.current is BookingStatus.CANCELLED:
        return await _cancelled(session, booking, now, timezone)
    if exc.current in EXPIRED:
        return Refusal("expired", "This booking was never paid and expired.")
    return Refusal("invalid_transition", exc.reason)


async def _cancelled(
    session: AsyncSession, booking: Booking, now: datetime, timezone: str
) -> Refusal:
    """ "The booking was cancelled at 13:58 by Alex." from the timeline (or the booking)."""
    event = (
        await session.scalars(
            select(BookingEvent)
            .where(
                BookingEvent.booking_id == booking.id,
                BookingEvent.to_status == BookingStatus.CANCELLED.value,
            )
            .order_by(BookingEvent.at.desc(), BookingEvent.id.desc())
            .limit(1)
        )
    ).first()
    at = event.at if event else booking.cancelled_at
    by = event.actor_name if event else await _staff_name(session, booking.cancelled_by)
    when = f" {_when(at, now, timezone)}" if at else ""
    return Refusal("cancelled", f"The booking was cancelled{when}{_by(by)}.", at=at, by=by or None)


async def _last_event(
    session: AsyncSession, booking_id: uuid.UUID, kind: str
) -> BookingEvent | None:
    return (
        await session.scalars(
            select(BookingEvent)
            .where(BookingEvent.booking_id == booking_id, BookingEvent.kind == kind)
            .order_by(BookingEvent.at.desc(), BookingEvent.id.desc())
            .limit(1)
        )
    ).first()


async def _staff_name(session: AsyncSession, staff_id: uuid.UUID | None) -> str | None:
    if staff_id is None:
        return None
    return await session.scalar(select(StaffUser.name).where(StaffUser.id == staff_id))


def _when(at: datetime, now: datetime, timezone: str) -> str:
    """ "at 13:58" today, "on Sat 30 Nov at 13:58" another day (venue time)."""
    zone = ZoneInfo(timezone)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return f"at {local:%H:%M}"
    return f"on {describe_day(local.date(), today)} at {local:%H:%M}"


def _by(name: str | None) -> str:
    return f" by {name}" if name else ""
