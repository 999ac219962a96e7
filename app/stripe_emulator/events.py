"""Stripe events and signed webhook delivery.

Every event — whether raised by localstripe's own code (``payment_intent.succeeded``,
``customer.created`` …) or by the emulator's extensions (``checkout.session.completed``,
``charge.refunded`` …) — goes through one :class:`WebhookDispatcher`.  It turns
localstripe's bare ``Event`` into Stripe's full shape (``api_version``, ``request``,
``pending_webhooks``, ``account`` for Connect) and delivers events to the registered
endpoints **one at a time, in creation order**, each POST signed exactly like Stripe:
``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
from localstripe.resources import Event

logger = logging.getLogger(__name__)

WEBHOOK_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
_EVENT_KEY_ORDER = (
    "id",
    "object",
    "account",
    "api_version",
    "created",
    "data",
    "livemode",
    "pending_webhooks",
    "request",
    "type",
)


class _Unset(enum.Enum):
    """Marker type: "no explicit account given, use the request context's"."""

    TOKEN = 0


UNSET = _Unset.TOKEN


@dataclass(frozen=True)
class RequestContext:
    """What Stripe records about the API request that caused an event.

    ``request_id``/``idempotency_key`` are ``None`` for automatic events (a session
    timing out, a bank transfer settling, a customer paying on the hosted page).
    ``account`` is the connected account (``Stripe-Account`` header) if any.
    """

    request_id: str | None = None
    idempotency_key: str | None = None
    account: str | None = None


_NO_REQUEST = RequestContext()
_current_context: ContextVar[RequestContext | None] = ContextVar(
    "stripe_emulator_request_context", default=None
)


def current_context() -> RequestContext:
    """Return the request context of the code currently running."""
    return _current_context.get() or _NO_REQUEST


@contextlib.contextmanager
def use_context(context: RequestContext) -> Iterator[None]:
    """Run a block as if caused by ``context`` (events created inside carry it)."""
    token = _current_context.set(context)
    try:
        yield
    finally:
        _current_context.reset(token)


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return a ``Stripe-Signature`` header value for ``payload``.

    The signature is ``HMAC-SHA256(secret, "<timestamp>.<payload>")`` in hex, which is
    what ``stripe.Webhook.construct_event`` verifies.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    signed = f"{ts}.".encode() + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


@dataclass
class WebhookEndpoint:
    """A registered webhook endpoint.

    ``events`` ``None`` (or containing ``"*"``) means every event type.  ``connect``
    ``None`` receives every event; ``True`` only events of connected accounts (a Stripe
    "Connect" endpoint); ``False`` only events of the platform account itself.
    """

    id: str
    url: str
    secret: str
    events: list[str] | None = None
    connect: bool | None = None

    def wants(self, event_type: str, account: str | None) -> bool:
        """Whether this endpoint subscribes to an event of ``event_type`` for ``account``."""
        if self.connect is True and account is None:
            return False
        if self.connect is False and account is not None:
            return False
        return self.events is None or "*" in self.events or event_type in self.events


@dataclass
class Delivery:
    """One delivery attempt of an event to an endpoint (kept for debugging and tests)."""

    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    attempt: int
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Pending:
    event: Any
    targets: list[WebhookEndpoint]
    ready_at: float


@dataclass
class WebhookSettings:
    """Delivery tuning: ``delay`` before sending (Stripe sends within about a second),
    per-request ``timeout``, and ``retries`` with exponential ``retry_backoff``."""

    delay: float = 1.0
    timeout: float = 10.0
    retries: int = 3
    retry_backoff: float = 0.5


class WebhookDispatcher:
    """Shapes events like Stripe and delivers them, in order, to registered endpoints."""

    def __init__(self, api_version: str, settings: WebhookSettings | None = None) -> None:
        self.api_version = api_version
        self.settings = settings or WebhookSettings()
        self.endpoints: dict[str, WebhookEndpoint] = {}
        self.deliveries: list[Delivery] = []
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    # -- endpoints -----------------------------------------------------------------

    def register(self, endpoint: WebhookEndpoint) -> None:
        """Add or replace an endpoint (same id replaces, like localstripe)."""
        self.endpoints[endpoint.id] = endpoint

    def unregister(self, endpoint_id: str) -> bool:
        """Remove an endpoint; return whether it existed."""
        return self.endpoints.pop(endpoint_id, None) is not None

    # -- events --------------------------------------------------------------------

    def emit(
        self,
        event_type: str,
        obj: Any,
        *,
        account: str | _Unset | None = UNSET,
        previous_attributes: dict[str, Any] | None = None,
    ) -> Any:
        """Create a Stripe event about ``obj`` (a localstripe object) and queue it.

        ``account`` defaults to the current request context's connected account.
        """
        event = Event(event_type, obj)
        self.adopt(event, account=account, previous_attributes=previous_attributes)
        return event

    def adopt(
        self,
        event: Any,
        *,
        account: str | _Unset | None = UNSET,
        previous_attributes: dict[str, Any] | None = None,
    ) -> None:
        """Complete a localstripe ``Event`` to Stripe's shape and queue its delivery."""
        context = current_context()
        acct = context.account if account is UNSET else account
        event.api_version = self.api_version
        event.data = copy.deepcopy(event.data)
        if previous_attributes:
            event.data["previous_attributes"] = copy.deepcopy(previous_attributes)
        event.request = {"id": context.request_id, "idempotency_key": context.idempotency_key}
        if acct:
            event.account = acct
        targets = [e for e in self.endpoints.values() if e.wants(event.type, acct)]
        event.pending_webhooks = len(targets)
        loop_time = asyncio.get_running_loop().time()
        self._queue.put_nowait(_Pending(event, targets, loop_time + self.settings.delay))

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Start the delivery worker (call from the emulator's event loop)."""
        if self._worker is None:
            self._http = aiohttp.ClientSession()
            self._worker = asyncio.create_task(self._run(), name="stripe-emulator-webhooks")

    async def stop(self) -> None:
        """Stop delivering; undelivered events are dropped."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def drain(self) -> None:
        """Wait until every queued event has been delivered (or given up on)."""
        await self._queue.join()

    # -- delivery ------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pending = await self._queue.get()
            try:
                wait = pending.ready_at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                for endpoint in pending.targets:
                    await self._deliver(pending.event, endpoint)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("webhook delivery of %s crashed", pending.event.id)
            finally:
                self._queue.task_done()

    async def _deliver(self, event: Any, endpoint: WebhookEndpoint) -> None:
        assert self._http is not None
        payload = json.dumps(event_payload(event), indent=2).encode("utf-8")
        attempts = 1 + max(0, self.settings.retries)
        for attempt in range(1, attempts + 1):
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": WEBHOOK_USER_AGENT,
                "Cache-Control": "no-cache",
                "Stripe-Signature": sign_payload(payload, endpoint.secret),
            }
            record = Delivery(event.id, event.type, endpoint.id, endpoint.url, attempt, None)
            try:
                async with self._http.post(
                    endpoint.url,
                    data=payload,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                ) as response:
                    record.status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                record.error = f"{type(exc).__name__}: {exc}"
            self.deliveries.append(record)
            if record.ok:
                event.pending_webhooks = max(0, event.pending_webhooks - 1)
                logger.info("webhook %s %s -> %s", event.type, event.id, record.status)
                return
            logger.warning(
                "webhook %s %s to %s failed (attempt %d): %s",
                event.type,
                event.id,
                endpoint.url,
                attempt,
                record.error or record.status,
            )
            if attempt < attempts:
                await asyncio.sleep(self.settings.retry_backoff * 2 ** (attempt - 1))


def event_payload(event: Any) -> dict[str, Any]:
    """Return ``event`` as Stripe's JSON object, keys in Stripe's order."""
    exported: dict[str, Any] = event._export()
    ordered = {key: exported[key] for key in _EVENT_KEY_ORDER if key in exported}
    ordered.update({k: v for k, v in exported.items() if k not in ordered})
    return ordered


# -- the process-wide active dispatcher ---------------------------------------------
#
# localstripe keeps its data in a module-level store, so only one emulator can run per
# process; its code reaches the dispatcher through this module.

_active: WebhookDispatcher | None = None


def set_active_dispatcher(dispatcher: WebhookDispatcher | None) -> None:
    """Make ``dispatcher`` the one receiving this process's events (``None`` to clear)."""
    global _active
    _active = dispatcher


def active_dispatcher() -> WebhookDispatcher | None:
    """Return the running emulator's dispatcher, if any."""
    return _active


def emit(
    event_type: str,
    obj: Any,
    *,
    account: str | _Unset | None = UNSET,
    previous_attributes: dict[str, Any] | None = None,
) -> Any:
    """Emit an event through the active dispatcher (no-op without a running emulator)."""
    dispatcher = _active
    if dispatcher is None:
        return None
    return dispatcher.emit(
        event_type, obj, account=account, previous_attributes=previous_attributes
    )


def adopt_localstripe_event(event: Any) -> None:
    """Replacement for localstripe's ``schedule_webhook``: route its events to us."""
    dispatcher = _active
    if dispatcher is not None:
        dispatcher.adopt(event)
