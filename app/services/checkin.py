"""The door: answering a scanned or typed booking number, and today's arrivals."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time

from app.domain.booking_numbers import normalize_booking_number
from app.domain.checkin import CheckInResult, decide
from app.domain.lifecycle import Action, BookingStatus
from app.services.api_client import ApiClient
from app.services.bookings import BookingDetail, BookingFilter, BookingRow, BookingsService

ARRIVED_STATUSES = frozenset({BookingStatus.CHECKED_IN, BookingStatus.COMPLETED})
EXPECTED_STATUSES = (BookingStatus.CONFIRMED, *ARRIVED_STATUSES)


@dataclass(frozen=True, slots=True)
class ScanAnswer:
    """The verdict at the door, in DESIGN.md's vocabulary, with the booking when known."""

    result: CheckInResult
    message: str
    booking: BookingDetail | None


@dataclass(frozen=True, slots=True)
class ArrivalGroup:
    """The bookings of one session start time, with how many guests are in so far."""

    start_time: time
    bookings: tuple[BookingRow, ...]

    @property
    def expected(self) -> int:
        return sum(b.party_size for b in self.bookings)

    @property
    def arrived(self) -> int:
        return sum(b.guests_arrived for b in self.bookings if b.status in ARRIVED_STATUSES)


class CheckInService:
    """Check-in use cases over the API."""

    def __init__(self, client: ApiClient, bookings: BookingsService) -> None:
        self._client = client
        self._bookings = bookings

    async def scan(
        self,
        text: str,
        *,
        timezone: str,
        today: date,
        guests_arrived: int | None = None,
        override_unpaid: bool = False,
    ) -> ScanAnswer:
        """Check in the booking with this number when it may enter; say why not otherwise."""
        number = normalize_booking_number(text)
        if number is None:
            # Not even shaped like a booking number: no need to ask the service.
            answer = decide(None, today, timezone)
            return ScanAnswer(answer.result, answer.message, None)
        data = await self._client.post(
            "/checkins",
            {
                "booking_number": number,
                "guests_arrived": guests_arrived,
                "override_unpaid": override_unpaid,
            },
        )
        booking = BookingDetail.from_json(data["booking"]) if data["booking"] else None
        return ScanAnswer(CheckInResult(data["result"]), data["message"], booking)

    async def arrivals(self, today: date) -> list[ArrivalGroup]:
        """Today's expected bookings grouped by session start time."""
        rows = await self._bookings.all(
            BookingFilter(date_from=today, date_to=today, statuses=EXPECTED_STATUSES)
        )
        groups: dict[time, list[BookingRow]] = defaultdict(list)
        for row in rows:
            groups[row.start_time].append(row)
        return [
            ArrivalGroup(start, tuple(sorted(items, key=lambda b: b.customer_name.lower())))
            for start, items in sorted(groups.items())
        ]

    async def undo(self, booking_id: uuid.UUID) -> BookingDetail:
        """Take back a check-in made today."""
        return await self._bookings.perform(Action.UNDO_CHECK_IN, booking_id)

    async def set_guests_arrived(self, booking_id: uuid.UUID, guests: int) -> BookingDetail:
        """Record how many of the party are here so far."""
        return await self._bookings.set_guests_arrived(booking_id, guests)
