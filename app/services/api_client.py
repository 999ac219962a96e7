"""The desk's one door to the sync service: JSON over HTTP with a bearer token.

Every failure becomes an :class:`ApiError` whose ``str()`` is a sentence for staff: the
service's own ``{"error": {"code", "message"}}``, or what went wrong on the way there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 15.0

ConnectionListener = Callable[[bool], None]


class ApiError(Exception):
    """The service refused a request or could not be reached; the message is for people."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details = details or {}


class ServiceUnavailable(ApiError):
    """The service did not answer: it is down, unreachable, or too slow."""


class SessionExpired(ApiError):
    """The token is no longer accepted (expired, revoked, or never valid): sign in again."""


def normalize_server_url(url: str) -> str:
    """``localhost:8000/`` → ``http://localhost:8000``: a scheme, no trailing slash."""
    url = url.strip().rstrip("/")
    if url and "://" not in url:
        url = f"http://{url}"
    return url


def _error_from(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
        error = body["error"]
        code, message = str(error["code"]), str(error["message"])
        details = {k: v for k, v in error.items() if k not in ("code", "message")}
    except (ValueError, KeyError, TypeError):
        code = "http_error"
        message = f"The service answered {response.status_code} {response.reason_phrase}."
        details = {}
    kind = SessionExpired if response.status_code == 401 else ApiError
    return kind(message, code=code, status=response.status_code, details=details)


class ApiClient:
    """An ``httpx.AsyncClient`` for one service URL, with the staff token once signed in."""

    def __init__(
        self,
        server_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server_url = normalize_server_url(server_url)
        self.token = token
        self.online: bool | None = None
        self._listeners: list[ConnectionListener] = []
        self._http = httpx.AsyncClient(
            base_url=self.server_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "BookingTMS Desk"},
        )

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Call ``listener(online)`` whenever reachability of the service changes."""
        self._listeners.append(listener)

    def set_online(self, online: bool) -> None:
        """Note whether the service is reachable, as something else found out (the sync
        engine's stream, say); listeners hear of a change."""
        self._set_online(online)

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            for listener in self._listeners:
                listener(online)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        prefix: str = API_PREFIX,
    ) -> Any:
        """Send one request; the decoded JSON answer (``None`` for 204) or :class:`ApiError`."""
        response = await self._send(method, path, params, json, idempotency_key, prefix)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get_bytes(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """The raw body of a GET (a PDF, say) or :class:`ApiError`."""
        response = await self._send("GET", path, params, None, None, API_PREFIX)
        return response.content

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        idempotency_key: str | None,
        prefix: str,
    ) -> httpx.Response:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ()}
        try:
            response = await self._http.request(
                method, prefix + path, params=clean, json=json, headers=headers
            )
        except httpx.TimeoutException as exc:
            self._set_online(False)
            raise ServiceUnavailable(
                f"The service at {self.server_url} did not answer in time.", code="timeout"
            ) from exc
        except httpx.TransportError as exc:
            self._set_online(False)
            raise ServiceUnavailable(
                f"Cannot reach the service at {self.server_url}. "
                "Check the address and that the service is running.",
                code="unreachable",
            ) from exc
        self._set_online(True)
        if response.is_error:
            error = _error_from(response)
            log.info("%s %s → %s %s", method, path, response.status_code, error.code)
            raise error
        return response

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None, *, idempotency_key: str | None = None) -> Any:
        return await self.request("POST", path, json=json, idempotency_key=idempotency_key)

    async def patch(self, path: str, json: Any) -> Any:
        return await self.request("PATCH", path, json=json)

    async def ping(self) -> bool:
        """Whether the service answers its health check (updates :attr:`online`)."""
        try:
            await self.request("GET", "/healthz", prefix="")
        except ServiceUnavailable:
            return False
        except ApiError:
            return True  # it answered, if oddly: reachable
        return True

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
