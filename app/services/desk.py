"""Everything the signed-in desk uses, built once per sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.domain.lifecycle import local_today
from app.services.api_client import ApiClient
from app.services.auth import Identity
from app.services.bookings import BookingsService
from app.services.checkin import CheckInService
from app.services.customers import CustomersService


@dataclass(frozen=True)
class DeskServices:
    """The signed-in identity and the use cases, over one API client."""

    client: ApiClient
    identity: Identity
    bookings: BookingsService
    checkin: CheckInService
    customers: CustomersService

    @classmethod
    def over(cls, client: ApiClient, identity: Identity) -> DeskServices:
        bookings = BookingsService(client)
        return cls(
            client=client,
            identity=identity,
            bookings=bookings,
            checkin=CheckInService(client, bookings),
            customers=CustomersService(client),
        )

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        """Today at the venue."""
        return local_today(self.identity.timezone)
