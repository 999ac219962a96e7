"""The receipt of a real booking: built from the database, rendered, read back."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from io import BytesIO

import pypdfium2 as pdfium
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import update

from app.receipts import render_receipt
from app.server.db.models import Venue
from app.server.receipts.builder import receipt_for
from tests.factories import make_org, make_promo, make_session
from tests.server.refunds.helpers import post, walk_in

# 23:30 UTC on 15 Mar 2030 is 19:30 in New York (EDT, UTC-4).
STARTS = datetime(2030, 3, 15, 23, 30, tzinfo=UTC)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def qr_codes(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=200 / 72).to_pil()
    finally:
        doc.close()
    return [code.text for code in zxingcpp.read_barcodes(image)]


async def paid_then_partly_refunded(client, db, org) -> dict:
    async with db.tenant(org.id) as s:
        await s.execute(update(Venue).where(Venue.id == org.venue_id).values(
            name="Lockbox Brooklyn", address="125 Atlantic Ave\nBrooklyn, NY 11201"))
    await make_promo(db, org, "FAMILY10", value=1000)
    session_id = await make_session(db, org, starts_at=STARTS)
    booking = await walk_in(client, org, db, adults=2, children=2, session_id=session_id,
                            promo_code="FAMILY10",
                            payment={"mode": "pay_at_desk", "method": "cash", "amount": 5000})
    r = await post(client, org.front_desk, booking, "mark-paid",
                   {"amount": 3100, "method": "card_terminal"})
    assert r.status_code == 200, r.text
    r = await post(client, org.manager, booking, "refund",
                   {"amount": 1500, "reason": "One child stayed home", "method": "cash"})
    assert r.status_code == 200, r.text
    return r.json()


async def test_receipt_shows_party_discount_payments_refund_and_balance(client, db):
    org = await make_org(db, timezone="America/New_York")  # the dates below are New York's
    booking = await paid_then_partly_refunded(client, db, org)
    async with db.tenant(org.id) as s:
        data = await receipt_for(s, uuid.UUID(booking["id"]))
    assert (data.subtotal, data.applied_discount, data.total) == (9000, 900, 8100)
    assert (data.paid, data.refunded, data.balance) == (8100, 1500, 1500)
    assert data.venue.timezone == "America/New_York"

    pdf = render_receipt(data)
    text = pdf_text(pdf)
    for expected in [
        "Lockbox Brooklyn",
        "125 Atlantic Ave",
        booking["booking_number"],
        "Wanda Walker",
        "walkin@example.com",
        "Mystery Room",
        "Fri 15 Mar 2030, 19:30\u201320:30 (America/New_York)",
        "Adult 2 $30.00 $60.00",
        "Child 2 $15.00 $30.00",
        "Subtotal $90.00",
        "Discount (FAMILY10) -$9.00",
        "Total $81.00",
        "$50.00",
        "$31.00",
        "Cash refund",
        "-$15.00",
        "Balance due $15.00",
    ]:
        assert expected in text, expected
    assert "23:30" not in text  # times are the venue's, not UTC
    assert qr_codes(pdf) == [booking["booking_number"]]


async def test_receipt_endpoint_serves_the_same_pdf(client, db, org):
    booking = await paid_then_partly_refunded(client, db, org)
    r = await client.get(f"/api/v1/bookings/{booking['id']}/receipt",
                         headers=org.front_desk.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert booking["booking_number"] in r.headers["content-disposition"]
    text = pdf_text(r.content)
    assert "Total $81.00" in text and "Balance due $15.00" in text
    assert qr_codes(r.content) == [booking["booking_number"]]

    r = await client.get(f"/api/v1/bookings/{uuid.uuid4()}/receipt",
                         headers=org.front_desk.headers)
    assert r.status_code == 404


async def test_a_cancelled_and_refunded_booking_says_so(client, db, org):
    booking = await walk_in(client, org, db, adults=1)
    await post(client, org.manager, booking, "cancel", {"reason": "Ill", "refund": "full"})
    async with db.tenant(org.id) as s:
        data = await receipt_for(s, uuid.UUID(booking["id"]))
    text = pdf_text(render_receipt(data))
    assert "CANCELLED" in text
    assert "Fully refunded" in text
