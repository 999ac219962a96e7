"""The door: answering a scanned or typed booking number, and today's arrivals."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time

from app.domain.booking_numbers import normalize_booking_number
from app.domain.checkin import CheckInResult, decide
from app.domain.lifecycle import Action, BookingStatus
from app.services.auth import Identity
from app.services.bookings import (
    ActionRefused,
    BookingDetail,
    BookingFilter,
    BookingRow,
    BookingsService,
)
from app.sync.door import DoorResult
from app.sync.engine import SyncEngine

ARRIVED_STATUSES = frozenset({BookingStatus.CHECKED_IN, BookingStatus.COMPLETED})
EXPECTED_STATUSES = (BookingStatus.CONFIRMED, *ARRIVED_STATUSES)
UNKNOWN_PULL_SECONDS = 2.0


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
    """The door, answered from the cache (online or not); check-ins are queued."""

    def __init__(self, bookings: BookingsService, sync: SyncEngine, identity: Identity) -> None:
        self._bookings = bookings
        self._sync = sync
        self._identity = identity

    async def scan(
        self,
        text: str,
        *,
        timezone: str,
        today: date,
        guests_arrived: int | None = None,
        override_unpaid: bool = False,
    ) -> ScanAnswer:
        """Check in the booking with this number when it may enter; say why not otherwise.

        ``timezone`` and ``today`` are the organization's; the booking's own venue decides.
        """
        number = normalize_booking_number(text)
        if number is None:
            # Not even shaped like a booking number: nothing to look up.
            answer = decide(None, today, timezone)
            return ScanAnswer(answer.result, answer.message, None)
        result = await self._scan(number, guests_arrived, override_unpaid)
        if result.booking is None and self._sync.online:
            # A booking made a moment ago elsewhere may not have reached this desk yet.
            await self._sync.pull_now(UNKNOWN_PULL_SECONDS)
            result = await self._scan(number, guests_arrived, override_unpaid)
        booking = None
        if result.booking is not None:
            booking = await self._bookings.cached(uuid.UUID(result.booking["id"]))
        return ScanAnswer(result.answer.result, result.answer.message, booking)

    async def _scan(
        self, number: str, guests_arrived: int | None, override_unpaid: bool
    ) -> DoorResult:
        return await self._sync.scan(
            number,
            staff_name=self._identity.name,
            staff_id=str(self._identity.user_id),
            guests_arrived=guests_arrived,
            override_unpaid=override_unpaid,
        )

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
        """Record how many of a checked-in party are here so far: at once here, queued for
        the service (it works offline, as check-in does)."""
        booking = await self._bookings.cached(booking_id)
        if booking is None:
            raise ActionRefused("This booking is not in the desk's copy.", code="unknown")
        if booking.status is not BookingStatus.CHECKED_IN:
            raise ActionRefused(
                "Guests arrived can only be recorded for a checked-in booking.",
                code="invalid_transition",
            )
        if not 1 <= guests <= booking.party_size:
            raise ActionRefused(
                f"Guests arrived must be between 1 and {booking.party_size}.", code="invalid"
            )
        return await self._bookings.queue_action(
            "guests_arrived", booking_id, guests_arrived=guests
        )
