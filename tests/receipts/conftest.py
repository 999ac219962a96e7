"""Shared builders for receipt tests."""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

if importlib.util.find_spec("app") is None:  # pragma: no cover - depends on how pytest is run
    # `pytest` (unlike `python -m pytest`) does not put the repository root on sys.path,
    # and the editable install only maps `app` once app/__init__.py exists.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.receipts import ReceiptData, ReceiptLine, ReceiptPayment, ReceiptVenue

NEW_YORK = ReceiptVenue(
    name="Lockbox Escape Rooms Brooklyn",
    address_lines=("125 Atlantic Ave, Suite 4", "Brooklyn, NY 11201"),
    timezone="America/New_York",
    email="hello@lockbox.example",
    phone="+1 718 555 0142",
)

# 19:00 UTC on Mon 30 Nov 2026 is 14:00 EST in New York.
STARTS_UTC = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


def make_receipt(**overrides: Any) -> ReceiptData:
    base = ReceiptData(
        booking_number="BK-7KX9QF-M2TD",
        venue=NEW_YORK,
        customer_name="Zoë Whitfield",
        customer_email="zoe@example.com",
        customer_phone="+1 917 555 0199",
        activity_name="The Vanishing Lighthouse",
        starts_at=STARTS_UTC,
        ends_at=STARTS_UTC + timedelta(hours=1),
        currency="USD",
        lines=(ReceiptLine("Adult", 3, 3000), ReceiptLine("Child", 2, 1500)),
        discount_amount=1000,
        discount_label="FALL10",
        payments=(
            ReceiptPayment(
                "payment", 11000, datetime(2026, 11, 20, 15, 4, tzinfo=UTC), "card", "pi_123"
            ),
        ),
        status="confirmed",
        issued_at=datetime(2026, 11, 30, 21, 15, tzinfo=UTC),
        notes=None,
    )
    return replace(base, **overrides)


def pdf_pages_text(pdf: bytes) -> list[str]:
    """Extracted text of each page, whitespace collapsed to single spaces."""
    reader = PdfReader(BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def pdf_text(pdf: bytes) -> str:
    return " ".join(pdf_pages_text(pdf))


@pytest.fixture
def receipt() -> ReceiptData:
    return make_receipt()
