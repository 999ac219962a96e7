"""The service's sync endpoints over HTTP: the change feed, the live stream, desk actions.

Failures come in three kinds the engine treats differently: :class:`Unreachable` (try
again later, with backoff), :class:`SignedOut` (the token is no longer accepted: stop
until someone signs in) and :class:`Refused` (the service said no to this request).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

API_PREFIX = "/api/v1/sync"


class Unreachable(Exception):
    """The service did not answer (down, unreachable, too slow, or failing with 5xx)."""


class Refused(Exception):
    """The service answered 4xx; ``message`` is its sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class SignedOut(Refused):
    """401: the token expired or was revoked."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long to wait: ``request`` for feed pages and actions, ``stream`` between two
    bytes of the live stream (the service pings every 15 s)."""

    connect: float = 5.0
    request: float = 30.0
    stream: float = 45.0


def _refusal(response: httpx.Response) -> Refused:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", f"The service answered {response.status_code}."
    kind = SignedOut if response.status_code == 401 else Refused
    return kind(response.status_code, code, message)


def _check(response: httpx.Response) -> None:
    if response.status_code >= 500:
        raise Unreachable(f"The service answered {response.status_code}.")
    if response.is_error:
        raise _refusal(response)


def decode(body: bytes) -> Any:
    """A JSON answer; :class:`Unreachable` when it was cut short on the way."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Unreachable("The service's answer was cut short.") from exc


_PAGE_END = b'"next_cursor":'


def page_end(body: bytes) -> tuple[int, bool] | None:
    """``(next_cursor, has_more)`` of a feed page read from its last bytes, without decoding
    the rows (the service frames them last); ``None`` when the body does not end that way."""
    start = body.rfind(_PAGE_END, max(len(body) - 200, 0))
    if start < 0:
        return None
    try:
        end = json.loads(b"{" + body[start:])
        return int(end["next_cursor"]), bool(end["has_more"])
    except (ValueError, KeyError, TypeError):
        return None


def parse_sse(lines: Sequence[str]) -> tuple[str, str] | None:
    """One event's lines (without the blank line) as ``(event, data)``; ``None`` for a
    comment-only block (a ping). The format of the HTML standard's ``text/event-stream``."""
    event, data = "message", []
    for line in lines:
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    return (event, "\n".join(data)) if data else None


class SyncApi:
    """One service's sync endpoints; ``token()`` gives the bearer token of each request."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str | None],
        *,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeouts = timeouts or Timeouts()
        self._http = httpx.AsyncClient(
            base_url=self.base_url + API_PREFIX,
            timeout=httpx.Timeout(self.timeouts.request, connect=self.timeouts.connect),
            transport=transport,
            headers={"User-Agent": "BookingTMS Desk sync"},
        )

    def _headers(self) -> dict[str, str]:
        token = self._token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _body(self, method: str, path: str, **kwargs: Any) -> bytes:
        try:
            response = await self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.HTTPError as exc:  # transport errors and timeouts
            raise Unreachable(str(exc) or type(exc).__name__) from exc
        _check(response)
        return response.content

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return decode(await self._body(method, path, **kwargs))

    async def changes_body(self, since: int, limit: int) -> bytes:
        """One page of the change feed after ``since``, as the JSON the service sent (for
        :func:`decode` off the event loop: a page is megabytes)."""
        return await self._body("GET", "/changes", params={"since": since, "limit": limit})

    async def changes(self, since: int, limit: int) -> dict[str, Any]:
        """One page of the change feed after ``since``."""
        return dict(decode(await self.changes_body(since, limit)))

    async def send_actions(
        self, device_id: str, actions: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Send actions in order; the service's result for each, in the same order."""
        body = {"device_id": device_id, "actions": list(actions)}
        return list((await self._call("POST", "/actions", json=body))["results"])

    async def stream(self) -> AsyncIterator[tuple[str, str]]:
        """The live stream's events as ``(event, data)`` until it ends or breaks
        (:class:`Unreachable`)."""
        timeout = httpx.Timeout(self.timeouts.stream, connect=self.timeouts.connect)
        try:
            async with self._http.stream(
                "GET", "/stream", headers=self._headers(), timeout=timeout
            ) as response:
                _check(response)
                block: list[str] = []
                async for line in response.aiter_lines():
                    if line:
                        block.append(line)
                        continue
                    event = parse_sse(block)
                    block = []
                    if event is not None:
                        yield event
        except httpx.HTTPError as exc:
            raise Unreachable(str(exc) or type(exc).__name__) from exc

    @staticmethod
    def cursor_of(data: str) -> int | None:
        """The cursor a ``cursor`` event announces, if it says one."""
        try:
            value = json.loads(data)["cursor"]
        except (ValueError, KeyError, TypeError):
            return None
        return value if isinstance(value, int) else None

    async def aclose(self) -> None:
        await self._http.aclose()
