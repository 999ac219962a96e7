"""Bodies of the checkout and verify endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr, Field, field_validator

from app.server.core.schemas import RequestBody, ResponseBody
from app.server.core.validation import normalise_phone


class CheckoutCustomer(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=40)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else None


class CheckoutCreate(RequestBody):
    """The booking widget's request to pay for seats."""

    session_id: uuid.UUID
    adults: int = Field(ge=0, le=100)
    children: int = Field(default=0, ge=0, le=100)
    customer: CheckoutCustomer
    promo_code: str | None = Field(default=None, max_length=40)
    special_requests: str = Field(default="", max_length=1000)


class CheckoutCreated(ResponseBody):
    booking_id: uuid.UUID
    booking_number: str
    status: str
    checkout_session_id: str | None
    checkout_url: str | None
    expires_at: datetime | None
    subtotal_amount: int
    discount_amount: int
    total_amount: int
    currency: str


class CheckoutVerified(ResponseBody):
    """What the success page shows."""

    booking_number: str
    status: str
    payment_status: str
    message: str
    activity_name: str
    venue_name: str
    starts_at: datetime
    party_size: int
    adult_count: int
    child_count: int
    currency: str
    total_amount: int
    amount_paid: int
    contact_name: str
    contact_email: str | None
