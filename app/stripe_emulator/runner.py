"""Starting and stopping the emulator: in the current event loop or in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Generator
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from app.stripe_emulator import runtime
from app.stripe_emulator.events import Delivery
from app.stripe_emulator.server import build_app
from app.stripe_emulator.state import EmulatorConfig, EmulatorState

T = TypeVar("T")


class EmulatorError(RuntimeError):
    """A helper call to the emulator failed; ``status`` and ``body`` are its answer."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else body
        super().__init__(f"Stripe emulator answered {status}: {message}")
        self.status = status
        self.body = body


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class EmulatorHandle:
    """A running emulator.  Use :attr:`url` as the Stripe API base address.

    Also an async context manager (``async with await start_emulator() as h``).
    """

    def __init__(self, state: EmulatorState, runner: web.AppRunner, host: str, port: int):
        self.state = state
        self.host = host
        self.port = port
        self._runner = runner
        self._stopped = False

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (pass as the SDK's api base)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery attempt so far."""
        return list(self.state.dispatcher.deliveries)

    async def stop(self) -> None:
        """Stop serving, cancel pending work and release localstripe's hooks."""
        if self._stopped:
            return
        self._stopped = True
        try:
            await self.state.stop()
            await self._runner.cleanup()
        finally:
            runtime.uninstall(self.state)

    async def _call(self, method: str, path: str, data: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.url + path, data=data) as response,
        ):
            text = await response.text()
            body: Any = text
            if response.content_type == "application/json":
                body = await response.json()
            if response.status >= 400:
                raise EmulatorError(response.status, body)
            return body

    async def register_webhook(
        self,
        url: str,
        secret: str,
        events: list[str] | None = None,
        *,
        connect: bool | None = None,
        endpoint_id: str = "default",
    ) -> str:
        """Register (or replace) a webhook endpoint; return its id.

        Wraps ``POST /_config/webhooks/{endpoint_id}``.  ``events`` limits the event types
        (``None`` = all); ``connect`` ``True``/``False`` limits to connected-account /
        platform events (``None`` = both).
        """
        form: list[tuple[str, str]] = [("url", url), ("secret", secret)]
        form += [("events[]", event) for event in events or []]
        if connect is not None:
            form.append(("connect", "true" if connect else "false"))
        await self._call("POST", f"/_config/webhooks/{endpoint_id}", form)
        return endpoint_id

    async def unregister_webhook(self, endpoint_id: str = "default") -> None:
        """Remove a webhook endpoint."""
        await self._call("DELETE", f"/_config/webhooks/{endpoint_id}")

    async def complete_checkout(
        self,
        session_id: str,
        outcome: str = "paid",
        *,
        email: str | None = None,
        name: str | None = None,
        phone: str | None = None,
        delay: float | None = None,
    ) -> dict[str, Any]:
        """Simulate the customer on Checkout; return the session as JSON.

        ``outcome``: ``paid``, ``declined``, ``delayed_success`` or ``delayed_failure``.
        ``delay`` overrides the configured settle delay of delayed outcomes.
        """
        form = {"outcome": outcome}
        extras = {"email": email, "name": name, "phone": phone}
        form.update({k: v for k, v in extras.items() if v is not None})
        if delay is not None:
            form["delay"] = str(delay)
        result: dict[str, Any] = await self._call(
            "POST", f"/_test/checkout/sessions/{session_id}/complete", form
        )
        return result

    async def expire_checkout(self, session_id: str) -> dict[str, Any]:
        """Expire a session as if its ``expires_at`` had passed (no API request id)."""
        result: dict[str, Any] = await self._call(
            "POST", f"/_test/checkout/sessions/{session_id}/expire"
        )
        return result

    async def wait_for_webhooks(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until delayed payments have settled and every queued webhook was sent.

        Raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            await self.state.settle()

    async def reset(self) -> None:
        """Forget all objects and idempotency keys (webhook endpoints stay)."""
        self.state.reset()

    async def __aenter__(self) -> EmulatorHandle:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def _start(host: str, port: int, config: EmulatorConfig) -> EmulatorHandle:
    state = EmulatorState(config)
    runtime.install(state, state.dispatcher)
    runner: web.AppRunner | None = None
    try:
        runner = web.AppRunner(build_app(state), access_log=None)
        await runner.setup()
        sock = _bind(host, port)
        site = web.SockSite(runner, sock)
        await site.start()
        await state.start()
        return EmulatorHandle(state, runner, host, sock.getsockname()[1])
    except BaseException:
        await state.stop()
        if runner is not None:
            await runner.cleanup()
        runtime.uninstall(state)
        raise


class EmulatorStarter:
    """What :func:`start_emulator` returns: await it, or use it with ``async with``."""

    def __init__(self, host: str, port: int, config: EmulatorConfig) -> None:
        self._args = (host, port, config)
        self._handle: EmulatorHandle | None = None

    def __await__(self) -> Generator[Any, None, EmulatorHandle]:
        return _start(*self._args).__await__()

    async def __aenter__(self) -> EmulatorHandle:
        self._handle = await _start(*self._args)
        return self._handle

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            await self._handle.stop()


def start_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    config: EmulatorConfig | None = None,
    **overrides: Any,
) -> EmulatorStarter:
    """Start the Stripe emulator in the running event loop.

    ``port=0`` picks a free port.  ``overrides`` are :class:`EmulatorConfig` fields (e.g.
    ``webhook_delay=0``).  Use ``handle = await start_emulator()`` (then
    ``await handle.stop()``) or ``async with start_emulator() as handle:``.
    """
    base = config or EmulatorConfig()
    return EmulatorStarter(host, port, replace(base, **overrides))


class ThreadedEmulatorHandle:
    """An emulator running in its own thread and event loop, driven by blocking calls.

    Do not call its methods from the emulator's own thread.  Also a context manager.
    """

    def __init__(
        self, handle: EmulatorHandle, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self.handle = handle
        self._loop = loop
        self._thread = thread

    @property
    def url(self) -> str:
        """Base URL of the emulator."""
        return self.handle.url

    def _run(self, coro: Any, timeout: float | None = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def register_webhook(
        self,
        url: str,
        secret: str,
        events: list[str] | None = None,
        *,
        connect: bool | None = None,
        endpoint_id: str = "default",
    ) -> str:
        """Blocking :meth:`EmulatorHandle.register_webhook`."""
        result: str = self._run(
            self.handle.register_webhook(
                url, secret, events, connect=connect, endpoint_id=endpoint_id
            )
        )
        return result

    def complete_checkout(
        self, session_id: str, outcome: str = "paid", **details: Any
    ) -> dict[str, Any]:
        """Blocking :meth:`EmulatorHandle.complete_checkout`."""
        result: dict[str, Any] = self._run(
            self.handle.complete_checkout(session_id, outcome, **details)
        )
        return result

    def expire_checkout(self, session_id: str) -> dict[str, Any]:
        """Blocking :meth:`EmulatorHandle.expire_checkout`."""
        result: dict[str, Any] = self._run(self.handle.expire_checkout(session_id))
        return result

    def wait_for_webhooks(self, timeout: float = 10.0) -> None:
        """Blocking :meth:`EmulatorHandle.wait_for_webhooks`."""
        self._run(self.handle.wait_for_webhooks(timeout), timeout + 5)

    def reset(self) -> None:
        """Blocking :meth:`EmulatorHandle.reset`."""
        self._run(self.handle.reset())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the emulator and join its thread."""
        if not self._thread.is_alive():
            return
        try:
            self._run(self.handle.stop(), timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> ThreadedEmulatorHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_emulator_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    config: EmulatorConfig | None = None,
    start_timeout: float = 10.0,
    **overrides: Any,
) -> ThreadedEmulatorHandle:
    """Start the emulator in a daemon thread with its own event loop; block until ready.

    Meant for the demo (uvicorn in the main thread, the emulator beside it) and for
    synchronous tests.  Returns a handle with ``.url`` and blocking ``.stop()``.
    """
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    outcome: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            outcome["handle"] = loop.run_until_complete(
                _start(host, port, replace(config or EmulatorConfig(), **overrides))
            )
        except BaseException as exc:
            outcome["error"] = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=serve, name="stripe-emulator", daemon=True)
    thread.start()
    if not ready.wait(start_timeout):
        raise TimeoutError("the Stripe emulator did not start in time")
    if "error" in outcome:
        raise outcome["error"]
    return ThreadedEmulatorHandle(outcome["handle"], loop, thread)
