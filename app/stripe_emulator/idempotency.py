"""``Idempotency-Key`` support, kept in memory, following Stripe's documented rules.

* The first POST with a key runs normally; its status and body are saved (24 h).
* The same key with the same endpoint and parameters replays the saved response with
  ``Idempotent-Replayed: true`` (and ``Original-Request: <request id>``).
* The same key with other parameters or another endpoint is refused with a 400
  ``idempotency_error``; while the first request is still running, with a 409.
* As on Stripe, nothing is saved when the request never started executing: parameter
  validation errors (400), authentication (401), missing objects (404), conflicts (409)
  and rate limits (429) can be retried with the same key.

Keys are scoped by API key and ``Stripe-Account``, like Stripe scopes them by account.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from localstripe.errors import UserError

from app.stripe_emulator._localstripe import server as ls_server
from app.stripe_emulator.errors import StripeError
from app.stripe_emulator.events import current_context
from app.stripe_emulator.params import read_params

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_NOT_SAVED = frozenset({400, 401, 404, 409, 429})
MAX_KEY_LENGTH = 255


@dataclass
class SavedResponse:
    """A response remembered for an idempotency key."""

    endpoint: str
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    saved_at: float


class IdempotencyStore:
    """In-memory idempotency keys with Stripe's 24-hour lifetime and a size cap."""

    def __init__(self, ttl: float = 24 * 3600, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._saved: OrderedDict[tuple[str, str, str], SavedResponse] = OrderedDict()
        self._in_flight: set[tuple[str, str, str]] = set()

    def __len__(self) -> int:
        return len(self._saved)

    def clear(self) -> None:
        """Forget every key."""
        self._saved.clear()

    def get(self, scope: tuple[str, str, str]) -> SavedResponse | None:
        """Return the saved response for ``scope`` unless expired."""
        saved = self._saved.get(scope)
        if saved is not None and time.time() - saved.saved_at > self.ttl:
            del self._saved[scope]
            return None
        return saved

    def try_begin(self, scope: tuple[str, str, str]) -> bool:
        """Mark ``scope`` as executing; ``False`` if another request already is."""
        if scope in self._in_flight:
            return False
        self._in_flight.add(scope)
        return True

    def finish(self, scope: tuple[str, str, str]) -> None:
        """Mark ``scope`` as no longer executing."""
        self._in_flight.discard(scope)

    def put(self, scope: tuple[str, str, str], saved: SavedResponse) -> None:
        """Remember ``saved`` for ``scope`` (evicting the oldest past the cap)."""
        self._saved[scope] = saved
        while len(self._saved) > self.max_entries:
            self._saved.popitem(last=False)


def _fingerprint(params: dict[str, object]) -> str:
    canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


async def _run(handler: Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except UserError as exc:
        response: web.StreamResponse = exc.to_response()
        return response


def make_idempotency_middleware(
    store: IdempotencyStore,
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Build the aiohttp middleware honouring ``Idempotency-Key`` on POST requests."""

    @web.middleware
    async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key or request.path.startswith("/_config/"):
            return await handler(request)
        if len(key) > MAX_KEY_LENGTH:
            raise StripeError(
                400,
                f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                error_type="idempotency_error",
            )
        scope = (
            ls_server.get_api_key(request) or "",
            request.headers.get("Stripe-Account", ""),
            key,
        )
        endpoint = f"{request.method} {request.path}"
        fingerprint = _fingerprint(await read_params(request))

        saved = store.get(scope)
        if saved is not None:
            if saved.endpoint != endpoint:
                raise StripeError(
                    400,
                    "Keys for idempotent requests can only be used for the same endpoint "
                    f"they were first used for ('{saved.endpoint}' vs '{endpoint}'). Try "
                    f"using a key other than '{key}' if you meant to execute a different "
                    "request.",
                    error_type="idempotency_error",
                )
            if saved.fingerprint != fingerprint:
                raise StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                    error_type="idempotency_error",
                )
            replay = web.Response(
                body=saved.body,
                status=saved.status,
                content_type="application/json",
                charset="utf-8",
            )
            replay.headers["Idempotency-Key"] = key
            replay.headers["Idempotent-Replayed"] = "true"
            replay.headers["Original-Request"] = saved.request_id
            return replay

        if not store.try_begin(scope):
            raise StripeError(
                409,
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still "
                f"going through): {key}. Please try again later.",
                error_type="idempotency_error",
            )
        try:
            response = await _run(handler, request)
        finally:
            store.finish(scope)

        body = response.body if isinstance(response, web.Response) else None
        if isinstance(body, bytes) and response.status not in _NOT_SAVED:
            store.put(
                scope,
                SavedResponse(
                    endpoint=endpoint,
                    fingerprint=fingerprint,
                    status=response.status,
                    body=body,
                    request_id=current_context().request_id or "",
                    saved_at=time.time(),
                ),
            )
        response.headers["Idempotency-Key"] = key
        return response

    return idempotency_middleware
