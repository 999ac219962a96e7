"""Desk actions sent from the offline queue, applied exactly once each, in order.

A batch runs in one transaction: the ``client_actions`` ids of all its actions are claimed
first, in one statement (a concurrent copy of the same batch waits on them, then reads the
stored answers), and the batch's bookings are locked in id order. Each new action's effect
runs in a savepoint of its own: a refusal undoes all of that action and nothing else, and is
stored as the action's answer. The rules are the bookings' and the door's own
(``apply_action``, ``set_guests_arrived``, ``checkins.service.admit``); this module only
turns their refusals into per-action answers that say who and when.

An action is the work of the member of staff who did it at the desk (``performed_by``),
who need not be the one whose sign-in sends the queue: the booking and its timeline name
the performer, and the timeline line adds who sent it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.checkin import CheckInResult, describe_day
from app.domain.lifecycle import Action, BookingStatus, TransitionError
from app.server.auth.principal import Principal
from app.server.bookings.events import Actor, timeline_text
from app.server.bookings.service import apply_action, set_guests_arrived
from app.server.checkins.service import admit
from app.server.core.db import Database
from app.server.core.errors import AppError, Invalid, NotFound
from app.server.db.models import Booking, BookingEvent, ClientAction, StaffUser, Venue
from app.server.sessions.repository import organization_timezone
from app.server.sync import repository
from app.server.sync.schemas import DeskAction

EXPIRED = frozenset({BookingStatus.EXPIRED, BookingStatus.PAYMENT_FAILED})

# A copy of a batch waits for the first one's claims until that one commits; a full batch
# takes longer than the service's usual lock wait.
BATCH_LOCK_TIMEOUT = "15s"


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
    async with db.tenant(principal.organization_id) as session:
        await session.execute(text(f"SET LOCAL lock_timeout = '{BATCH_LOCK_TIMEOUT}'"))
        claimed = await _claim(session, principal, device_id, actions)
        stored = await _stored_answers(session, [a.id for a in actions if a.id not in claimed])
        first_change = await repository.last_drawn_id(session)
        batch = _Batch(session, principal, now or datetime.now(UTC))
        await batch.lock([a.booking_id for a in actions if a.id in claimed])
        await batch.load_performers({a.performed_by for a in actions if a.id in claimed})
        answers: list[Answer] = []
        new: dict[uuid.UUID, tuple[DeskAction, Answer]] = {}
        for action in actions:
            if action.id in new:  # the same id twice in one batch
                answers.append(_replayed(action, *new[action.id]))
            elif action.id in claimed:
                answer = await batch.apply(action)
                new[action.id] = (action, answer)
                answers.append(answer)
            else:
                answers.append(_stored_answer(action, stored.get(action.id)))
        if not new:
            return answers
        await session.flush()  # the notes not written yet, before their cursors are read
        cursors = await _cursors(
            session,
            {str(a.booking_id) for a, answer in new.values() if answer.outcome == "applied"},
            first_change,
        )

        def with_cursor(answer: Answer) -> Answer:
            if answer.outcome != "applied":
                return answer
            return replace(answer, cursor=cursors.get(str(new[answer.id][0].booking_id)))

        # Each new id's answer replaces its claim (a repeat of the id in the batch does not).
        await session.execute(
            update(ClientAction),
            [
                {
                    "id": action.id,
                    "outcome": answer.outcome,
                    "code": answer.code,
                    "message": answer.message,
                    "payload": {**_request_payload(action), "answer": answer.to_json()},
                }
                for action, answer in ((a, with_cursor(answer)) for a, answer in new.values())
            ],
        )
        return [with_cursor(a) if a.id in new else a for a in answers]


class _Batch:
    """The state shared by the actions of one batch: its locked bookings, venue zones and
    the staff who did its actions."""

    def __init__(self, session: AsyncSession, principal: Principal, now: datetime) -> None:
        self.session, self.principal, self.now = session, principal, now
        self.sender = Actor.staff(principal)
        # Who did it → the actor, or the sentence refusing them.
        self._performers: dict[uuid.UUID, Actor | str] = {}
        self._zones: dict[uuid.UUID, str] = {}
        # Held here: the session's identity map keeps only weak references.
        self._bookings: list[Booking] = []
        self._default_zone: str | None = None

    async def lock(self, booking_ids: list[uuid.UUID]) -> None:
        """Load and lock the batch's bookings at once, in id order (no deadlock between two
        batches over the same bookings)."""
        if not booking_ids:
            return
        bookings = (
            await self.session.scalars(
                select(Booking)
                .where(Booking.id.in_(set(booking_ids)))
                .order_by(Booking.id)
                .with_for_update()
            )
        ).all()
        self._bookings = list(bookings)
        venues = {b.venue_id for b in bookings}
        if venues:
            rows = await self.session.execute(
                select(Venue.id, Venue.timezone).where(Venue.id.in_(venues))
            )
            self._zones = {venue_id: zone for venue_id, zone in rows if zone}

    async def load_performers(self, ids: set[uuid.UUID | None]) -> None:
        """Look up, at once, the staff named as having done the batch's actions."""
        others = {i for i in ids if i is not None and i != self.sender.id}
        if not others:
            return
        # Row-level security shows only this organization's staff; the filter says so too.
        rows = await self.session.execute(
            select(StaffUser.id, StaffUser.name, StaffUser.active).where(
                StaffUser.id.in_(others),
                StaffUser.organization_id == self.principal.organization_id,
            )
        )
        found = {staff_id: (name, active) for staff_id, name, active in rows}
        for staff_id in others:
            name, active = found.get(staff_id, (None, False))
            if name is None:
                self._performers[staff_id] = _NOT_STAFF
            elif not active:
                self._performers[staff_id] = (
                    f"This was done by {name}, whose account is no longer active; nothing "
                    "was changed."
                )
            else:
                self._performers[staff_id] = Actor("staff", staff_id, name, sent_by=self.sender)

    def performer(self, action: DeskAction) -> Actor:
        """Who did ``action`` at the desk; a refusal when that is not active staff here."""
        if action.performed_by is None or action.performed_by == self.sender.id:
            return self.sender
        found = self._performers.get(action.performed_by, _NOT_STAFF)
        if isinstance(found, str):
            raise Refusal("forbidden", found)
        return found

    async def timezone(self, booking: Booking) -> str:
        """The booking's venue's time zone (as ``venue_timezone`` says), looked up once."""
        zone = self._zones.get(booking.venue_id)
        if zone:
            return zone
        if self._default_zone is None:
            self._default_zone = await organization_timezone(self.session)
        return self._default_zone

    async def apply(self, action: DeskAction) -> Answer:
        """Apply one new action in a savepoint; a refusal undoes that savepoint only."""
        try:
            actor = self.performer(action)
            if action.kind == "note":
                # Nothing can refuse a note once its booking is found, so it needs no
                # savepoint; its rows are written with the batch's next flush.
                booking = await self._booking(action)
                return _note(self.session, booking, actor, action, self._when(action))
            async with self.session.begin_nested():
                return await self._perform(action, actor)
        except Refusal as refusal:
            return Answer(
                action.id, "rejected", refusal.code, refusal.message, refusal.at, refusal.by
            )

    def _when(self, action: DeskAction) -> datetime:
        # When staff did it, as the desk says, but never later than the service's own clock.
        return min(action.happened_at, self.now)

    async def _booking(self, action: DeskAction) -> Booking:
        # From the identity map when locked above (reloaded if a refusal expired it).
        booking = await self.session.get(Booking, action.booking_id)
        if booking is None:
            raise Refusal("unknown", "There is no such booking (it may have been removed).")
        return booking

    async def _perform(self, action: DeskAction, actor: Actor) -> Answer:
        session, when = self.session, self._when(action)
        booking = await self._booking(action)
        timezone = await self.timezone(booking)
        try:
            if action.kind == "check_in":
                return await _check_in(session, booking, actor, action, when, timezone)
            if action.kind == "guests_arrived":
                return await _guests_arrived(session, booking, actor, action, when)
            return await _move(session, booking, actor, action, when, timezone)
        except TransitionError as exc:
            raise await _transition_refusal(session, booking, exc, self.now, timezone) from exc
        except NotFound as exc:
            raise Refusal("unknown", exc.message) from exc
        except Invalid as exc:
            raise Refusal("invalid", exc.message) from exc
        except AppError as exc:  # the lifecycle's own refusals: not_today, unpaid, too_early…
            raise Refusal(exc.code, exc.message) from exc


async def _cursors(session: AsyncSession, booking_ids: set[str], after: int) -> dict[str, int]:
    """The newest change_log id of each of these bookings written after id ``after``."""
    if not booking_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT entity_id, max(id) FROM change_log WHERE id > :after"
            " AND entity = 'bookings' AND entity_id = ANY(:ids) GROUP BY entity_id"
        ),
        {"after": after, "ids": list(booking_ids)},
    )
    return {str(entity_id): int(cursor) for entity_id, cursor in rows if cursor}


def _request_payload(action: DeskAction) -> dict[str, Any]:
    # client_actions.staff_user_id is who sent it; who did it is kept with the request.
    return {
        "performed_by": str(action.performed_by) if action.performed_by else None,
        "guests_arrived": action.guests_arrived,
        "override_unpaid": action.override_unpaid,
        "note": action.note,
    }


# One statement of fixed shape for any batch size (arrays, not thousands of parameters),
# inserting in id order so that two batches sharing ids lock them in the same order.
_CLAIM = text("""
    INSERT INTO client_actions (id, organization_id, device_id, staff_user_id, kind,
        booking_id, payload, happened_at, outcome, message)
    SELECT a.id, :organization_id, :device_id, :staff_user_id, a.kind, a.booking_id,
        a.payload, a.happened_at, 'rejected', ''
    FROM unnest(CAST(:ids AS uuid[]), CAST(:kinds AS text[]), CAST(:bookings AS uuid[]),
        CAST(:payloads AS jsonb[]), CAST(:happened AS timestamptz[]))
        AS a (id, kind, booking_id, payload, happened_at)
    ORDER BY a.id
    ON CONFLICT (id) DO NOTHING
    RETURNING id""")


async def _claim(
    session: AsyncSession, principal: Principal, device_id: str, actions: list[DeskAction]
) -> set[uuid.UUID]:
    """Take the actions' ids; those taken before (or being taken now) are left out of the
    answer. Each is stored as rejected until its real answer replaces it, before the commit."""
    first = {a.id: a for a in reversed(actions)}  # the first action of each id
    claimed = await session.scalars(
        _CLAIM,
        {
            "organization_id": principal.organization_id,
            "device_id": device_id,
            "staff_user_id": principal.staff_user_id,
            "ids": list(first),
            "kinds": [a.kind for a in first.values()],
            "bookings": [a.booking_id for a in first.values()],
            "payloads": [json.dumps(_request_payload(a)) for a in first.values()],
            "happened": [a.happened_at for a in first.values()],
        },
    )
    return {uuid.UUID(str(i)) for i in claimed}


async def _stored_answers(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, ClientAction]:
    """The stored actions among ``ids`` (of this organization), by id."""
    if not ids:
        return {}
    stored = await session.scalars(select(ClientAction).where(ClientAction.id.in_(set(ids))))
    return {s.id: s for s in stored}


_NOT_STAFF = (
    "The member of staff who did this is not active staff of this organization; "
    "nothing was changed."
)
_TAKEN = "This action id is already taken; send a new one."
_REUSED = "This action id was already used for a different action; send a new one."


def _replayed(action: DeskAction, first: DeskAction, answer: Answer) -> Answer:
    """The answer for an id seen earlier in the same batch."""
    if first.kind != action.kind or first.booking_id != action.booking_id:
        return Answer(action.id, "rejected", "forbidden", _REUSED)
    return answer


def _stored_answer(action: DeskAction, stored: ClientAction | None) -> Answer:
    if stored is None:  # the id is taken in another organization
        return Answer(action.id, "rejected", "forbidden", _TAKEN)
    if stored.kind != action.kind or stored.booking_id != action.booking_id:
        return Answer(action.id, "rejected", "forbidden", _REUSED)
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


async def _guests_arrived(
    session: AsyncSession, booking: Booking, actor: Actor, action: DeskAction, when: datetime
) -> Answer:
    """Record how many of a checked-in party are here so far."""
    status = BookingStatus(booking.status)
    if status is not BookingStatus.CHECKED_IN:
        raise Refusal(
            "invalid_transition",
            "Guests arrived can only be recorded for a checked-in booking; this one is "
            f"{status.value.replace('_', ' ')}.",
        )
    assert action.guests_arrived is not None  # the schema requires it for this kind
    booking = await set_guests_arrived(session, booking.id, action.guests_arrived, actor)
    message = f"{booking.guests_arrived} of {booking.party_size} arrived."
    return Answer(action.id, "applied", None, message, when, actor.name)


def _note(
    session: AsyncSession,
    booking: Booking,
    actor: Actor,
    action: DeskAction,
    when: datetime,
) -> Answer:
    """Append the note and its timeline line (as ``record_event`` writes it), unflushed: the
    notes of a batch are written together."""
    text = action.note or ""
    booking.notes = f"{booking.notes.rstrip()}\n{text}" if booking.notes.strip() else text
    message, data = timeline_text(actor, text, {"happened_at": when.isoformat()})
    session.add(
        BookingEvent(
            organization_id=booking.organization_id,
            booking_id=booking.id,
            kind="note",
            actor_type=actor.type,
            actor_id=actor.id,
            actor_name=actor.name,
            message=message,
            data=data,
        )
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
