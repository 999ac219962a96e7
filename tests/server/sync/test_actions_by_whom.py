"""POST /sync/actions sent later under another sign-in: each action stays the work of the
member of staff who did it at the desk, and the timeline also says who sent it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from app.server.db.models import BookingEvent, ClientAction, StaffUser
from tests.factories import local_today_session_start
from tests.server.helpers import booked
from tests.server.sync.test_actions import action, detail, send, staff_name


@pytest.fixture
async def today(client, db, org):  # type: ignore[no-untyped-def]
    """A confirmed, unpaid desk booking for 2 later today."""
    return await booked(client, org, db, starts_at=local_today_session_start(org))


def events_of(booking: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in booking["events"] if e["kind"] == kind]


class TestPerformedBy:
    async def test_the_check_in_is_the_performers_and_the_sender_is_on_the_timeline(
        self, client, db, org, today
    ):
        alex, sam = staff_name(org, "front_desk"), staff_name(org, "manager")
        check_in = action(
            "check_in", today, override_unpaid=True, performed_by=str(org.front_desk.id)
        )
        [answer] = await send(client, org.manager, [check_in])
        assert (answer["outcome"], answer["by"]) == ("applied", alex)

        b = await detail(client, org, today)
        assert (b["status"], b["checked_in_by_name"]) == ("checked_in", alex)
        [event] = events_of(b, "check_in")
        assert event["actor_name"] == alex
        assert event["message"] == f"Sent later from the desk by {sam}."
        async with db.tenant(org.id) as s:
            data = await s.scalar(
                select(BookingEvent.data).where(
                    BookingEvent.booking_id == uuid.UUID(today["id"]),
                    BookingEvent.kind == "check_in",
                )
            )
        assert data["sent_by"] == {"id": str(org.manager.id), "name": sam}
        async with db.tenant(org.id) as s:
            stored = await s.get_one(ClientAction, uuid.UUID(check_in["id"]))
        assert stored.staff_user_id == org.manager.id  # who sent it
        assert stored.payload["performed_by"] == str(org.front_desk.id)

        # A second desk is told who really checked them in.
        [second] = await send(client, org.admin, [action("check_in", today)], "desk-2")
        assert (second["outcome"], second["by"]) == ("already_done", alex)
        assert second["message"].endswith(f" by {alex}.")

    async def test_notes_undo_and_guests_name_the_performer(self, client, db, org):
        alex, sam = staff_name(org, "front_desk"), staff_name(org, "manager")
        party = await booked(client, org, db, starts_at=local_today_session_start(org), adults=4)
        by_alex = {"performed_by": str(org.front_desk.id)}
        answers = await send(
            client,
            org.manager,
            [
                action("check_in", party, override_unpaid=True, guests_arrived=1, **by_alex),
                action("guests_arrived", party, guests_arrived=3, **by_alex),
                action("note", party, note="Lost a glove", **by_alex),
                action("undo_check_in", party, **by_alex),
            ],
        )
        assert [(a["outcome"], a["by"]) for a in answers] == [("applied", alex)] * 4
        b = await detail(client, org, party)
        later = [e for e in b["events"] if e["kind"] != "created"]
        assert [(e["kind"], e["actor_name"]) for e in later] == [
            ("check_in", alex),
            ("guests_arrived", alex),
            ("note", alex),
            ("undo_check_in", alex),
        ]
        assert [e["message"] for e in later] == [
            f"Sent later from the desk by {sam}.",
            f"3 of 4 arrived (was 1). (sent later from the desk by {sam})",
            f"Lost a glove (sent later from the desk by {sam})",
            f"Sent later from the desk by {sam}.",
        ]
        assert b["notes"] == "Lost a glove"

    async def test_the_sender_named_as_performer_is_just_the_sender(self, client, org, today):
        [answer] = await send(
            client,
            org.manager,
            [action("check_in", today, override_unpaid=True, performed_by=str(org.manager.id))],
        )
        assert answer["by"] == staff_name(org, "manager")
        [event] = events_of(await detail(client, org, today), "check_in")
        assert event["message"] == ""

    async def test_someone_not_on_the_staff_here_is_refused_and_nothing_changes(
        self, client, db, org, other_org, today
    ):
        async with db.system() as s:
            await s.execute(
                update(StaffUser).where(StaffUser.id == org.admin.id).values(active=False)
            )
        before = await detail(client, org, today)
        sent = [
            action("check_in", today, override_unpaid=True, performed_by=str(performer))
            for performer in (other_org.front_desk.id, uuid.uuid4(), org.admin.id)
        ] + [action("note", today, note="Not theirs", performed_by=str(uuid.uuid4()))]
        answers = await send(client, org.manager, sent)
        assert [(a["outcome"], a["code"]) for a in answers] == [("rejected", "forbidden")] * 4
        assert answers[0]["message"] == (
            "The member of staff who did this is not active staff of this organization; "
            "nothing was changed."
        )
        assert answers[1]["message"] == answers[0]["message"]
        assert answers[2]["message"] == (
            f"This was done by {staff_name(org, 'admin')}, whose account is no longer active; "
            "nothing was changed."
        )
        after = await detail(client, org, today)
        assert (after["status"], after["version"], after["notes"]) == (
            "confirmed",
            before["version"],
            "",
        )
        assert after["events"] == before["events"]
        # The refusal is the action's answer for good: sent again, it is not applied.
        assert await send(client, org.manager, sent) == answers
        assert (await detail(client, org, today))["version"] == before["version"]
