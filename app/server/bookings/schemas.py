"""Bodies of the booking endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import EmailStr, Field, field_validator, model_validator

from app.server.core.schemas import RequestBody, ResponseBody
from app.server.core.validation import normalise_phone


class BookingRead(ResponseBody):
    """A row of the bookings list."""

    id: uuid.UUID
    booking_number: str
    status: str
    payment_status: str
    source: str
    activity_id: uuid.UUID
    activity_name: str
    session_id: uuid.UUID
    customer_id: uuid.UUID | None
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    booking_date: date
    start_time: time
    end_time: time
    party_size: int
    adult_count: int
    child_count: int
    guests_arrived: int
    currency: str
    total_amount: int
    amount_paid: int
    refunded_amount: int
    balance_due: int
    checked_in_at: datetime | None
    attention_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class BookingPage(ResponseBody):
    items: list[BookingRead]
    next_cursor: str | None


class BookingEventRead(ResponseBody):
    id: int
    at: datetime
    kind: str
    actor_type: str
    actor_name: str
    from_status: str | None
    to_status: str | None
    message: str
    data: dict[str, Any]


class PaymentRead(ResponseBody):
    id: uuid.UUID
    provider: str
    method: str
    status: str
    amount: int
    refunded_amount: int
    currency: str
    stripe_payment_intent_id: str | None
    created_at: datetime


class RefundRead(ResponseBody):
    id: uuid.UUID
    provider: str
    origin: str
    method: str | None
    status: str
    amount: int
    currency: str
    reason: str
    created_at: datetime


class BookingDetail(BookingRead):
    """Everything about one booking, with its timeline and money movements."""

    venue_id: uuid.UUID
    adult_unit_amount: int
    child_unit_amount: int
    subtotal_amount: int
    discount_amount: int
    promo_code: str | None
    special_requests: str
    notes: str
    expires_at: datetime | None
    confirmed_at: datetime | None
    checked_in_by: uuid.UUID | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    checked_in_by_name: str | None
    payment_link_url: str | None
    refundable_amount: int
    events: list[BookingEventRead]
    payments: list[PaymentRead]
    refunds: list[RefundRead]


class DeskPayment(RequestBody):
    """How a desk booking is paid: now at the desk, by a link sent by e-mail, or later."""

    mode: Literal["pay_at_desk", "payment_link", "unpaid"] = "unpaid"
    method: Literal["cash", "card_terminal"] | None = None
    amount: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _method_for_desk(self) -> DeskPayment:
        if self.mode == "pay_at_desk" and self.method is None:
            raise ValueError("say how the booking is paid at the desk: cash or card_terminal")
        if self.mode != "pay_at_desk" and (self.method or self.amount):
            raise ValueError("method and amount go with mode 'pay_at_desk'")
        return self


class DeskBookingCreate(RequestBody):
    """A booking taken at the desk: confirmed at once (or once its payment link is paid)."""

    session_id: uuid.UUID
    adult_count: int = Field(ge=0, le=500)
    child_count: int = Field(default=0, ge=0, le=500)
    customer_id: uuid.UUID | None = None
    email: EmailStr | None = None
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    special_requests: str = Field(default="", max_length=2000)
    source: Literal["admin", "walk_in", "phone"] = "admin"
    promo_code: str | None = Field(default=None, max_length=40)
    payment: DeskPayment = Field(default_factory=DeskPayment)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None

    @model_validator(mode="after")
    def _customer(self) -> DeskBookingCreate:
        if self.customer_id is None and (self.email is None or self.first_name is None):
            raise ValueError("choose a customer (customer_id) or give email and first_name")
        return self


class QuoteRead(ResponseBody):
    """What a party would pay in a session, and the seats left there."""

    subtotal_amount: int
    discount_amount: int
    total_amount: int
    currency: str
    promo_code: str | None
    remaining: int


class CheckInRequest(RequestBody):
    guests_arrived: int | None = Field(default=None, ge=1, le=1000)
    override_unpaid: bool = False


class GuestsArrivedRequest(RequestBody):
    guests_arrived: int = Field(ge=1, le=1000)


class BookingStatsRead(ResponseBody):
    today: int
    this_week: int
    revenue: int
    currency: str
    revenue_from: date
    revenue_to: date
