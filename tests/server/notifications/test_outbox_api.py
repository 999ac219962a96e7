"""The outbox API: list with errors, retry, previews, resending a confirmation, roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.server.db.models import Booking, OutboxMessage
from tests.server.notifications.conftest import T0, make_booking, outbox_rows, queue


async def failed_message(db, org, booking_id, error="SMTP server answered 554 rejected"):
    async with db.tenant(org.id) as s:
        row = OutboxMessage(
            organization_id=org.id,
            booking_id=booking_id,
            channel="email",
            template="booking_cancelled",
            cause="cancel:x",
            recipient="guest@example.com",
            context={"refund_amount": 1000},
            status="failed",
            send_after=T0,
            attempts=8,
            last_error=error,
            subject="Your booking is cancelled",
        )
        s.add(row)
        await s.flush()
        return row.id


class TestList:
    async def test_managers_see_failed_messages_with_their_error(self, client, db, org):
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
        failed_id = await failed_message(db, org, booking_id)

        r = await client.get(
            "/api/v1/outbox", params={"status": "failed"}, headers=org.manager.headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        [item] = body["items"]
        assert item["id"] == str(failed_id)
        assert item["last_error"] == "SMTP server answered 554 rejected"
        assert item["status"] == "failed" and item["attempts"] == 8
        async with db.tenant(org.id) as s:
            number = (await s.get_one(Booking, booking_id)).booking_number
        assert item["booking_number"] == number
        assert body["counts"] == {
            "pending": 2,  # confirmation and reminder
            "sending": 0,
            "sent": 0,
            "failed": 1,
            "cancelled": 0,
        }

    async def test_pages_newest_first(self, client, db, org):
        booking_id = await make_booking(db, org)
        for n in range(5):
            await queue(db, org, booking_id, "booking_cancelled", cause=f"c{n}")
        seen = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            body = (
                await client.get("/api/v1/outbox", params=params, headers=org.admin.headers)
            ).json()
            seen += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5 == len({item["id"] for item in seen})
        created = [item["created_at"] for item in seen]
        assert created == sorted(created, reverse=True)

    async def test_front_desk_may_not_see_the_outbox(self, client, org):
        r = await client.get("/api/v1/outbox", headers=org.front_desk.headers)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"

    async def test_other_organizations_messages_are_invisible(self, client, db, org, other_org):
        booking_id = await make_booking(db, other_org)
        failed_id = await failed_message(db, other_org, booking_id)
        listed = (await client.get("/api/v1/outbox", headers=org.manager.headers)).json()
        assert listed["items"] == []
        r = await client.post(f"/api/v1/outbox/{failed_id}/retry", headers=org.manager.headers)
        assert r.status_code == 404


class TestRetry:
    async def test_a_failed_message_goes_back_to_pending(self, client, db, org):
        booking_id = await make_booking(db, org)
        failed_id = await failed_message(db, org, booking_id)
        before = datetime.now(UTC)

        r = await client.post(f"/api/v1/outbox/{failed_id}/retry", headers=org.manager.headers)

        assert r.status_code == 200, r.text
        item = r.json()
        assert (item["status"], item["attempts"]) == ("pending", 0)
        assert datetime.fromisoformat(item["send_after"]) >= before - timedelta(seconds=1)
        assert item["last_error"] == "SMTP server answered 554 rejected"  # until next attempt

    async def test_only_failed_messages_can_be_retried(self, client, db, org):
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "booking_cancelled", cause="c1")
        [pending] = await outbox_rows(db, org)
        r = await client.post(f"/api/v1/outbox/{pending.id}/retry", headers=org.manager.headers)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "not_failed"
        assert "pending" in r.json()["error"]["message"]
        [still] = await outbox_rows(db, org)
        assert (still.status, still.send_after) == ("pending", pending.send_after)

    async def test_front_desk_may_not_retry(self, client, db, org):
        booking_id = await make_booking(db, org)
        failed_id = await failed_message(db, org, booking_id)
        r = await client.post(f"/api/v1/outbox/{failed_id}/retry", headers=org.front_desk.headers)
        assert r.status_code == 403
        [row] = await outbox_rows(db, org)
        assert row.status == "failed"


class TestPreview:
    @pytest.mark.parametrize(
        "template",
        [
            "booking_confirmation",
            "booking_reminder",
            "booking_cancelled",
            "booking_rescheduled",
            "payment_link",
            "admin_new_booking",
        ],
    )
    async def test_every_template_previews_with_a_sample_booking(self, client, org, template):
        r = await client.get(
            "/api/v1/outbox/preview", params={"template": template}, headers=org.manager.headers
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["sample"] is True and body["booking_id"] is None
        assert "BK-" in body["subject"] or "Mystery Room" in body["subject"]
        assert "Mystery Room" in body["text"] and "Mystery Room" in body["html"]
        assert org.timezone in body["text"] or template == "booking_cancelled"
        assert (body["sms"] is not None) == (
            template in ("booking_confirmation", "booking_reminder")
        )

    async def test_a_bookings_preview_shows_its_own_facts_escaped(self, client, db, org):
        booking_id = await make_booking(db, org, what_to_bring="<b>Helmet</b> & gloves")
        async with db.tenant(org.id) as s:
            number = (await s.get_one(Booking, booking_id)).booking_number
        r = await client.get(
            "/api/v1/outbox/preview",
            params={"template": "booking_confirmation", "booking_id": str(booking_id)},
            headers=org.manager.headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert number in body["subject"]
        assert body["attachments"] == [f"receipt-{number}.pdf"]
        assert "&lt;b&gt;Helmet&lt;/b&gt; &amp; gloves" in body["html"]
        assert "<b>Helmet</b> & gloves" in body["text"]

    async def test_unknown_template_and_unknown_booking_are_refused(self, client, org):
        r = await client.get(
            "/api/v1/outbox/preview", params={"template": "welcome"}, headers=org.manager.headers
        )
        assert r.status_code == 422
        r = await client.get(
            "/api/v1/outbox/preview",
            params={"template": "booking_reminder", "booking_id": str(uuid.uuid4())},
            headers=org.manager.headers,
        )
        assert r.status_code == 404


class TestResendConfirmation:
    async def test_staff_resend_queues_a_new_confirmation(self, client, db, org):
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
        key = str(uuid.uuid4())
        headers = {**org.front_desk.headers, "Idempotency-Key": key}

        r = await client.post(f"/api/v1/bookings/{booking_id}/resend-confirmation", headers=headers)
        again = await client.post(
            f"/api/v1/bookings/{booking_id}/resend-confirmation", headers=headers
        )

        assert r.status_code == 202, r.text
        assert again.json() == r.json()
        [queued] = r.json()["queued"]
        assert (queued["template"], queued["cause"], queued["status"]) == (
            "booking_confirmation",
            f"resend:{key}",
            "pending",
        )
        confirmations = await outbox_rows(db, org, template="booking_confirmation")
        assert [m.cause for m in confirmations] == ["payment:1", f"resend:{key}"]
        assert len(await outbox_rows(db, org, template="booking_reminder")) == 1
        detail = (
            await client.get(f"/api/v1/bookings/{booking_id}", headers=org.front_desk.headers)
        ).json()
        resent = [e for e in detail["events"] if e["kind"] == "confirmation_resent"]
        assert len(resent) == 1 and "guest@example.com" in resent[0]["message"]

    async def test_a_cancelled_booking_has_no_confirmation_to_resend(self, client, db, org):
        booking_id = await make_booking(db, org, status="cancelled")
        r = await client.post(
            f"/api/v1/bookings/{booking_id}/resend-confirmation", headers=org.front_desk.headers
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "not_confirmed"
        assert await outbox_rows(db, org) == []
