"""Bodies of the customer endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import EmailStr, Field, field_validator

from app.server.bookings.schemas import BookingRead
from app.server.core.schemas import RequestBody, ResponseBody
from app.server.core.validation import normalise_phone


class CustomerRead(ResponseBody):
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str | None
    total_bookings: int
    total_spent: int
    average_booking_value: int
    lifetime_value: int
    segment: str
    first_booking_date: date | None
    last_booking_date: date | None
    last_activity_date: date | None
    created_via: str
    status: str
    notes: str
    sms_opt_in: bool
    metadata: dict[str, Any] = Field(validation_alias="metadata_")
    created_at: datetime
    updated_at: datetime


class CustomerPage(ResponseBody):
    items: list[CustomerRead]
    total: int
    segments: dict[str, int]


class CustomerDetail(CustomerRead):
    bookings: list[BookingRead]


class CustomerUpdate(RequestBody):
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    notes: str | None = Field(default=None, max_length=10_000)
    status: Literal["active", "inactive", "blocked"] | None = None
    sms_opt_in: bool | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value) if value else value


class CustomerMerge(RequestBody):
    keep_id: uuid.UUID
    merge_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
