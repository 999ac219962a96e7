"""The service's answers to queued actions, and the "Needs attention" list they feed.

An applied action waits until the feed catches up with it; an action the service refused
(or found already done) becomes an entry with the reason and the booking, and the
booking returns to the service's copy. Nothing is dropped without an entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from app.sync import actions as local_actions
from app.sync.cache import Cache

Row = dict[str, Any]

APPLIED, ALREADY_DONE, REJECTED = "applied", "already_done", "rejected"
_DONE = {
    "check_in": "Checked in",
    "undo_check_in": "Undid the check-in",
    "no_show": "Marked as a no-show",
    "note": "Added a note",
    "guests_arrived": "Recorded guests arrived",
}


@dataclass(frozen=True, slots=True)
class Conflict:
    """An entry of the "Needs attention" list."""

    id: int
    kind: str
    outcome: str
    booking_id: str
    booking_number: str
    customer_name: str
    code: str | None
    sentence: str
    happened_at: datetime
    created_at: datetime


def _zone(conn: Connection, booking_id: str, fallback: str) -> ZoneInfo:
    timezone = conn.exec_driver_sql(
        "SELECT a.timezone FROM bookings b JOIN activities a ON a.id = b.activity_id "
        "WHERE b.id = ?",
        (booking_id,),
    ).scalar()
    return ZoneInfo(str(timezone or fallback))


def _lower_first(text: str) -> str:
    # "The booking was…" reads on after "but"; "BK-…" or "VIP" keep their capitals.
    return text[:1].lower() + text[1:] if not text[1:2].isupper() else text


def sentence(action: Row, result: Row, zone: ZoneInfo) -> str:
    """E.g. "Checked in offline at 14:05, but the booking was cancelled at 13:58 by Alex."."""
    when = datetime.fromisoformat(action["happened_at"]).astimezone(zone)
    done = f"{_DONE[action['kind']]}{' offline' if action['offline'] else ''} at {when:%H:%M}"
    reason = (result.get("message") or "").strip()
    if not reason and result["outcome"] == ALREADY_DONE:
        at = result.get("at")
        reason = "it was already done" + (
            f" at {datetime.fromisoformat(at).astimezone(zone):%H:%M}" if at else ""
        )
        reason += f" by {result['by']}." if result.get("by") else "."
    reason = reason or f"the service refused it ({result.get('code') or 'no reason given'})."
    if not reason.endswith("."):
        reason += "."
    return f"{done}, but {_lower_first(reason)}"


def _customer_name(conn: Connection, booking_id: str) -> str:
    name = conn.exec_driver_sql(
        "SELECT coalesce(nullif(trim(c.first_name || ' ' || c.last_name), ''), "
        "b.contact_name, '') FROM bookings b LEFT JOIN customers c ON c.id = b.customer_id "
        "WHERE b.id = ?",
        (booking_id,),
    ).scalar()
    return str(name or "")


def record(
    conn: Connection,
    sent: Sequence[Row],
    results: Sequence[Row],
    *,
    timezone: str,
    now: datetime | None = None,
) -> tuple[set[str], int]:
    """Store the service's answers to ``sent`` (same order); the bookings that changed and
    how many new entries need attention."""
    now = now or datetime.now(UTC)
    cursor = Cache.cursor_in(conn)
    touched: set[str] = set()
    added = 0
    by_id = {r["id"]: r for r in results}
    for action in sent:
        result = by_id.get(action["id"])
        if result is None:
            continue  # not answered: stays queued and goes again
        booking_id = action["booking_id"]
        if result["outcome"] == APPLIED and (result.get("cursor") or 0) > cursor:
            conn.exec_driver_sql(
                "UPDATE actions SET state = ?, result_cursor = ? WHERE id = ?",
                (local_actions.APPLIED, result["cursor"], action["id"]),
            )
            continue
        conn.exec_driver_sql("DELETE FROM actions WHERE id = ?", (action["id"],))
        touched.add(booking_id)
        if result["outcome"] != APPLIED:
            add(conn, action, result, _zone(conn, booking_id, timezone), now)
            added += 1
    local_actions.rebase(conn, touched)
    return touched, added


def add(conn: Connection, action: Row, result: Row, zone: ZoneInfo, now: datetime) -> None:
    """One entry for an action the service did not apply as asked."""
    conn.exec_driver_sql(
        "INSERT INTO conflicts (action_id, kind, booking_id, booking_number, customer_name, "
        "outcome, code, message, sentence, happened_at, created_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            action["id"],
            action["kind"],
            action["booking_id"],
            action.get("booking_number") or "",
            _customer_name(conn, action["booking_id"]),
            result["outcome"],
            result.get("code"),
            result.get("message") or "",
            sentence(action, result, zone),
            action["happened_at"],
            now.isoformat(),
        ),
    )


def open_entries(conn: Connection) -> list[Conflict]:
    """Entries not dismissed yet, newest first."""
    rows = conn.exec_driver_sql(
        "SELECT * FROM conflicts WHERE resolved_at IS NULL ORDER BY id DESC"
    ).mappings()
    return [
        Conflict(
            id=r["id"],
            kind=r["kind"],
            outcome=r["outcome"],
            booking_id=r["booking_id"],
            booking_number=r["booking_number"],
            customer_name=r["customer_name"],
            code=r["code"],
            sentence=r["sentence"],
            happened_at=datetime.fromisoformat(r["happened_at"]),
            created_at=datetime.fromisoformat(r["created_at"]),
        )
        for r in rows
    ]


def count_open(conn: Connection) -> int:
    sql = "SELECT count(*) FROM conflicts WHERE resolved_at IS NULL"
    return int(conn.exec_driver_sql(sql).scalar_one())


def dismiss(conn: Connection, conflict_id: int, now: datetime | None = None) -> None:
    """Mark an entry as seen and dealt with (it stays in the file as history)."""
    conn.exec_driver_sql(
        "UPDATE conflicts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL",
        ((now or datetime.now(UTC)).isoformat(), conflict_id),
    )
