"""PDF receipts: plain receipt data in, PDF bytes out (no Qt, no database)."""

from app.receipts.formatting import currency_exponent, format_money, format_time_range
from app.receipts.model import ReceiptData, ReceiptLine, ReceiptPayment, ReceiptVenue
from app.receipts.render import render_receipt

__all__ = [
    "ReceiptData",
    "ReceiptLine",
    "ReceiptPayment",
    "ReceiptVenue",
    "currency_exponent",
    "format_money",
    "format_time_range",
    "render_receipt",
]
