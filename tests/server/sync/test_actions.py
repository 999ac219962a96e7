"""POST /sync/actions: the desk's queue applied in order, each action exactly once, with an
answer that says what happened and who did it when."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.domain.lifecycle import Action
from app.server.bookings.events import Actor
from app.server.bookings.service import apply_action
from tests.factories import Org, Staff, local_today_session_start
from tests.server.helpers import booked
from tests.server.sync.conftest import Replica


def action(kind: str, booking: dict[str, Any], **fields: Any) -> dict[str, Any]:
    happened = fields.pop("happened_at", datetime.now(UTC))
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "booking_id": booking["id"] if isinstance(booking, dict) else str(booking),
        "happened_at": happened.isoformat(),
        **fields,
    }


async def send(client, staff: Staff, actions: list[dict[str, Any]], device: str = "desk-1"):  # type: ignore[no-untyped-def]
    r = await client.post(
        "/api/v1/sync/actions",
        headers=staff.headers,
        json={"device_id": device, "actions": actions},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == [a["id"] for a in actions]
    return results


async def detail(client, org: Org, booking: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = await client.get(f"/api/v1/bookings/{booking['id']}", headers=org.manager.headers)
    return r.json()


def hh_mm(at: str | datetime, org: Org) -> str:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(ZoneInfo(org.timezone)).strftime("%H:%M")


def staff_name(org: Org, role: str) -> str:
    # As tests/factories.py names them.
    return {"front_desk": "Front desk", "manager": "Manager", "admin": "Admin"}[role] + (
        f" {org.slug[-3:]}"
    )


@pytest.fixture
async def today(client, db, org):  # type: ignore[no-untyped-def]
    """A confirmed, unpaid desk booking for 2 later today."""
    return await booked(client, org, db, starts_at=local_today_session_start(org))


class TestCheckIn:
    async def test_is_applied_once_at_the_desks_time_and_a_replay_gets_the_same_answer(
        self, client, org, today
    ):
        at_desk = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        if at_desk.astimezone(ZoneInfo(org.timezone)).date() != org.now_local().date():
            at_desk = datetime.now(UTC)  # just after midnight: keep it today
        check_in = action(
            "check_in", today, happened_at=at_desk, guests_arrived=1, override_unpaid=True
        )
        [first] = await send(client, org.front_desk, [check_in])
        assert first["outcome"] == "applied" and first["code"] is None
        assert datetime.fromisoformat(first["at"]) == at_desk
        assert first["by"] == staff_name(org, "front_desk")
        assert isinstance(first["cursor"], int)

        b = await detail(client, org, today)
        assert (b["status"], b["guests_arrived"]) == ("checked_in", 1)
        assert datetime.fromisoformat(b["checked_in_at"]) == at_desk
        [event] = [e for e in b["events"] if e["kind"] == "check_in"]
        assert datetime.fromisoformat(event["at"]) > at_desk  # when it reached the service

        [again] = await send(client, org.front_desk, [check_in], device="desk-1")
        assert again == first
        b = await detail(client, org, today)
        assert [e["kind"] for e in b["events"]].count("check_in") == 1

        # The desk's copy shows it once it has pulled up to the answer's cursor.
        desk = Replica()
        await desk.catch_up(client, org.front_desk)
        assert desk.cursor >= first["cursor"]
        assert desk.rows["booking"][today["id"]]["status"] == "checked_in"
        assert desk.rows["booking"][today["id"]]["checked_in_by_name"] == first["by"]

    async def test_a_second_desk_is_told_who_checked_in_first_and_when(self, client, org, today):
        [first] = await send(
            client, org.front_desk, [action("check_in", today, override_unpaid=True)]
        )
        [second] = await send(
            client, org.manager, [action("check_in", today, override_unpaid=True)], "desk-2"
        )
        assert second["outcome"] == "already_done"
        assert (second["at"], second["by"]) == (first["at"], first["by"])
        assert (
            second["message"]
            == f"Already checked in at {hh_mm(first['at'], org)} by {first['by']}."
        )
        assert second["cursor"] is None

    async def test_of_a_booking_cancelled_meanwhile_is_rejected_naming_who_and_when(
        self, client, db, org, today
    ):
        manager = Actor("staff", org.manager.id, staff_name(org, "manager"))
        async with db.tenant(org.id) as s:
            await apply_action(
                s, uuid.UUID(today["id"]), Action.CANCEL, manager, reason="Customer called"
            )
        before = await detail(client, org, today)

        [answer] = await send(
            client, org.front_desk, [action("check_in", today, override_unpaid=True)]
        )
        assert answer["outcome"] == "rejected" and answer["code"] == "cancelled"
        assert answer["by"] == manager.name
        assert answer["message"] == (
            f"The booking was cancelled at {hh_mm(before['cancelled_at'], org)} by {manager.name}."
        )
        after = await detail(client, org, today)
        assert after["version"] == before["version"] and after["status"] == "cancelled"

    async def test_an_unpaid_booking_needs_the_override(self, client, org, today):
        [refused, admitted] = await send(
            client,
            org.front_desk,
            [action("check_in", today), action("check_in", today, override_unpaid=True)],
        )
        assert (refused["outcome"], refused["code"]) == ("rejected", "unpaid")
        assert refused["message"] == "Unpaid: $60.00 due."
        assert admitted["outcome"] == "applied"

    async def test_refusals_say_why_and_change_nothing(self, client, db, org, other_org, today):
        later = await booked(client, org, db, starts_in=timedelta(days=3))
        theirs = await booked(client, other_org, db, starts_at=local_today_session_start(other_org))
        answers = await send(
            client,
            org.front_desk,
            [
                action("check_in", later, override_unpaid=True),
                action("check_in", uuid.uuid4()),
                action("check_in", theirs, override_unpaid=True),
                action("check_in", today, override_unpaid=True, guests_arrived=9),
            ],
        )
        assert [(a["outcome"], a["code"]) for a in answers] == [
            ("rejected", "not_today"),
            ("rejected", "unknown"),
            ("rejected", "unknown"),
            ("rejected", "invalid"),
        ]
        assert answers[0]["message"].startswith("Booking is for ")
        assert answers[3]["message"] == "Guests arrived must be between 1 and 2."
        for b, owner in ((later, org), (today, org), (theirs, other_org)):
            now = await detail(client, owner, b)
            assert (now["status"], now["version"]) == ("confirmed", b["version"])

    async def test_a_desk_clock_running_ahead_is_not_believed(self, client, org, today):
        ahead = datetime.now(UTC) + timedelta(minutes=20)
        [answer] = await send(
            client,
            org.front_desk,
            [action("check_in", today, happened_at=ahead, override_unpaid=True)],
        )
        assert answer["outcome"] == "applied"
        assert datetime.fromisoformat(answer["at"]) < ahead


class TestTheQueue:
    async def test_actions_apply_in_order_each_on_its_own(self, client, db, org, today):
        other = await booked(
            client, org, db, starts_at=local_today_session_start(org) + timedelta(seconds=1)
        )
        answers = await send(
            client,
            org.front_desk,
            [
                action("check_in", today, override_unpaid=True),
                action("note", today, note="Birthday party, bring candles"),
                action("undo_check_in", today),
                action("check_in", other),  # unpaid: refused, the rest still applies
                action("note", other, note="Paid cash at the door"),
                action("undo_check_in", today),
            ],
        )
        assert [(a["outcome"], a["code"]) for a in answers] == [
            ("applied", None),
            ("applied", None),
            ("applied", None),
            ("rejected", "unpaid"),
            ("applied", None),
            ("already_done", None),
        ]
        assert answers[5]["by"] == staff_name(org, "front_desk")
        assert answers[5]["message"].startswith("The check-in was already undone at ")

        b = await detail(client, org, today)
        assert (b["status"], b["checked_in_at"], b["notes"]) == (
            "confirmed",
            None,
            "Birthday party, bring candles",
        )
        assert [e["kind"] for e in b["events"] if e["kind"] != "created"] == [
            "check_in",
            "note",
            "undo_check_in",
        ]
        o = await detail(client, org, other)
        assert (o["status"], o["notes"]) == ("confirmed", "Paid cash at the door")

    async def test_notes_are_appended(self, client, org, today):
        await send(client, org.front_desk, [action("note", today, note="First")])
        await send(client, org.front_desk, [action("note", today, note="  Second  ")])
        assert (await detail(client, org, today))["notes"] == "First\nSecond"

    async def test_the_same_batch_sent_twice_at_once_applies_once(self, client, org, today):
        batch = [
            action("check_in", today, override_unpaid=True),
            action("note", today, note="Once only"),
        ]
        one, two = await asyncio.gather(
            send(client, org.front_desk, batch), send(client, org.front_desk, batch)
        )
        assert one == two and [a["outcome"] for a in one] == ["applied", "applied"]
        b = await detail(client, org, today)
        assert b["notes"] == "Once only"
        assert [e["kind"] for e in b["events"]].count("check_in") == 1

    async def test_an_action_id_cannot_be_reused_for_something_else(
        self, client, db, org, other_org, today
    ):
        first = action("note", today, note="Original")
        await send(client, org.front_desk, [first])
        other = await booked(client, org, db)
        [reused] = await send(client, org.front_desk, [{**first, "booking_id": other["id"]}])
        assert (reused["outcome"], reused["code"]) == ("rejected", "forbidden")
        theirs = await booked(client, other_org, db)
        [foreign] = await send(
            client, other_org.front_desk, [{**first, "booking_id": theirs["id"]}]
        )
        assert (foreign["outcome"], foreign["code"]) == ("rejected", "forbidden")
        assert (await detail(client, org, other))["notes"] == ""
        assert (await detail(client, other_org, theirs))["notes"] == ""

    async def test_an_id_repeated_in_one_batch_applies_once(self, client, db, org, today):
        note = action("note", today, note="Twice in the queue")
        other = await booked(client, org, db)
        answers = await send(
            client, org.front_desk, [note, note, {**note, "booking_id": other["id"]}]
        )
        assert answers[0] == answers[1] and answers[0]["outcome"] == "applied"
        assert (answers[2]["outcome"], answers[2]["code"]) == ("rejected", "forbidden")
        # The reuse did not replace the stored answer of the first.
        [replayed] = await send(client, org.front_desk, [note])
        assert replayed == answers[0]
        assert (await detail(client, org, today))["notes"] == "Twice in the queue"
        assert (await detail(client, org, other))["notes"] == ""


class TestNoShow:
    async def test_is_applied_then_already_done(self, client, db, org):
        started = await booked(client, org, db, starts_in=timedelta(minutes=-30))
        [first] = await send(client, org.front_desk, [action("no_show", started)])
        [second] = await send(client, org.manager, [action("no_show", started)])
        assert first["outcome"] == "applied"
        assert (second["outcome"], second["by"]) == ("already_done", first["by"])
        assert second["message"].startswith("Already marked as a no-show at ")
        assert (await detail(client, org, started))["status"] == "no_show"

    async def test_before_the_session_starts_is_rejected(self, client, org, today):
        [answer] = await send(client, org.front_desk, [action("no_show", today)])
        assert (answer["outcome"], answer["code"]) == ("rejected", "too_early")
        assert (await detail(client, org, today))["status"] == "confirmed"

    async def test_of_a_checked_in_booking_is_an_invalid_transition(self, client, org, today):
        answers = await send(
            client,
            org.front_desk,
            [action("check_in", today, override_unpaid=True), action("no_show", today)],
        )
        assert (answers[1]["outcome"], answers[1]["code"]) == ("rejected", "invalid_transition")
        assert "no-show" in answers[1]["message"]


class TestGuestsArrived:
    async def test_is_applied_once_and_a_resend_gets_the_same_answer(self, client, db, org):
        party = await booked(client, org, db, starts_at=local_today_session_start(org), adults=4)
        check_in = action("check_in", party, override_unpaid=True, guests_arrived=1)
        more = action("guests_arrived", party, guests_arrived=3)
        answers = await send(client, org.front_desk, [check_in, more])
        assert [a["outcome"] for a in answers] == ["applied", "applied"]
        assert answers[1]["message"] == "3 of 4 arrived."
        assert answers[1]["by"] == staff_name(org, "front_desk")
        assert isinstance(answers[1]["cursor"], int)

        [again] = await send(client, org.front_desk, [more])
        assert again == answers[1]
        b = await detail(client, org, party)
        assert (b["status"], b["guests_arrived"]) == ("checked_in", 3)
        [event] = [e for e in b["events"] if e["kind"] == "guests_arrived"]
        assert event["message"] == "3 of 4 arrived (was 1)."

    async def test_needs_a_checked_in_booking_and_at_most_the_party(self, client, org, today):
        [not_in] = await send(
            client, org.front_desk, [action("guests_arrived", today, guests_arrived=1)]
        )
        assert (not_in["outcome"], not_in["code"]) == ("rejected", "invalid_transition")
        assert not_in["message"] == (
            "Guests arrived can only be recorded for a checked-in booking; this one is confirmed."
        )
        answers = await send(
            client,
            org.front_desk,
            [
                action("check_in", today, override_unpaid=True),
                action("guests_arrived", today, guests_arrived=3),
            ],
        )
        assert (answers[1]["outcome"], answers[1]["code"]) == ("rejected", "invalid")
        assert answers[1]["message"] == "Guests arrived must be between 1 and 2."
        b = await detail(client, org, today)
        assert (b["status"], b["guests_arrived"]) == ("checked_in", 2)
        assert not [e for e in b["events"] if e["kind"] == "guests_arrived"]


async def test_bad_batches_get_clear_errors_and_change_nothing(client, org, today):
    h = org.front_desk.headers
    good = action("note", today, note="fine")
    cases = {
        "no actions": {"device_id": "d", "actions": []},
        "no device": {"actions": [good]},
        "unknown kind": {"device_id": "d", "actions": [{**good, "kind": "refund"}]},
        "note without text": {"device_id": "d", "actions": [{**good, "note": None}]},
        "text on a check-in": {"device_id": "d", "actions": [{**good, "kind": "check_in"}]},
        "time without zone": {
            "device_id": "d",
            "actions": [{**good, "happened_at": "2026-11-24T10:00:00"}],
        },
        "bad id": {"device_id": "d", "actions": [{**good, "id": "not-a-uuid"}]},
        "too many": {"device_id": "d", "actions": [good] * 501},
        "note too long": {"device_id": "d", "actions": [{**good, "note": "x" * 2001}]},
        "guests without a count": {
            "device_id": "d",
            "actions": [{**good, "kind": "guests_arrived", "note": None}],
        },
        "guests on a note": {"device_id": "d", "actions": [{**good, "guests_arrived": 2}]},
        "performer not an id": {"device_id": "d", "actions": [{**good, "performed_by": "Sam"}]},
        "unknown field": {"device_id": "d", "actions": [{**good, "refund": 100}]},
    }
    for name, body in cases.items():
        r = await client.post("/api/v1/sync/actions", headers=h, json=body)
        assert r.status_code == 422, name
        error = r.json()["error"]
        assert error["code"] == "invalid" and error["message"], name
        assert "Traceback" not in r.text
    r = await client.post(
        "/api/v1/sync/actions", headers={**h, "Content-Type": "application/json"}, content="{"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = await client.post("/api/v1/sync/actions", json={"device_id": "d", "actions": [good]})
    assert r.status_code == 401
    assert (await detail(client, org, today))["notes"] == ""
