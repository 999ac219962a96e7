"""One LISTEN connection per service process, fanned out to the desks' change streams.

Postgres sends ``bookingtms_changes`` notices at commit (see migration 0005), to every
listening connection of every service instance. The notifier keeps one autocommit psycopg
connection listening, reconnects it when it drops (Postgres restarted, backend killed), and
hands each notice to the subscriptions of its organization. Notices sent while it was
reconnecting are lost, so after a reconnect every subscription is told to look the newest
cursor up itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

CHANNEL = "bookingtms_changes"
APPLICATION_NAME = "bookingtms-change-listener"


class Subscription:
    """Notices for one organization, coalesced: a slow reader gets the newest, not a backlog.

    ``next()`` returns a cursor, or ``None`` when notices may have been missed (the listener
    reconnected) and the reader should look the newest cursor up.
    """

    def __init__(self, notifier: ChangeNotifier, organization_id: uuid.UUID) -> None:
        self.organization_id = organization_id
        self._notifier = notifier
        self._cursor: int | None = None
        self._resync = False
        self._ready = asyncio.Event()
        self.closed = False

    def offer(self, cursor: int | None) -> None:
        """Keep ``cursor`` (or a resync when ``None``) for the next ``next()``."""
        if cursor is None:
            self._resync = True
        else:
            self._cursor = cursor if self._cursor is None else max(self._cursor, cursor)
        self._ready.set()

    async def next(self) -> int | None:
        """Wait for the next notice of this organization."""
        while self._cursor is None and not self._resync:
            if self.closed:
                raise StreamClosed
            self._ready.clear()
            await self._ready.wait()
        cursor, resync = self._cursor, self._resync
        self._cursor, self._resync = None, False
        return None if resync else cursor

    def close(self) -> None:
        """Stop receiving; a waiting ``next()`` raises :class:`StreamClosed`."""
        self.closed = True
        self._ready.set()
        self._notifier.unsubscribe(self)


class StreamClosed(Exception):
    """The notifier stopped (the service is shutting down)."""


def libpq_conninfo(database_url: str) -> str:
    """The libpq form of a SQLAlchemy URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class ChangeNotifier:
    """The service's listener on ``bookingtms_changes``; start and stop with the app."""

    def __init__(
        self,
        database_url: str,
        *,
        health_check_seconds: float = 30.0,
        retry_seconds: tuple[float, float] = (0.05, 5.0),
    ) -> None:
        self._conninfo = libpq_conninfo(database_url)
        self._health_check_seconds = health_check_seconds
        self._retry_first, self._retry_max = retry_seconds
        self._subscriptions: dict[uuid.UUID, set[Subscription]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.connects = 0  # successful LISTENs so far

    @classmethod
    async def started(cls, database_url: str) -> ChangeNotifier:
        """A notifier on ``database_url``, already listening (for the app's lifespan)."""
        notifier = cls(database_url)
        await notifier.start()
        return notifier

    async def start(self, *, wait_seconds: float = 5.0) -> None:
        """Start listening; waits (a while) for the first LISTEN so no early notice is lost."""
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="bookingtms-change-listener"
        )
        try:
            await asyncio.wait_for(self._listening.wait(), wait_seconds)
        except TimeoutError:
            log.warning("change listener not connected yet; desks' streams start without it")

    async def stop(self) -> None:
        """Stop listening and end every open stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for subscriptions in list(self._subscriptions.values()):
            for subscription in list(subscriptions):
                subscription.close()

    def subscribe(self, organization_id: uuid.UUID) -> Subscription:
        """A subscription to ``organization_id``'s notices; ``close()`` it when done."""
        subscription = Subscription(self, organization_id)
        self._subscriptions[organization_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscriptions = self._subscriptions.get(subscription.organization_id)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.organization_id]

    def publish(self, organization_id: uuid.UUID, cursor: int | None) -> None:
        """Hand a notice to the organization's subscriptions (``None``: look it up)."""
        for subscription in self._subscriptions.get(organization_id, ()):
            subscription.offer(cursor)

    def _dispatch(self, payload: str) -> None:
        try:
            notice = json.loads(payload)
            organization_id = uuid.UUID(notice["organization_id"])
            cursor = int(notice["cursor"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed change notice: %.200r", payload)
            return
        self.publish(organization_id, cursor)

    async def _run(self) -> None:
        delay = self._retry_first
        while True:
            connects = self.connects
            try:
                await self._listen()
            except (psycopg.Error, OSError, TimeoutError) as exc:
                log.warning("change listener lost its connection (%s); reconnecting", exc)
            finally:
                self._listening.clear()
            if self.connects != connects:  # it was up: retry soon, then back off
                delay = self._retry_first
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, application_name=APPLICATION_NAME
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.connects += 1
            self._listening.set()
            if self.connects > 1:
                for organization_id in list(self._subscriptions):
                    self.publish(organization_id, None)
            while True:
                async for notice in conn.notifies(timeout=self._health_check_seconds):
                    self._dispatch(notice.payload)
                # Quiet for a while: make sure the connection is still alive (a dead peer
                # behind a firewall sends no reset); notices meanwhile are kept by psycopg.
                await asyncio.wait_for(conn.execute("SELECT 1"), self._health_check_seconds)
