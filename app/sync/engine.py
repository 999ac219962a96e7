"""The desk's sync engine: keeps the cache up to date and sends queued actions.

Four tasks run while the engine is started:

- the *stream* listens to ``/sync/stream``; each notice of a newer cursor asks for a pull.
  It reconnects with exponential backoff and full jitter.
- the *puller* pages through ``/sync/changes`` into the cache until caught up.
- the *replayer* sends queued actions in order, in batches, and records the answers.
- the *poller* asks for a pull (and a replay) now and then, so a missed notice or a
  stalled stream delays the desk by one period at most.

No Qt here: the desk registers a listener and receives :class:`SyncEvent` values on the
event loop's thread. Blocking cache work runs in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection
from tenacity import AsyncRetrying, retry_if_exception_type, wait_random_exponential

from app.sync import actions as local_actions
from app.sync import conflicts, door, feed
from app.sync.cache import Cache
from app.sync.remote import Refused, SignedOut, SyncApi, Unreachable, decode, page_end

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
# A fetched feed page: its next cursor, whether it is the last one, and its rows decoding.
_Fetched = tuple[int, bool, "asyncio.Future[dict[str, Any]]"]


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """Tuning of the engine; the defaults suit a desk on a venue's network."""

    page_size: int = 5000  # rows per feed page (the service allows up to 5,000)
    batch_size: int = 500  # actions per POST (the most the service allows)
    poll_seconds: float = 30.0  # pull anyway this often
    backoff_first: float = 0.5  # first pause after a failure (then doubling, jittered)
    backoff_max: float = 30.0


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows."""

    online: bool | None = None  # None: not known yet
    offline_since: datetime | None = None
    waiting: int = 0  # actions not yet answered by the service
    conflicts: int = 0  # entries needing attention
    first_sync_done: bool = False
    signed_out: bool = False


@dataclass(frozen=True, slots=True)
class CacheChanged:
    """Rows changed in the cache (from the feed, a local action or an answer)."""

    bookings: frozenset[str] = frozenset()
    customers: frozenset[str] = frozenset()
    catalog: bool = False  # activities or sessions


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a pull is: ``rows`` written so far towards cursor ``target`` (if known)."""

    rows: int
    cursor: int
    target: int | None
    done: bool


@dataclass(frozen=True, slots=True)
class StatusChanged:
    status: SyncStatus


SyncEvent = CacheChanged | Progress | StatusChanged
Listener = Callable[[SyncEvent], None]


@dataclass
class _Wanted:
    """A request for work, and a counter of requests the work has covered."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    asked: int = 0
    done: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def ask(self) -> int:
        self.asked += 1
        self.event.set()
        return self.asked

    async def finished(self, covered: int) -> None:
        async with self.changed:
            self.done = max(self.done, covered)
            self.changed.notify_all()

    async def wait_for(self, ticket: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.done >= ticket)


class SyncEngine:
    """The cache of one organization at one service, kept in sync while started."""

    def __init__(
        self,
        cache: Cache,
        api: SyncApi,
        *,
        timezone: str,
        options: SyncOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.cache = cache
        self.api = api
        self.timezone = timezone
        self.options = options or SyncOptions()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._pull = _Wanted()
        self._replay = _Wanted()
        self._wake = asyncio.Event()
        self._target: int | None = None
        self._cursor = 0  # where the cache is in the feed, as of the last page written
        with cache.read() as conn:
            done = Cache.get_meta(conn, "first_sync_done") == "1"
            self._cursor = Cache.cursor_in(conn)
            self.status = SyncStatus(
                waiting=local_actions.waiting(conn),
                conflicts=conflicts.count_open(conn),
                first_sync_done=done,
            )

    # Listeners and status -----------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every :class:`SyncEvent` (on the loop's thread)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _emit(self, event: SyncEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not stop the sync
                log.exception("sync listener failed")

    def _update(self, **changes: Any) -> None:
        status = replace(self.status, **changes)
        if status != self.status:
            self.status = status
            self._emit(StatusChanged(status))

    def set_online(self, online: bool) -> None:
        """Note whether the service answers (the engine's calls, or the desk's own)."""
        if online == self.status.online:
            return
        if online:
            self._update(online=True, offline_since=None)
            self._wake_up()
            self.request_pull()
            self.request_replay()
        else:
            self._update(online=False, offline_since=self.status.offline_since or self._clock())

    @property
    def online(self) -> bool:
        return bool(self.status.online)

    # Life cycle ---------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start syncing on ``loop`` (default: the running one): pull first, then follow
        the stream. The tasks run whenever the loop does."""
        if self._tasks:
            return
        loop = loop or asyncio.get_running_loop()
        for work in (self._stream_loop, self._pull_loop, self._replay_loop, self._poll_loop):
            self._tasks.append(loop.create_task(work(), name=f"sync {work.__name__}"))
        self.request_pull()
        self.request_replay()

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def stop(self) -> None:
        """Stop the tasks and close the connections (the cache file keeps the queue)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.api.aclose()
        await asyncio.to_thread(self.cache.close)

    # Reading and writing the cache --------------------------------------------------------

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(conn)`` on a snapshot of the cache, off the loop's thread."""

        def run() -> T:
            with self.cache.read() as conn:
                return work(conn)

        return await asyncio.to_thread(run)

    async def _write(self, work: Callable[[Connection], T], *, durable: bool = True) -> T:
        def run() -> T:
            with self.cache.write(durable=durable) as conn:
                return work(conn)

        return await asyncio.to_thread(run)

    async def _refresh_counts(self) -> None:
        waiting, open_conflicts = await self.read(
            lambda conn: (local_actions.waiting(conn), conflicts.count_open(conn))
        )
        self._update(waiting=waiting, conflicts=open_conflicts)

    async def queue(self, action: local_actions.DeskAction) -> dict[str, Any]:
        """Apply ``action`` to the cache at once and queue it for the service; the booking
        as it is now (:class:`ValueError` when its lifecycle refuses it)."""
        offline = not self.online
        row = await self._write(lambda conn: local_actions.enqueue(conn, action, offline=offline))
        self._after_local_change(action.booking_id)
        return row

    async def scan(
        self,
        text: str,
        *,
        staff_name: str,
        staff_id: str | None,
        override_unpaid: bool = False,
        guests_arrived: int | None = None,
    ) -> door.DoorResult:
        """Answer a booking number at the door from the cache; an ``ok`` is queued."""
        offline, now = not self.online, self._clock()
        result = await self._write(
            lambda conn: door.scan(
                conn,
                text,
                now=now,
                staff_name=staff_name,
                staff_id=staff_id,
                fallback_timezone=self.timezone,
                offline=offline,
                override_unpaid=override_unpaid,
                guests_arrived=guests_arrived,
            )
        )
        if result.action_id is not None and result.booking is not None:
            self._after_local_change(result.booking["id"])
        return result

    def _after_local_change(self, booking_id: str) -> None:
        self._update(waiting=self.status.waiting + 1)
        self._emit(CacheChanged(bookings=frozenset({booking_id})))
        self.request_replay()

    async def dismiss(self, conflict_id: int) -> None:
        """Take an entry off the "Needs attention" list."""
        await self._write(lambda conn: conflicts.dismiss(conn, conflict_id, self._clock()))
        await self._refresh_counts()

    # Pulling the feed ---------------------------------------------------------------------

    def request_pull(self) -> int:
        """Ask for a pull soon; a ticket for :meth:`pulled`."""
        return self._pull.ask()

    async def pulled(self, ticket: int) -> None:
        """Wait until a pull asked for at ``ticket`` (or later) has finished."""
        await self._pull.wait_for(ticket)

    async def pull_now(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        """Pull and wait for it (up to ``timeout``); whether it finished in time."""
        ticket = self.request_pull()
        try:
            async with asyncio.timeout(timeout):
                await self.pulled(ticket)
        except TimeoutError:
            return False
        return True

    async def _pull_loop(self) -> None:
        while True:
            await self._pull.event.wait()
            self._pull.event.clear()
            covering = self._pull.asked
            try:
                await self._pull_until_caught_up()
            except Unreachable as exc:
                log.info("pull stopped: %s", exc)
                self.set_online(False)
                continue  # the stream's reconnection or the poller asks again
            except SignedOut:
                self._update(signed_out=True)
                continue
            except Refused as exc:
                log.warning("the service refused the feed: %s", exc.message)
                if exc.code == "invalid_cursor":
                    await self._write(feed.start_over)
                    self._cursor = 0
                    self._pull.event.set()
                continue
            except Exception:  # keep syncing whatever one page did
                log.exception("pull failed")
                await asyncio.sleep(self.options.backoff_max)
                continue
            await self._pull.finished(covering)

    async def _pull_until_caught_up(self) -> None:
        """Page through the feed until caught up. The next pages are fetched (and decoded,
        off the loop) while this one is written; an empty cache is filled without its
        indexes (see ``feed``)."""
        since, bulk = await self.read(
            lambda conn: (Cache.cursor_in(conn), feed.bulk_fill_wanted(conn))
        )
        if bulk:
            await self._write(feed.begin_bulk_fill, durable=False)
        pages: asyncio.Queue[_Fetched | BaseException] = asyncio.Queue(maxsize=2)
        fetching = asyncio.ensure_future(self._fetch_pages(since, pages))
        rows = 0
        try:
            while True:
                fetched = await pages.get()
                if isinstance(fetched, BaseException):
                    raise fetched
                next_cursor, done, decoding = fetched
                page = await decoding
                self.set_online(True)
                applied = await self._write(
                    functools.partial(self._apply, page=page, done=done, bulk=bulk),
                    durable=False,
                )
                rows += applied.rows
                self._pulled(applied, rows, next_cursor, done)
                if done:
                    await self._refresh_counts()
                    return
        finally:
            fetching.cancel()
            while not pages.empty():  # decodings already under way are not waited for
                left = pages.get_nowait()
                if not isinstance(left, BaseException):
                    left[2].cancel()

    async def _fetch_pages(
        self, since: int, pages: asyncio.Queue[_Fetched | BaseException]
    ) -> None:
        """Fetch pages one after the other into ``pages``, each as soon as the previous one's
        cursor is known (from its last bytes: the rows are decoded meanwhile, in a thread);
        a failure is put in the queue last."""
        try:
            while True:
                body = await self.api.changes_body(since, self.options.page_size)
                decoding = asyncio.ensure_future(asyncio.to_thread(decode, body))
                end = page_end(body)
                if end is None:  # framed otherwise: the whole page says where it ends
                    page = await decoding
                    end = int(page["next_cursor"]), bool(page["has_more"])
                since, more = end
                await pages.put((since, not more, decoding))
                if not more:
                    return
        except Exception as exc:  # handed over to the writing side, which raises it
            await pages.put(exc)

    def _apply(
        self, conn: Connection, *, page: dict[str, Any], done: bool, bulk: bool
    ) -> feed.PageApplied:
        applied = feed.apply_page(conn, page["changes"], int(page["next_cursor"]))
        if done and bulk:
            feed.end_bulk_fill(conn)
        if done and not self.status.first_sync_done:
            Cache.set_meta(conn, "first_sync_done", "1")
        return applied

    def _pulled(self, applied: feed.PageApplied, rows: int, cursor: int, done: bool) -> None:
        self._cursor = cursor
        if self._target is not None and cursor > self._target:
            self._target = cursor
        if done and not self.status.first_sync_done:
            self._update(first_sync_done=True)
        self._emit(Progress(rows, cursor, self._target, done))
        if not applied.empty:
            self._emit(
                CacheChanged(
                    bookings=frozenset(applied.bookings),
                    customers=frozenset(applied.customers),
                    catalog=applied.activities or applied.sessions,
                )
            )

    # The live stream ----------------------------------------------------------------------

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            wait=wait_random_exponential(
                multiplier=self.options.backoff_first, max=self.options.backoff_max
            ),
            retry=retry_if_exception_type(Unreachable),
            sleep=self._nap,
        )

    def _wake_up(self) -> None:
        # Ends the backoff pauses under way (not later ones): the service is back, or an
        # action waits to be sent.
        self._wake.set()
        self._wake = asyncio.Event()

    async def _nap(self, seconds: float) -> None:
        wake = self._wake
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()

    async def _stream_loop(self) -> None:
        while True:
            try:
                async for attempt in self._retrying():
                    with attempt:
                        await self._listen()
                # It ended after it had started (the service restarting, say): a short
                # pause, jittered so that desks do not all come back at once.
                await self._nap(random.uniform(0, self.options.backoff_first * 2))
            except SignedOut:
                self._update(signed_out=True)
                await asyncio.sleep(self.options.backoff_max)
            except Refused as exc:
                log.warning("the service refused the stream: %s", exc.message)
                await asyncio.sleep(self.options.backoff_max)
            except Exception:
                log.exception("stream failed")
                await asyncio.sleep(self.options.backoff_max)

    async def _listen(self) -> None:
        """Follow the stream until it ends; :class:`Unreachable` when it never started.

        A stream that broke after it had started returns normally, so the next attempt
        starts with a short pause again.
        """
        connected = False
        try:
            async for event, data in self.api.stream():
                if not connected:
                    connected = True
                    self.set_online(True)
                if event != "cursor":
                    continue
                cursor = SyncApi.cursor_of(data)
                if cursor is None:
                    continue
                self._target = max(self._target or 0, cursor)
                if cursor > self._cursor:  # else: the cache has it already
                    self.request_pull()
        except Unreachable as exc:
            log.info("stream broke: %s", exc)
            self.set_online(False)
            if not connected:
                raise
        else:
            if not connected:
                raise Unreachable("The stream ended before its first event.")

    # Replaying queued actions -------------------------------------------------------------

    def request_replay(self) -> int:
        """Ask for the queue to be sent soon; a ticket for :meth:`replayed`."""
        self._wake_up()
        return self._replay.ask()

    async def replayed(self, ticket: int) -> None:
        """Wait until a replay asked for at ``ticket`` (or later) has emptied the queue."""
        await self._replay.wait_for(ticket)

    async def flush(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109
        """Send the queue now and wait for the answers (up to ``timeout``); whether every
        action was answered."""
        ticket = self.request_replay()
        try:
            async with asyncio.timeout(timeout):
                await self.replayed(ticket)
        except TimeoutError:
            return False
        return self.status.waiting == 0

    async def _replay_loop(self) -> None:
        while True:
            await self._replay.event.wait()
            self._replay.event.clear()
            covering = self._replay.asked
            try:
                async for attempt in self._retrying():
                    with attempt:
                        await self._send_queue()
            except SignedOut:
                self._update(signed_out=True)
                continue
            except Exception:  # the queue stays; try again later
                log.exception("replay failed")
                await asyncio.sleep(self.options.backoff_max)
                self._replay.event.set()
                continue
            await self._replay.finished(covering)

    async def _send_queue(self) -> None:
        while True:
            batch = await self.read(
                lambda conn: local_actions.queued(conn, self.options.batch_size)
            )
            if not batch:
                await self._refresh_counts()
                return
            try:
                results = await self.api.send_actions(
                    self.cache.device_id, [_wire(a) for a in batch]
                )
            except Unreachable:
                self.set_online(False)
                raise
            except SignedOut:
                raise
            except Refused as exc:
                results = await self._isolate(batch, exc)
            self.set_online(True)
            await self._record(batch, results)

    async def _isolate(self, batch: list[dict[str, Any]], refusal: Refused) -> list[dict[str, Any]]:
        """A batch the service refused as a whole: send its actions one by one, so one bad
        action becomes one entry and the others go through."""
        if len(batch) == 1:
            log.warning("the service refused action %s: %s", batch[0]["id"], refusal.message)
            return [
                {"id": batch[0]["id"], "outcome": conflicts.REJECTED, "code": refusal.code,
                 "message": refusal.message, "at": None, "by": None, "cursor": None}
            ]  # fmt: skip
        results = []
        for action in batch:
            try:
                results += await self.api.send_actions(self.cache.device_id, [_wire(action)])
            except Refused as exc:
                if isinstance(exc, SignedOut):
                    raise
                results += await self._isolate([action], exc)
        return results

    async def _record(self, batch: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        now = self._clock()
        touched, _added = await self._write(
            lambda conn: conflicts.record(conn, batch, results, timezone=self.timezone, now=now)
        )
        await self._refresh_counts()
        if touched:
            self._emit(CacheChanged(bookings=frozenset(touched)))
        if any(r["outcome"] == conflicts.APPLIED for r in results) or touched:
            self.request_pull()

    # Polling ------------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.poll_seconds)
            self.request_pull()
            if self.status.waiting:
                self.request_replay()


def _wire(action: dict[str, Any]) -> dict[str, Any]:
    """A queued action as ``POST /sync/actions`` takes it: it stays the work of whoever did
    it, whoever is signed in when it goes out (no staff id: the sender's)."""
    wire = {
        "id": action["id"],
        "kind": action["kind"],
        "booking_id": action["booking_id"],
        "happened_at": action["happened_at"],
        "guests_arrived": action["guests_arrived"],
        "override_unpaid": bool(action["override_unpaid"]),
        "note": action["note"],
    }
    if action["staff_id"]:
        wire["performed_by"] = action["staff_id"]
    return wire
