"""Customers at the desk: search with segment counts, detail with history, edits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from app.domain.segmentation import Segment
from app.services.api_client import ApiClient
from app.services.bookings import READ_YOUR_WRITE_SECONDS, BookingRow
from app.sync import queries
from app.sync.engine import SyncEngine

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
    """Customer use cases: the list and the detail from the cache; edits over the API."""

    def __init__(self, client: ApiClient, sync: SyncEngine) -> None:
        self._client = client
        self._sync = sync

    async def page(
        self, search: CustomerSearch, offset: int = 0, limit: int = PAGE_SIZE
    ) -> CustomerPage:
        """Customers matching ``search``, by name, from ``offset``."""
        query = queries.CustomerQuery(
            q=search.q,
            segment=search.segment.value if search.segment else None,
            status=search.status,
        )

        def read(conn: Connection) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
            rows, total = queries.customers(conn, query, offset=offset, limit=limit)
            return rows, total, queries.segment_counts(conn)

        rows, total, segments = await self._sync.read(read)
        return CustomerPage(
            items=[CustomerRow.from_json(c) for c in rows],
            total=total,
            segments={s: segments.get(s.value, 0) for s in Segment},
        )

    async def rows(self, ids: Iterable[uuid.UUID | str]) -> list[CustomerRow]:
        """The cached list rows of these customers."""
        wanted = [str(i) for i in ids]
        found = await self._sync.read(lambda conn: queries.customers_by_id(conn, wanted))
        return [CustomerRow.from_json(c) for c in found]

    async def get(self, customer_id: uuid.UUID) -> CustomerDetail:
        """One customer with their booking history."""

        def read(conn: Connection) -> dict[str, Any] | None:
            row = queries.customer(conn, str(customer_id))
            if row is None:
                return None
            return {**row, "bookings": queries.customer_bookings(conn, str(customer_id))}

        cached = await self._sync.read(read)
        if cached is not None:
            return CustomerDetail.from_json(cached)
        return CustomerDetail.from_json(await self._client.get(f"/customers/{customer_id}"))

    async def update(self, customer_id: uuid.UUID, changes: CustomerChanges) -> CustomerDetail:
        """Save contact details, notes or status (needs the service)."""
        data = await self._client.patch(f"/customers/{customer_id}", changes.body())
        # The lists show the edit at once (the feed brings it a moment later otherwise).
        await self._sync.pull_now(READ_YOUR_WRITE_SECONDS)
        return CustomerDetail.from_json(data)
