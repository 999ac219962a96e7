"""Plain data the receipt renderer consumes.

Everything here is immutable, free of Qt and database types, and validated on
construction so that the renderer never has to guess: money is integer minor
units in one ISO 4217 currency, and every datetime is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.receipts.formatting import normalize_currency

PaymentKind = Literal["payment", "refund"]
"""Whether a money movement went to the venue (payment) or back to the customer (refund)."""

CANCELLED_STATUSES = frozenset({"cancelled", "canceled"})
"""Status values (compared case-insensitively) that mark a booking as cancelled."""


def _require_int(value: object, field: str, *, minimum: int | None = None) -> None:
    # bool is an int subclass; True as an amount is always a bug upstream.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int (minor units), got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{field} must be >= {minimum}, got {value}")


def _require_aware(value: object, field: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")


def _as_tuple(obj: object, field: str, items: Iterable[object]) -> None:
    object.__setattr__(obj, field, tuple(items))


@dataclass(frozen=True, slots=True)
class ReceiptVenue:
    """The venue issuing the receipt.

    Attributes:
        name: Trading name printed at the top of the receipt.
        address_lines: Postal address, one line per element.
        timezone: IANA time zone name (e.g. ``"America/New_York"``); all dates
            and times on the receipt are shown in this zone.
        email: Contact email, if any.
        phone: Contact phone number, if any.
    """

    name: str
    address_lines: tuple[str, ...] = ()
    timezone: str = "UTC"
    email: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        _as_tuple(self, "address_lines", self.address_lines)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone: {self.timezone!r}") from exc

    @property
    def zone(self) -> ZoneInfo:
        """The venue's time zone as a :class:`zoneinfo.ZoneInfo`."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One row of the party table, e.g. ``ReceiptLine("Adult", 3, 3000)``.

    Attributes:
        description: What was sold (ticket type, add-on, ...).
        quantity: Number of units (>= 0).
        unit_amount: Price of one unit in minor units (>= 0).
    """

    description: str
    quantity: int
    unit_amount: int

    def __post_init__(self) -> None:
        _require_int(self.quantity, "quantity", minimum=0)
        _require_int(self.unit_amount, "unit_amount", minimum=0)

    @property
    def amount(self) -> int:
        """Line total in minor units (quantity x unit amount)."""
        return self.quantity * self.unit_amount


@dataclass(frozen=True, slots=True)
class ReceiptPayment:
    """A payment received or a refund given.

    Attributes:
        kind: ``"payment"`` or ``"refund"``.
        amount: Positive amount in minor units; the sign comes from ``kind``.
        at: When the money moved (timezone-aware).
        method: Human-readable method, e.g. ``"card"``, ``"cash"``,
            ``"card terminal"``, ``"Stripe refund"``.
        reference: Processor or till reference, if any.
    """

    kind: PaymentKind
    amount: int
    at: datetime
    method: str
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("payment", "refund"):
            raise ValueError(f"kind must be 'payment' or 'refund', got {self.kind!r}")
        _require_int(self.amount, "amount", minimum=0)
        _require_aware(self.at, "at")

    @property
    def signed_amount(self) -> int:
        """The amount as it affects the venue: positive for payments, negative for refunds."""
        return -self.amount if self.kind == "refund" else self.amount


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptData:
    """Everything printed on one receipt (construct with keyword arguments).

    Attributes:
        booking_number: Public booking reference, e.g. ``"BK-7KX9QF-M2TD"``;
            also encoded (exactly) in the receipt's QR code.
        venue: The issuing venue.
        customer_name: Name of the lead booker.
        customer_email: Customer email, if known.
        customer_phone: Customer phone, if known.
        activity_name: Name of the booked activity / experience.
        starts_at: Start of the session (timezone-aware).
        ends_at: End of the session (timezone-aware, not before ``starts_at``).
        currency: ISO 4217 code of every amount on the receipt.
        lines: Party / items table.
        discount_amount: Discount in minor units (>= 0).
        discount_label: What the discount is, e.g. a promo code.
        payments: Payments and refunds, in the order to print them.
        status: Booking status, e.g. ``"confirmed"`` or ``"cancelled"``.
        issued_at: When the receipt was produced (timezone-aware).
        notes: Free text printed at the bottom, if any.
    """

    booking_number: str
    venue: ReceiptVenue
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    activity_name: str
    starts_at: datetime
    ends_at: datetime
    currency: str
    lines: tuple[ReceiptLine, ...]
    discount_amount: int = 0
    discount_label: str | None = None
    payments: tuple[ReceiptPayment, ...] = ()
    status: str = "confirmed"
    issued_at: datetime
    notes: str | None = None

    def __post_init__(self) -> None:
        if not self.booking_number or not self.booking_number.strip():
            raise ValueError("booking_number must not be empty")
        object.__setattr__(self, "currency", normalize_currency(self.currency))
        _as_tuple(self, "lines", self.lines)
        _as_tuple(self, "payments", self.payments)
        _require_int(self.discount_amount, "discount_amount", minimum=0)
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at must not be before starts_at")
        _require_aware(self.issued_at, "issued_at")

    # -- derived amounts -------------------------------------------------------------------

    @property
    def subtotal(self) -> int:
        """Sum of all line totals."""
        return sum(line.amount for line in self.lines)

    @property
    def applied_discount(self) -> int:
        """The discount actually applied: never more than the subtotal."""
        return min(self.discount_amount, self.subtotal)

    @property
    def total(self) -> int:
        """Amount owed for the booking: subtotal minus discount, never negative."""
        return max(0, self.subtotal - self.discount_amount)

    @property
    def paid(self) -> int:
        """Sum of all payments received (positive)."""
        return sum(p.amount for p in self.payments if p.kind == "payment")

    @property
    def refunded(self) -> int:
        """Sum of all refunds given (positive)."""
        return sum(p.amount for p in self.payments if p.kind == "refund")

    @property
    def net_paid(self) -> int:
        """Money the venue currently holds for this booking: payments minus refunds."""
        return self.paid - self.refunded

    @property
    def is_cancelled(self) -> bool:
        """True when :attr:`status` is ``cancelled`` (either spelling, any case)."""
        return self.status.strip().lower() in CANCELLED_STATUSES

    @property
    def balance(self) -> int:
        """The closing figure of the receipt, interpreted by :attr:`balance_label`.

        For a live booking this is the balance due, ``total - (paid - refunded)``;
        negative means the customer has overpaid and is owed a credit.

        For a cancelled booking nothing is owed any more, so the balance is what the
        venue still holds, ``paid - refunded`` (0 once fully refunded).
        """
        if self.is_cancelled:
            return self.net_paid
        return self.total - self.net_paid

    @property
    def balance_label(self) -> str:
        """How to caption :attr:`balance` on the receipt.

        One of ``"Balance due"``, ``"Paid in full"``, ``"Credit due to customer"``
        (live bookings) or ``"Amount held"``, ``"Fully refunded"``,
        ``"Nothing to refund"``, ``"Refunded in excess"`` (cancelled bookings).
        """
        balance = self.balance
        if self.is_cancelled:
            if balance > 0:
                return "Amount held"
            if balance < 0:
                return "Refunded in excess"
            return "Fully refunded" if self.paid else "Nothing to refund"
        if balance > 0:
            return "Balance due"
        if balance < 0:
            return "Credit due to customer"
        return "Paid in full"
