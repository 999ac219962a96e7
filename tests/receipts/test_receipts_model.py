from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.receipts import ReceiptLine, ReceiptPayment, ReceiptVenue

from .conftest import STARTS_UTC, make_receipt

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def pay(amount: int) -> ReceiptPayment:
    return ReceiptPayment("payment", amount, AT, "card", None)


def refund(amount: int) -> ReceiptPayment:
    return ReceiptPayment("refund", amount, AT, "Stripe refund", "re_1")


def test_amounts() -> None:
    r = make_receipt(payments=(pay(5000), pay(6000), refund(1500)))
    assert r.subtotal == 3 * 3000 + 2 * 1500 == 12000
    assert r.total == 11000
    assert r.paid == 11000
    assert r.refunded == 1500
    assert r.net_paid == 9500
    assert r.balance == 1500
    assert r.balance_label == "Balance due"


def test_paid_in_full() -> None:
    r = make_receipt(payments=(pay(11000),))
    assert r.balance == 0
    assert r.balance_label == "Paid in full"


def test_overpaid_is_credit() -> None:
    r = make_receipt(payments=(pay(12000),))
    assert r.balance == -1000
    assert r.balance_label == "Credit due to customer"


def test_discount_larger_than_subtotal_never_negative() -> None:
    r = make_receipt(discount_amount=50000, payments=())
    assert r.total == 0
    assert r.applied_discount == r.subtotal
    assert r.balance == 0
    assert r.balance_label == "Paid in full"


def test_cancelled_balance_is_money_held() -> None:
    r = make_receipt(status="Cancelled", payments=(pay(11000), refund(4000)))
    assert r.is_cancelled
    assert r.balance == 7000
    assert r.balance_label == "Amount held"
    fully = make_receipt(status="canceled", payments=(pay(11000), refund(11000)))
    assert fully.balance == 0
    assert fully.balance_label == "Fully refunded"
    unpaid = make_receipt(status="cancelled", payments=())
    assert unpaid.balance_label == "Nothing to refund"


def test_sequences_become_tuples_and_dataclasses_are_frozen() -> None:
    r = make_receipt(lines=[ReceiptLine("Adult", 1, 100)], payments=[pay(100)])
    assert isinstance(r.lines, tuple)
    assert isinstance(r.payments, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.status = "cancelled"  # type: ignore[misc]


def test_currency_normalized() -> None:
    assert make_receipt(currency="eur").currency == "EUR"


@pytest.mark.parametrize(
    "overrides",
    [
        {"starts_at": datetime(2026, 11, 30, 14, 0)},
        {"issued_at": datetime(2026, 11, 30, 14, 0)},
        {"ends_at": STARTS_UTC - timedelta(minutes=1)},
        {"discount_amount": -1},
        {"currency": "DOLLARS"},
        {"booking_number": "  "},
    ],
)
def test_invalid_receipt_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_receipt(**overrides)


def test_invalid_parts_rejected() -> None:
    with pytest.raises(ValueError):
        ReceiptVenue("X", (), "Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        ReceiptPayment("chargeback", 100, AT, "card")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ReceiptPayment("payment", -100, AT, "card")
    with pytest.raises(ValueError):
        ReceiptPayment("payment", 100, datetime(2026, 1, 1), "card")
    with pytest.raises(TypeError):
        ReceiptLine("Adult", 1, 30.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ReceiptLine("Adult", -1, 3000)
