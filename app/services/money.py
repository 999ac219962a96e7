"""Money at the desk: refunds, cancellations with a refund, rescheduling, taking payment,
quotes, desk bookings with payment, and receipts.

Every money move needs the service (nothing is queued offline) and is sent with an
Idempotency-Key that stands for one intent of a person — one dialog — so a retry after a
lost answer is applied once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from app.domain.lifecycle import BookingStatus
from app.services.api_client import ApiClient, ApiError, ServiceUnavailable
from app.services.bookings import BookingDetail, BookingRow

NEEDS_CONNECTION = "needs a connection to the service"

PAYMENT_METHODS: dict[str, str] = {
    "cash": "Cash",
    "card_terminal": "Card terminal",
    "other": "Other",
}
# Money taken while the customer waits: a card terminal or cash, never "other".
DESK_CHARGE_METHODS = ("cash", "card_terminal")


class RefundChoice(StrEnum):
    """How much of the money comes back when a booking is cancelled."""

    NONE = "none"
    FULL = "full"
    PARTIAL = "partial"


class Settlement(StrEnum):
    """How the price difference of a reschedule is settled."""

    NONE = "none"
    CHARGE_AT_DESK = "charge_at_desk"
    REFUND = "refund"
    PAYMENT_LINK = "payment_link"


class PaymentMode(StrEnum):
    """How a desk booking is paid."""

    PAY_AT_DESK = "pay_at_desk"
    PAYMENT_LINK = "payment_link"
    UNPAID = "unpaid"


class Intent:
    """One thing a person means to do (one dialog): the Idempotency-Key its sends share.

    A refused request stores nothing on the service, so the same key may carry a corrected
    request; a request whose answer was lost is found by its key and not applied twice.
    """

    def __init__(self) -> None:
        self.key = str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class RefundFigures:
    """What a booking's money amounts to, for the refund and cancel dialogs."""

    paid: int
    refunded: int
    pending: int  # refunds asked of Stripe and not settled yet
    currency: str
    desk_paid: bool  # some money was taken at the desk (a refund needs a method)

    @property
    def refundable(self) -> int:
        return max(0, self.paid - self.refunded - self.pending)


def refund_figures(booking: BookingRow) -> RefundFigures:
    """Paid, refunded and refundable amounts of ``booking`` (exact for a detail)."""
    pending = 0
    desk_paid = False
    if isinstance(booking, BookingDetail):
        pending = sum(r.amount for r in booking.refunds if r.status == "pending")
        desk_paid = any(p.provider == "desk" for p in booking.payments)
    return RefundFigures(
        paid=booking.amount_paid,
        refunded=booking.refunded_amount,
        pending=pending,
        currency=booking.currency,
        desk_paid=desk_paid,
    )


@dataclass(frozen=True, slots=True)
class RescheduleOption:
    """A session the booking could move to, with its price and the difference."""

    session_id: uuid.UUID
    activity_id: uuid.UUID
    activity_name: str
    starts_at: datetime
    ends_at: datetime
    remaining: int
    total_amount: int
    difference: int  # new total − current total: > 0 to charge, < 0 to refund
    currency: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RescheduleOption:
        return cls(
            session_id=uuid.UUID(data["session_id"]),
            activity_id=uuid.UUID(data["activity_id"]),
            activity_name=data["activity_name"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            remaining=data["remaining"],
            total_amount=data["total_amount"],
            difference=data["difference"],
            currency=data["currency"],
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """The price of a party for a session, with a promo code applied."""

    subtotal_amount: int
    discount_amount: int
    total_amount: int
    currency: str
    promo_code: str | None
    remaining: int


@dataclass(frozen=True, slots=True)
class Contact:
    """The customer of a desk booking: an existing one (``customer_id``) or a new one."""

    email: str
    first_name: str
    last_name: str = ""
    phone: str | None = None
    customer_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class DeskPayment:
    """How a desk booking is paid; ``amount`` is the total for ``pay_at_desk``."""

    mode: PaymentMode = PaymentMode.UNPAID
    method: str | None = None
    amount: int | None = None

    def body(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "method": self.method, "amount": self.amount}


@dataclass(frozen=True, slots=True)
class DeskBookingRequest:
    """A booking taken at the desk or on the phone, with how it is paid."""

    session_id: uuid.UUID
    adult_count: int
    child_count: int
    contact: Contact
    payment: DeskPayment = DeskPayment()
    promo_code: str | None = None
    special_requests: str = ""
    source: str = "admin"

    def body(self) -> dict[str, Any]:
        c = self.contact
        return {
            "session_id": str(self.session_id),
            "adult_count": self.adult_count,
            "child_count": self.child_count,
            "customer_id": str(c.customer_id) if c.customer_id else None,
            "email": c.email.strip(),
            "first_name": c.first_name.strip(),
            "last_name": c.last_name.strip(),
            "phone": (c.phone or "").strip() or None,
            "promo_code": (self.promo_code or "").strip() or None,
            "special_requests": self.special_requests,
            "source": self.source,
            "payment": self.payment.body(),
        }


@dataclass(frozen=True, slots=True)
class DeskBookingResult:
    """The booking made, and the payment link sent when one was asked for."""

    booking: BookingDetail
    payment_link_url: str | None = None


@dataclass(frozen=True, slots=True)
class CancelRequest:
    reason: str
    refund: RefundChoice = RefundChoice.NONE
    refund_amount: int | None = None
    refund_method: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "reason": self.reason.strip(),
            "refund": self.refund.value,
            "refund_amount": self.refund_amount if self.refund is RefundChoice.PARTIAL else None,
            "refund_method": self.refund_method if self.refund is not RefundChoice.NONE else None,
        }


@dataclass(frozen=True, slots=True)
class RescheduleRequest:
    session_id: uuid.UUID
    settle: Settlement = Settlement.NONE
    payment_method: str | None = None
    reason: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "settle": self.settle.value,
            "payment_method": self.payment_method,
            "reason": (self.reason or "").strip() or None,
        }


def explain(error: ApiError, what: str) -> str:
    """The sentence a dialog shows when ``what`` (e.g. "Refund") failed with ``error``."""
    if isinstance(error, ServiceUnavailable):
        return (
            f"{what} {NEEDS_CONNECTION}: {error.message} Nothing was lost; "
            "trying again once connected will not do it twice."
        )
    if error.code == "idempotency_key_reused":
        return (
            "An earlier attempt from this window may already have gone through. Close it and "
            "check the booking before trying again."
        )
    return error.message


def reschedulable(status: BookingStatus) -> bool:
    """Whether a booking in ``status`` may move to another session."""
    return status in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


class MoneyService:
    """Money use cases over the API."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    async def _post(self, path: str, body: dict[str, Any], intent: Intent) -> Any:
        return await self._client.post(path, body, idempotency_key=intent.key)

    async def refund(
        self,
        booking_id: uuid.UUID,
        amount: int,
        reason: str,
        method: str | None,
        intent: Intent,
    ) -> BookingDetail:
        """Give back ``amount`` minor units (to the card, or at the desk by ``method``)."""
        body = {"amount": amount, "reason": reason.strip(), "method": method}
        return BookingDetail.from_json(
            await self._post(f"/bookings/{booking_id}/refund", body, intent)
        )

    async def cancel(
        self, booking_id: uuid.UUID, request: CancelRequest, intent: Intent
    ) -> BookingDetail:
        """Cancel the booking, refunding all, part or none of what was paid."""
        data = await self._post(f"/bookings/{booking_id}/cancel", request.body(), intent)
        return BookingDetail.from_json(data)

    async def reschedule_options(
        self, booking_id: uuid.UUID, day: date, activity_id: uuid.UUID | None = None
    ) -> list[RescheduleOption]:
        """Sessions on ``day`` (of the same or another activity) with room for the party."""
        data = await self._client.get(
            f"/bookings/{booking_id}/reschedule-options",
            {"date": day.isoformat(), "activity_id": str(activity_id) if activity_id else None},
        )
        return [RescheduleOption.from_json(item) for item in data["items"]]

    async def reschedule(
        self, booking_id: uuid.UUID, request: RescheduleRequest, intent: Intent
    ) -> BookingDetail:
        """Move the booking to another session, settling the price difference."""
        data = await self._post(f"/bookings/{booking_id}/reschedule", request.body(), intent)
        return BookingDetail.from_json(data)

    async def mark_paid(
        self, booking_id: uuid.UUID, amount: int, method: str, intent: Intent
    ) -> BookingDetail:
        """Record money taken at the desk (at most the balance due)."""
        body = {"amount": amount, "method": method}
        data = await self._post(f"/bookings/{booking_id}/mark-paid", body, intent)
        return BookingDetail.from_json(data)

    async def quote(
        self,
        session_id: uuid.UUID,
        adults: int,
        children: int,
        promo_code: str | None = None,
    ) -> Quote:
        """The price the service would charge, and the seats left in the session."""
        data = await self._client.get(
            "/bookings/quote",
            {
                "session_id": str(session_id),
                "adults": adults,
                "children": children,
                "promo_code": (promo_code or "").strip() or None,
            },
        )
        return Quote(
            subtotal_amount=data["subtotal_amount"],
            discount_amount=data["discount_amount"],
            total_amount=data["total_amount"],
            currency=data["currency"],
            promo_code=data["promo_code"],
            remaining=data["remaining"],
        )

    async def create_booking(
        self, request: DeskBookingRequest, intent: Intent
    ) -> DeskBookingResult:
        """Take a desk booking and pay it now, by link, or on arrival."""
        data = await self._post("/bookings", request.body(), intent)
        return DeskBookingResult(BookingDetail.from_json(data), data.get("payment_link_url"))

    async def receipt(self, booking_id: uuid.UUID) -> bytes:
        """The booking's receipt as PDF bytes (the same the customer gets by email)."""
        return await self._client.get_bytes(f"/bookings/{booking_id}/receipt")
