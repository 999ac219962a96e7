"""Resend and Twilio over real HTTP (a local endpoint), and the file provider of the demo."""

from __future__ import annotations

import base64
import email
import email.policy

from pydantic import SecretStr

from app.server.core.settings import Settings
from app.server.db.models import Booking
from app.server.notifications.sender import OutboxSender
from tests.server.notifications.conftest import T0, make_booking, outbox_rows, queue


def settings_for(tmp_path, **values) -> Settings:
    return Settings(data_dir=tmp_path, email_from="Venue <hello@venue.example>", **values)


async def booking_number(db, org, booking_id) -> str:
    async with db.tenant(org.id) as s:
        return (await s.get_one(Booking, booking_id)).booking_number


async def test_resend_gets_the_key_the_message_and_the_receipt(db, org, http_endpoint, tmp_path):
    http_endpoint.default = (200, {"id": "re_4f1c"})
    settings = settings_for(
        tmp_path,
        email_provider="resend",
        resend_api_key=SecretStr("re_test_key_123"),
        resend_base_url=http_endpoint.url,
    )
    booking_id = await make_booking(db, org)
    number = await booking_number(db, org, booking_id)
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")

    report = await OutboxSender.from_settings(db, settings).send_due(T0, organization_id=org.id)

    assert report.sent == 1
    [request] = http_endpoint.received
    [row] = await outbox_rows(db, org, template="booking_confirmation")
    assert (request.method, request.path) == ("POST", "/emails")
    assert request.headers["Authorization"] == "Bearer re_test_key_123"
    assert request.headers["Idempotency-Key"] == str(row.id)
    body = request.json()
    assert body["from"] == "Venue <hello@venue.example>"
    assert body["to"] == ["guest@example.com"]
    assert number in body["subject"] and "is confirmed" in body["subject"]
    assert number in body["text"] and number in body["html"]
    assert body["html"].lstrip().startswith("<!DOCTYPE html>")
    [attachment] = body["attachments"]
    assert attachment["filename"] == f"receipt-{number}.pdf"
    assert base64.b64decode(attachment["content"]).startswith(b"%PDF")
    assert (row.status, row.provider_message_id) == ("sent", "re_4f1c")


async def test_resend_refusing_the_key_fails_without_retrying(db, org, http_endpoint, tmp_path):
    http_endpoint.default = (401, {"name": "validation_error", "message": "API key is invalid"})
    settings = settings_for(
        tmp_path,
        email_provider="resend",
        resend_api_key=SecretStr("re_wrong"),
        resend_base_url=http_endpoint.url,
    )
    booking_id = await make_booking(db, org)
    await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")

    report = await OutboxSender.from_settings(db, settings).send_due(T0, organization_id=org.id)

    assert report.failed == 1
    [row] = await outbox_rows(db, org)
    assert row.status == "failed"
    assert row.last_error == "Resend answered 401: API key is invalid"
    assert "re_wrong" not in row.last_error


async def test_twilio_texts_customers_who_agreed(db, org, http_endpoint, tmp_path):
    http_endpoint.default = (201, {"sid": "SM0123456789abcdef", "status": "queued"})
    settings = settings_for(
        tmp_path,
        twilio_account_sid="AC11112222333344445555666677778888",
        twilio_auth_token=SecretStr("twilio-token-xyz"),
        twilio_from_number="+15005550006",
        twilio_base_url=http_endpoint.url,
    )
    booking_id = await make_booking(db, org, phone="415-555-0123", sms_opt_in=True)
    number = await booking_number(db, org, booking_id)
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")

    report = await OutboxSender.from_settings(db, settings).send_due(T0, organization_id=org.id)

    assert report.sent == 2  # the e-mail (to a file) and the text
    [request] = http_endpoint.received
    assert request.method == "POST"
    assert request.path == "/2010-04-01/Accounts/AC11112222333344445555666677778888/Messages.json"
    expected = base64.b64encode(b"AC11112222333344445555666677778888:twilio-token-xyz").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    form = request.form()
    assert (form["To"], form["From"]) == ("+14155550123", "+15005550006")
    assert number in form["Body"] and "Mystery Room" in form["Body"]
    [sms] = await outbox_rows(db, org, template="booking_confirmation", channel="sms")
    assert (sms.status, sms.provider_message_id) == ("sent", "SM0123456789abcdef")

    # The e-mail went to the data dir as a real .eml file.
    [mail] = await outbox_rows(db, org, template="booking_confirmation", channel="email")
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    assert eml.name == f"{mail.id}.eml" == mail.provider_message_id
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "guest@example.com"
    assert number in parsed.get_body(("plain",)).get_content()
    assert [a.get_filename() for a in parsed.iter_attachments()] == [f"receipt-{number}.pdf"]


async def test_twilio_outage_is_retried(db, org, http_endpoint, tmp_path):
    http_endpoint.default = (503, {"code": 20503, "message": "Service unavailable"})
    settings = settings_for(
        tmp_path,
        twilio_account_sid="AC0",
        twilio_auth_token=SecretStr("t"),
        twilio_from_number="MG9752274e9e519418a7406176694466fa",
        twilio_base_url=http_endpoint.url,
    )
    booking_id = await make_booking(
        db, org, phone="+14155550123", sms_opt_in=True, email_address="sms-only@example.com"
    )
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")

    await OutboxSender.from_settings(db, settings).send_due(T0, organization_id=org.id)

    [request] = http_endpoint.received
    assert request.form()["MessagingServiceSid"] == "MG9752274e9e519418a7406176694466fa"
    assert "From" not in request.form()
    [sms] = await outbox_rows(db, org, channel="sms", template="booking_confirmation")
    assert (sms.status, sms.attempts) == ("pending", 1)
    assert sms.last_error == "Twilio answered 503: Service unavailable"
    assert sms.send_after > T0


async def test_without_twilio_texts_are_not_sent_and_say_why(db, org, tmp_path):
    booking_id = await make_booking(db, org, phone="+14155550123", sms_opt_in=True)
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")

    report = await OutboxSender.from_settings(db, settings_for(tmp_path)).send_due(
        T0, organization_id=org.id
    )

    assert (report.sent, report.cancelled) == (1, 1)
    [sms] = await outbox_rows(db, org, channel="sms", template="booking_confirmation")
    assert sms.status == "cancelled"
    assert "SMS is not configured" in sms.last_error


async def test_resend_without_a_key_says_which_setting_is_missing(db, org, tmp_path):
    booking_id = await make_booking(db, org)
    await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")

    settings = settings_for(tmp_path, email_provider="resend")
    await OutboxSender.from_settings(db, settings).send_due(T0, organization_id=org.id)

    [row] = await outbox_rows(db, org)
    assert row.status == "failed"
    assert "BOOKINGTMS_RESEND_API_KEY" in row.last_error
