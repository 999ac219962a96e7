"""Everything the signed-in desk uses, built once per sign-in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from app.domain.lifecycle import local_today
from app.services.api_client import ApiClient
from app.services.auth import Identity
from app.services.bookings import BookingsService
from app.services.checkin import CheckInService
from app.services.customers import CustomersService
from app.services.money import MoneyService
from app.services.outbox import OutboxService
from app.sync import conflicts
from app.sync.cache import Cache
from app.sync.engine import StatusChanged, SyncEngine, SyncEvent, SyncOptions
from app.sync.paths import cache_path
from app.sync.remote import SyncApi
from app.sync.upgrades import CacheTooNew

__all__ = ["CacheTooNew", "DeskServices"]


@dataclass(frozen=True)
class DeskServices:
    """The signed-in identity and the use cases, over one API client and the desk's cache
    of the organization (kept in sync by :attr:`sync` once started)."""

    client: ApiClient
    identity: Identity
    sync: SyncEngine
    bookings: BookingsService
    checkin: CheckInService
    customers: CustomersService
    money: MoneyService
    outbox: OutboxService

    @classmethod
    def over(
        cls,
        client: ApiClient,
        identity: Identity,
        *,
        data_dir: Path | None = None,
        options: SyncOptions | None = None,
    ) -> DeskServices:
        """The services of ``identity`` at ``client``'s service; the cache lives under
        ``data_dir`` (default: the user's data directory)."""
        cache = Cache(cache_path(client.server_url, identity.organization_id, data_dir))
        api = SyncApi(client.server_url, lambda: client.token)
        sync = SyncEngine(cache, api, timezone=identity.timezone, options=options)
        bookings = BookingsService(client, sync, identity)
        services = cls(
            client=client,
            identity=identity,
            sync=sync,
            bookings=bookings,
            checkin=CheckInService(bookings, sync, identity),
            customers=CustomersService(client, sync),
            money=MoneyService(client),
            outbox=OutboxService(client),
        )
        # One idea of "reachable" for the whole desk: what the engine sees, and what the
        # desk's own requests see.
        sync.add_listener(services._sync_status)
        client.add_connection_listener(sync.set_online)
        return services

    def _sync_status(self, event: SyncEvent) -> None:
        if isinstance(event, StatusChanged) and event.status.online is not None:
            self.client.set_online(event.status.online)

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start keeping the cache in sync and sending queued actions (on ``loop``)."""
        self.sync.start(loop)

    def refresh(self) -> None:
        """Ask the service for what changed now (and send what waits); failing marks the
        desk offline."""
        self.sync.request_pull()
        self.sync.request_replay()

    async def needs_attention(self) -> list[conflicts.Conflict]:
        """Actions the service did not apply as asked, newest first."""
        return await self.sync.read(conflicts.open_entries)

    async def dismiss(self, conflict_id: int) -> None:
        """Take an entry off the "Needs attention" list."""
        await self.sync.dismiss(conflict_id)

    async def aclose(self) -> None:
        """Stop syncing (the queue stays in the cache file) and close the connections."""
        await self.sync.stop()
        await self.client.aclose()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        """Today at the venue."""
        return local_today(self.identity.timezone)
