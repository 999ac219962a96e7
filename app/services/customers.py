"""Customers at the desk: search with segment counts, detail with history, edits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.domain.segmentation import Segment
from app.services.api_client import ApiClient
from app.services.bookings import BookingRow

PAGE_SIZE = 100
STATUSES = ("active", "inactive", "blocked")


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer as the list shows it; money in minor units of the organization."""

    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str | None
    total_bookings: int
    total_spent: int
    average_booking_value: int
    lifetime_value: int
    segment: Segment
    first_booking_date: date | None
    last_booking_date: date | None
    status: str
    notes: str
    created_at: datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @staticmethod
    def fields_from_json(data: dict[str, Any]) -> dict[str, Any]:
        def day(value: str | None) -> date | None:
            return date.fromisoformat(value) if value else None

        return {
            "id": uuid.UUID(data["id"]),
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "email": data["email"],
            "phone": data["phone"],
            "total_bookings": data["total_bookings"],
            "total_spent": data["total_spent"],
            "average_booking_value": data["average_booking_value"],
            "lifetime_value": data["lifetime_value"],
            "segment": Segment(data["segment"]),
            "first_booking_date": day(data["first_booking_date"]),
            "last_booking_date": day(data["last_booking_date"]),
            "status": data["status"],
            "notes": data["notes"],
            "created_at": datetime.fromisoformat(data["created_at"]),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CustomerRow:
        return cls(**cls.fields_from_json(data))

    def summary(self) -> CustomerRow:
        """Just the list row (a :class:`CustomerDetail` narrowed back to its row)."""
        fields = CustomerRow.__dataclass_fields__
        return CustomerRow(**{name: getattr(self, name) for name in fields})


@dataclass(frozen=True, slots=True)
class CustomerDetail(CustomerRow):
    """A customer with their booking history, newest first."""

    bookings: tuple[BookingRow, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CustomerDetail:
        return cls(
            **CustomerRow.fields_from_json(data),
            bookings=tuple(BookingRow.from_json(b) for b in data["bookings"]),
        )


@dataclass(frozen=True, slots=True)
class CustomerPage:
    """A page of customers, the count matching the search, and every segment's size."""

    items: list[CustomerRow]
    total: int
    segments: dict[Segment, int]

    @property
    def everyone(self) -> int:
        return sum(self.segments.values())


@dataclass(frozen=True, slots=True)
class CustomerSearch:
    q: str = ""
    segment: Segment | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerChanges:
    """Edits to a customer; ``None`` leaves a field as it is."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None
    status: str | None = None

    def body(self) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in CustomerChanges.__dataclass_fields__}
        return {name: value for name, value in values.items() if value is not None}


class CustomersService:
    """Customer use cases over the API."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    async def page(
        self, search: CustomerSearch, offset: int = 0, limit: int = PAGE_SIZE
    ) -> CustomerPage:
        """Customers matching ``search``, by name, from ``offset``."""
        data = await self._client.get(
            "/customers",
            {
                "q": search.q.strip() or None,
                "segment": search.segment.value if search.segment else None,
                "status": search.status,
                "limit": limit,
                "offset": offset,
            },
        )
        return CustomerPage(
            items=[CustomerRow.from_json(c) for c in data["items"]],
            total=data["total"],
            segments={s: data["segments"].get(s.value, 0) for s in Segment},
        )

    async def get(self, customer_id: uuid.UUID) -> CustomerDetail:
        """One customer with their booking history."""
        return CustomerDetail.from_json(await self._client.get(f"/customers/{customer_id}"))

    async def update(self, customer_id: uuid.UUID, changes: CustomerChanges) -> CustomerDetail:
        """Save contact details, notes or status."""
        data = await self._client.patch(f"/customers/{customer_id}", changes.body())
        return CustomerDetail.from_json(data)
