from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pypdfium2 as pdfium
import pytest
import segno
import zxingcpp
from pypdf import PdfReader
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import mm

from app.receipts import ReceiptLine, ReceiptPayment, ReceiptVenue, render_receipt
from app.receipts import fonts as receipt_fonts
from app.receipts.model import ReceiptData
from app.receipts.render import QrCode

from .conftest import make_receipt, pdf_pages_text, pdf_text

AT = datetime(2026, 11, 20, 15, 4, tzinfo=UTC)


def decode_qr(pdf: bytes, dpi: int = 200) -> list[zxingcpp.Barcode]:
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=dpi / 72).to_pil()
    finally:
        doc.close()
    return list(zxingcpp.read_barcodes(image))


def test_renders_pdf_with_metadata(receipt: ReceiptData) -> None:
    pdf = render_receipt(receipt)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == "Receipt BK-7KX9QF-M2TD"
    assert reader.metadata.author == "Lockbox Escape Rooms Brooklyn"
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4


def test_letter_page_size(receipt: ReceiptData) -> None:
    reader = PdfReader(BytesIO(render_receipt(receipt, pagesize=LETTER)))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_receipt_text_contents(receipt: ReceiptData) -> None:
    text = pdf_text(render_receipt(receipt))
    for expected in [
        "Receipt",
        "BK-7KX9QF-M2TD",
        "Lockbox Escape Rooms Brooklyn",
        "125 Atlantic Ave, Suite 4",
        "Zoë Whitfield",
        "zoe@example.com",
        "+1 917 555 0199",
        "The Vanishing Lighthouse",
        # starts_at is 19:00 UTC; the venue is in New York (EST, UTC-5).
        "Mon 30 Nov 2026, 14:00\u201315:00 (America/New_York)",
        "Adult 3 $30.00 $90.00",
        "Child 2 $15.00 $30.00",
        "Subtotal $120.00",
        "Discount (FALL10) -$10.00",
        "Total $110.00",
        # payment at 15:04 UTC shown in New York time
        "20 Nov 2026 10:04 Payment card pi_123 $110.00",
        "Paid in full $0.00",
        "Status: CONFIRMED",
        "Page 1 of 1",
    ]:
        assert expected in text, expected
    assert "19:00" not in text  # the UTC time must not leak onto the receipt
    assert "CANCELLED" not in text


def test_partial_refund_shows_refund_and_balance() -> None:
    receipt = make_receipt(
        payments=(
            ReceiptPayment("payment", 11000, AT, "card", "pi_123"),
            ReceiptPayment("refund", 2500, AT + timedelta(days=2), "Stripe refund", "re_456"),
        )
    )
    text = pdf_text(render_receipt(receipt))
    assert "22 Nov 2026 10:04 Refund Stripe refund re_456 -$25.00" in text
    assert "Payments received $110.00" in text
    assert "Refunds -$25.00" in text
    assert "Balance due $25.00" in text
    assert "Paid in full" not in text


def test_cancelled_receipt_is_prominent_and_shows_amount_held() -> None:
    receipt = make_receipt(
        status="cancelled",
        payments=(
            ReceiptPayment("payment", 11000, AT, "card terminal", None),
            ReceiptPayment("refund", 6000, AT, "Stripe refund", "re_9"),
        ),
    )
    text = pdf_text(render_receipt(receipt))
    assert "CANCELLED" in text
    assert "not valid for admission" in text
    assert "Amount held $50.00" in text
    assert "Balance due" not in text


def test_overpayment_shows_credit() -> None:
    receipt = make_receipt(payments=(ReceiptPayment("payment", 12000, AT, "cash", None),))
    assert "Credit due to customer $10.00" in pdf_text(render_receipt(receipt))


def test_no_payments_and_discount_larger_than_subtotal() -> None:
    receipt = make_receipt(discount_amount=99999, discount_label="STAFF", payments=())
    text = pdf_text(render_receipt(receipt))
    assert "No payments recorded." in text
    assert "Discount (STAFF) -$120.00" in text  # capped at the subtotal
    assert "Total $0.00" in text
    assert "-$0" not in text.replace("-$120.00", "")


def test_zero_and_three_decimal_currencies() -> None:
    jpy = make_receipt(
        currency="JPY",
        lines=(ReceiptLine("Adult", 2, 4000),),
        discount_amount=0,
        payments=(ReceiptPayment("payment", 3000, AT, "cash", None),),
    )
    text = pdf_text(render_receipt(jpy))
    assert "Adult 2 JPY 4,000 JPY 8,000" in text
    assert "Balance due JPY 5,000" in text
    kwd = make_receipt(currency="KWD", lines=(ReceiptLine("Adult", 1, 12500),), payments=())
    text = pdf_text(render_receipt(kwd))
    assert "Discount (FALL10) -KWD 1.000" in text
    assert "Total KWD 11.500" in text


def test_long_receipt_paginates_with_repeated_headers() -> None:
    payments = tuple(
        ReceiptPayment(
            "refund" if i % 10 == 9 else "payment",
            100 + i,
            AT + timedelta(minutes=i),
            "card",
            f"ref-{i:03d}",
        )
        for i in range(150)
    )
    pdf = render_receipt(make_receipt(payments=payments))
    pages = pdf_pages_text(pdf)
    n = len(pages)
    assert n >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {n}" in page
    for page in pages[1:]:
        assert "DATE TYPE METHOD REFERENCE AMOUNT" in page  # header row repeated
        assert "(continued)" in page
    text = " ".join(pages)
    assert all(f"ref-{i:03d}" in text for i in range(150))
    assert "Page 1 of" in pages[0]


def test_qr_code_decodes_to_booking_number(receipt: ReceiptData) -> None:
    barcodes = decode_qr(render_receipt(receipt))
    assert len(barcodes) == 1
    (code,) = barcodes
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    assert code.text == "BK-7KX9QF-M2TD"
    assert code.ec_level == "M"


def test_qr_code_other_booking_number_and_unicode_font() -> None:
    receipt = make_receipt(booking_number="BK-0000AA-ZZ99", customer_name="Łukasz Żółć")
    barcodes = decode_qr(render_receipt(receipt), dpi=150)
    assert [b.text for b in barcodes] == ["BK-0000AA-ZZ99"]


def test_qr_flowable_is_big_enough_with_quiet_zone() -> None:
    qr = QrCode("BK-7KX9QF-M2TD")
    expected = segno.make_qr("BK-7KX9QF-M2TD", error="m", boost_error=False)
    assert qr.matrix == [bytes(row) for row in expected.matrix]
    assert qr.module * qr.modules == pytest.approx(30 * mm)
    assert qr.width == pytest.approx(qr.module * (qr.modules + 8))


def test_non_latin1_text_uses_unicode_font_when_available() -> None:
    if receipt_fonts.unicode_fonts() is None:
        pytest.skip("no Unicode TrueType font installed")
    receipt = make_receipt(customer_name="Łukasz Żółć", activity_name="Тайная комната")
    text = pdf_text(render_receipt(receipt))
    assert "Łukasz Żółć" in text
    assert "Тайная комната" in text


def test_unsupported_glyphs_replaced_visibly_without_crash() -> None:
    receipt = make_receipt(customer_name="山田 太郎 Zoë", notes="Bell\x07 rings\r\nline two")
    text = pdf_text(render_receipt(receipt))
    assert "?? ?? Zoë" in text  # no CJK glyphs in the fallback fonts
    assert "line two" in text


def test_fallback_without_unicode_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receipt_fonts, "unicode_fonts", lambda: None)
    receipt = make_receipt(customer_name="Łukasz Żółć")
    text = pdf_text(render_receipt(receipt))
    assert "?ukasz ?ó?? " in text


def test_markup_characters_are_literal() -> None:
    venue = ReceiptVenue("Puzzles & <Co>", ("1 Main St",), "Europe/London", None, None)
    receipt = make_receipt(venue=venue, customer_name="A <b>bold</b> & co", currency="GBP")
    text = pdf_text(render_receipt(receipt))
    assert "Puzzles & <Co>" in text
    assert "A <b>bold</b> & co" in text
    assert "Mon 30 Nov 2026, 19:00\u201320:00 (Europe/London)" in text


def test_empty_optional_fields() -> None:
    venue = ReceiptVenue("Bare Venue", (), "UTC", None, None)
    receipt = make_receipt(
        venue=venue,
        customer_email=None,
        customer_phone=None,
        lines=(),
        discount_amount=0,
        discount_label=None,
        payments=(),
        notes="",
    )
    text = pdf_text(render_receipt(receipt))
    assert "No items." in text
    assert "Total $0.00" in text
    assert "Discount" not in text


def test_pathologically_long_fields_do_not_crash() -> None:
    receipt = make_receipt(
        customer_name="word " * 3000,
        venue=ReceiptVenue("V " * 1000, tuple(["addr"] * 50), "UTC", None, None),
        lines=(ReceiptLine("x " * 5000, 1, 1),),
        payments=(ReceiptPayment("payment", 1, AT, "m " * 3000, "r" * 3000),),
        notes="n " * 5000,
    )
    pages = pdf_pages_text(render_receipt(receipt))
    assert len(pages) >= 2
    assert "\u2026" in pages[0]  # clipped fields end in an ellipsis
