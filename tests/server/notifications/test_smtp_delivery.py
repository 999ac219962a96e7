"""E-mail over a real SMTP server (aiosmtpd): the confirmation with both parts and its PDF."""

from __future__ import annotations

import io
import shutil
import ssl
import subprocess
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from app.server.background import free_port
from app.server.db.models import ActivitySession, Booking
from tests.server.notifications.conftest import (
    T0,
    Mailbox,
    SmtpServer,
    make_booking,
    make_sender,
    outbox_rows,
    queue,
    smtp_provider,
)


async def venue_start(db, org, booking_id):
    async with db.tenant(org.id) as s:
        booking = await s.get_one(Booking, booking_id)
        start = (await s.get_one(ActivitySession, booking.session_id)).starts_at
    return booking.booking_number, start.astimezone(ZoneInfo(org.timezone))


async def test_the_confirmation_arrives_with_text_html_and_the_receipt(db, org, smtp_server):
    booking_id = await make_booking(db, org, adults=2, children=1)
    number, local_start = await venue_start(db, org, booking_id)
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
    sender = make_sender(db, smtp_provider(smtp_server, username="desk", password="s3cret"))

    report = await sender.send_due(T0, organization_id=org.id)

    assert (report.sent, report.failed, report.retrying) == (1, 0, 0)  # reminder not due yet
    [message] = smtp_server.mailbox.messages
    assert [login for login, _mechanism in smtp_server.mailbox.logins] == ["desk"]
    assert smtp_server.mailbox.envelopes == [("bookings@venue.example", ["guest@example.com"])]
    # A long header is folded onto the next line; the parser keeps the fold's space.
    subject = message["Subject"].strip()
    assert subject == (
        f"Mystery Room on {local_start:%a} {local_start.day} {local_start:%b %Y} "
        f"at {local_start:%H:%M} is confirmed ({number})"
    )
    assert message["To"] == "guest@example.com"
    assert message["From"] == "Bookings <bookings@venue.example>"
    assert message.get_content_type() == "multipart/mixed"

    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert number in part
        assert "Mystery Room" in part
        assert f"{local_start:%H:%M}" in part and org.timezone in part
        assert "1 Main St" in part and "Springfield" in part
        assert "2 adults, 1 child" in part
        assert "$75.00" in part
        assert "Closed-toe shoes." in part
    assert html.lstrip().startswith("<!DOCTYPE html>")

    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"receipt-{number}.pdf"
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    assert number in "".join(page.extract_text() for page in pdf.pages)

    [row] = await outbox_rows(db, org, template="booking_confirmation")
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at == T0
    assert row.subject == subject
    assert row.provider_message_id == message["Message-ID"]


async def test_html_escapes_what_customers_typed(db, org, smtp_server):
    booking_id = await make_booking(db, org, what_to_bring="<script>alert(1)</script> & snacks")
    await queue(db, org, booking_id, "booking_confirmation", cause="payment:1")
    await make_sender(db, smtp_provider(smtp_server)).send_due(T0, organization_id=org.id)

    [message] = smtp_server.mailbox.messages
    html = message.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; snacks" in html
    assert "<script>" not in html
    assert "<script>alert(1)</script> & snacks" in message.get_body(("plain",)).get_content()


async def test_a_refused_recipient_fails_at_once_with_the_servers_reason(db, org, smtp_server):
    booking_id = await make_booking(db, org, email_address="bounce@example.com")
    await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")

    report = await make_sender(db, smtp_provider(smtp_server)).send_due(T0, organization_id=org.id)

    assert report.failed == 1
    [row] = await outbox_rows(db, org)
    assert row.status == "failed"
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    assert smtp_server.mailbox.messages == []


async def test_an_unreachable_server_is_retried_later(db, org):
    booking_id = await make_booking(db, org)
    await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")
    closed = SmtpServer("127.0.0.1", free_port(), Mailbox())

    report = await make_sender(db, smtp_provider(closed)).send_due(T0, organization_id=org.id)

    assert report.retrying == 1
    [row] = await outbox_rows(db, org)
    assert row.status == "pending" and row.attempts == 1
    assert "Could not reach the SMTP server" in row.last_error
    assert T0 + timedelta(seconds=5) <= row.send_after <= T0 + timedelta(seconds=10)


@pytest.fixture
def tls_files(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_starttls_then_login(db, org, tls_files):
    cert, key = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, tls_context=server_context,
        require_starttls=True,
    )  # fmt: skip
    controller.start()
    try:
        booking_id = await make_booking(db, org)
        await queue(db, org, booking_id, "booking_cancelled", cause="cancel:1")
        provider = smtp_provider(
            SmtpServer("127.0.0.1", port, mailbox),
            security="starttls",
            tls_context=ssl.create_default_context(cafile=str(cert)),
        )
        report = await make_sender(db, provider).send_due(T0, organization_id=org.id)
    finally:
        controller.stop()
    assert report.sent == 1
    assert len(mailbox.messages) == 1
