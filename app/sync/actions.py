"""The durable queue of desk actions and their effect on the cached bookings.

An action (check-in, undo, no-show, note, guests arrived) changes the cached booking at
once and waits in ``actions`` until the service has answered it. Each remembers who did
it (``staff_id``, ``staff_name``: the desk's sign-in at the time), which the service
records even when the queue goes out later under another sign-in.

Until an action is answered the service's own copy of the booking is kept in
``booking_shadows``: when the feed brings a newer copy, or the service refuses an action,
the cached booking is rebuilt from that copy plus the actions still pending, in order
("rebased"), so a local change is neither lost early nor kept too long.

An action the service applied stays pending until the cache has read the feed up to the
change it made (``result_cursor``): before that, the feed may still hand over an older
copy of the booking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from app.domain.lifecycle import Action, BookingStatus, TransitionError, check_action
from app.sync import schema
from app.sync.cache import Cache

Row = dict[str, Any]

KINDS = ("check_in", "undo_check_in", "no_show", "note", "guests_arrived")
_LIFECYCLE = {
    "check_in": Action.CHECK_IN,
    "undo_check_in": Action.UNDO_CHECK_IN,
    "no_show": Action.NO_SHOW,
}
QUEUED, APPLIED = "queued", "applied"

_SETS = ", ".join(f"{c} = :{c}" for c in schema.BOOKING_COLUMNS)
_WRITE_BOOKING = "UPDATE {table} SET " + _SETS + " WHERE id = :id"  # noqa: S608
_COPY = "INSERT OR REPLACE INTO {to} SELECT * FROM {source} WHERE id = ?"


@dataclass(frozen=True, slots=True)
class DeskAction:
    """Something staff did to a booking at this desk, to be sent to the service."""

    kind: str
    booking_id: str
    happened_at: datetime
    staff_name: str
    staff_id: str | None = None
    guests_arrived: int | None = None
    override_unpaid: bool = False
    note: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}")
        if self.happened_at.tzinfo is None:
            raise ValueError("happened_at needs a time zone")
        if self.kind == "guests_arrived" and not self.guests_arrived:
            raise ValueError("guests_arrived needs how many guests arrived")


def effect(action: Mapping[str, Any], booking: Row) -> Row | None:
    """The booking after ``action``, or ``None`` when its lifecycle does not allow it now."""
    kind = action["kind"]
    if kind == "note":
        notes = booking.get("notes") or ""
        return {**booking, "notes": f"{notes}\n{action['note']}" if notes else action["note"]}
    if kind == "guests_arrived":
        guests = action.get("guests_arrived") or 0
        if booking["status"] != BookingStatus.CHECKED_IN.value:
            return None
        if not 1 <= guests <= (booking["party_size"] or 0):
            return None
        return {**booking, "guests_arrived": guests}
    try:
        target = check_action(_LIFECYCLE[kind], BookingStatus(booking["status"]))
    except (TransitionError, ValueError):
        return None
    changed = {**booking, "status": target.value}
    if kind == "check_in":
        changed.update(
            checked_in_at=action["happened_at"],
            checked_in_by=action.get("staff_id"),
            checked_in_by_name=action.get("staff_name"),
            guests_arrived=action.get("guests_arrived") or booking["party_size"],
        )
    elif kind == "undo_check_in":
        changed.update(
            checked_in_at=None, checked_in_by=None, checked_in_by_name=None, guests_arrived=0
        )
    return changed


def booking_row(conn: Connection, booking_id: str, table: str = "bookings") -> Row | None:
    """A cached booking (or its shadow) as a dict of columns."""
    found = (
        conn.exec_driver_sql(f"SELECT * FROM {table} WHERE id = ?", (booking_id,))  # noqa: S608
        .mappings()
        .first()
    )
    return dict(found) if found is not None else None


def _write(conn: Connection, row: Row, table: str = "bookings") -> None:
    conn.exec_driver_sql(_WRITE_BOOKING.format(table=table), row)


def enqueue(conn: Connection, action: DeskAction, *, offline: bool) -> Row:
    """Queue ``action`` and apply it to the cached booking; the booking as it is now.

    :class:`ValueError` when the booking is not cached or its lifecycle refuses the action
    (callers decide first; this is the last guard, inside the same transaction).
    """
    booking = booking_row(conn, action.booking_id)
    if booking is None:
        raise ValueError("No such booking in the cache.")
    values = {
        "id": action.id,
        "kind": action.kind,
        "booking_id": action.booking_id,
        "booking_number": booking["booking_number"],
        "happened_at": action.happened_at.isoformat(),
        "note": action.note,
        "staff_id": action.staff_id,
        "staff_name": action.staff_name,
        "state": QUEUED,
        "guests_arrived": action.guests_arrived,
        "override_unpaid": int(action.override_unpaid),
        "offline": int(offline),
    }
    changed = effect(values, booking)
    if changed is None:
        if action.kind == "guests_arrived" and booking["status"] == BookingStatus.CHECKED_IN:
            raise ValueError(f"Guests arrived must be between 1 and {booking['party_size']}.")
        raise ValueError(f"A {booking['status']} booking cannot take {action.kind}.")
    conn.exec_driver_sql(
        "INSERT INTO actions (id, kind, booking_id, booking_number, happened_at, note, "
        "staff_id, staff_name, state, guests_arrived, override_unpaid, offline) VALUES "
        "(:id, :kind, :booking_id, :booking_number, :happened_at, :note, :staff_id, "
        ":staff_name, :state, :guests_arrived, :override_unpaid, :offline)",
        values,
    )
    if booking_row(conn, action.booking_id, "booking_shadows") is None:
        conn.exec_driver_sql(
            _COPY.format(to="booking_shadows", source="bookings"), (action.booking_id,)
        )
    _write(conn, changed)
    return changed


def _pending(conn: Connection, booking_id: str, cursor: int) -> list[Row]:
    rows = conn.exec_driver_sql(
        "SELECT * FROM actions WHERE booking_id = ? AND (state = ? OR "
        "(state = ? AND result_cursor > ?)) ORDER BY seq",
        (booking_id, QUEUED, APPLIED, cursor),
    ).mappings()
    return [dict(r) for r in rows]


def rebase(conn: Connection, booking_ids: Iterable[str]) -> None:
    """Rebuild each booking from the service's copy plus its pending actions, in order."""
    cursor = Cache.cursor_in(conn)
    for booking_id in booking_ids:
        base = booking_row(conn, booking_id, "booking_shadows")
        pending = _pending(conn, booking_id, cursor)
        if not pending:
            if base is not None:
                _write(conn, base)
                conn.exec_driver_sql("DELETE FROM booking_shadows WHERE id = ?", (booking_id,))
            continue
        if base is None:
            continue  # the service deleted it; its actions will come back refused
        row = base
        for action in pending:
            row = effect(action, row) or row
        _write(conn, row)


def after_feed(conn: Connection, booking_ids: set[str], cursor: int) -> set[str]:
    """Keep local changes on top of a page of the feed just written; the bookings rebuilt.

    The feed wrote the service's rows over cached bookings: those with a shadow get it
    refreshed, and actions whose change the cache has now read are settled.
    """
    shadowed = {str(i) for i in conn.exec_driver_sql("SELECT id FROM booking_shadows").scalars()}
    refreshed = booking_ids & shadowed
    for booking_id in refreshed:
        if booking_row(conn, booking_id) is None:
            conn.exec_driver_sql("DELETE FROM booking_shadows WHERE id = ?", (booking_id,))
        else:
            conn.exec_driver_sql(
                _COPY.format(to="booking_shadows", source="bookings"), (booking_id,)
            )
    settled = {
        str(i)
        for i in conn.exec_driver_sql(
            "DELETE FROM actions WHERE state = ? AND result_cursor <= ? RETURNING booking_id",
            (APPLIED, cursor),
        ).scalars()
    }
    touched = refreshed | settled
    rebase(conn, touched)
    return touched


def queued(conn: Connection, limit: int) -> list[Row]:
    """The oldest actions not yet answered by the service, in the order they happened."""
    rows = conn.exec_driver_sql(
        "SELECT * FROM actions WHERE state = ? ORDER BY seq LIMIT ?", (QUEUED, limit)
    ).mappings()
    return [dict(r) for r in rows]


def waiting(conn: Connection) -> int:
    """How many actions wait for the service's answer."""
    return int(
        conn.exec_driver_sql("SELECT count(*) FROM actions WHERE state = ?", (QUEUED,)).scalar_one()
    )
