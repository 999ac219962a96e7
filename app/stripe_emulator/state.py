"""Configuration and per-emulator state (webhooks, idempotency keys, background tasks)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from localstripe.resources import store

from app.stripe_emulator.checkout import all_sessions, refresh_expiry
from app.stripe_emulator.events import WebhookDispatcher, WebhookSettings
from app.stripe_emulator.idempotency import IdempotencyStore

logger = logging.getLogger(__name__)

FALLBACK_API_VERSION = "2026-10-28.endive"


def default_api_version() -> str:
    """The API version pinned by the installed ``stripe`` SDK (what events will carry)."""
    try:
        import stripe
    except ImportError:  # pragma: no cover - stripe is a project dependency
        return FALLBACK_API_VERSION
    return str(getattr(stripe, "api_version", FALLBACK_API_VERSION))


@dataclass
class EmulatorConfig:
    """Tunables of an emulator instance.

    * ``webhook_delay`` — seconds between an event and its delivery (localstripe: 1 s;
      use 0 in tests).
    * ``webhook_timeout``/``webhook_retries``/``webhook_retry_backoff`` — delivery of one
      event to one endpoint: per-attempt timeout, extra attempts on failure, first backoff
      (doubling).
    * ``async_payment_delay`` — seconds before a ``delayed_success``/``delayed_failure``
      payment settles.
    * ``expiry_check_interval`` — how often open sessions past ``expires_at`` are expired.
    * ``copy_session_metadata_to_payment_intent`` — put the session's ``metadata`` on the
      PaymentIntent it creates (merged under ``payment_intent_data[metadata]``).  **Real
      Stripe does not do this**; set ``False`` to behave exactly like Stripe.
    * ``api_version`` — ``api_version`` stamped on events (default: the stripe SDK's).
    """

    webhook_delay: float = 1.0
    webhook_timeout: float = 10.0
    webhook_retries: int = 3
    webhook_retry_backoff: float = 0.5
    async_payment_delay: float = 2.0
    expiry_check_interval: float = 1.0
    copy_session_metadata_to_payment_intent: bool = True
    api_version: str | None = None


class EmulatorState:
    """Everything one running emulator owns besides localstripe's global store."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.dispatcher = WebhookDispatcher(
            config.api_version or default_api_version(),
            WebhookSettings(
                delay=config.webhook_delay,
                timeout=config.webhook_timeout,
                retries=config.webhook_retries,
                retry_backoff=config.webhook_retry_backoff,
            ),
        )
        self.idempotency = IdempotencyStore()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; :meth:`settle` waits for it, :meth:`stop` cancels."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("stripe emulator background task failed", exc_info=task.exception())

    async def start(self) -> None:
        """Start webhook delivery and the session-expiry sweeper."""
        await self.dispatcher.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="stripe-emulator-expiry")

    async def stop(self) -> None:
        """Cancel background work and stop webhook delivery."""
        tasks = [*self._tasks, *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._sweeper = None
        await self.dispatcher.stop()

    async def settle(self) -> None:
        """Wait for pending delayed payments, then for every queued webhook delivery.

        Bound it with ``asyncio.timeout``.
        """
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        await self.dispatcher.drain()

    def reset(self) -> None:
        """Forget every object and idempotency key (webhook endpoints are kept)."""
        store.clear()
        self.idempotency.clear()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.config.expiry_check_interval)
            try:
                for session in all_sessions():
                    refresh_expiry(session)
            except Exception:
                logger.exception("stripe emulator expiry sweep failed")


STATE_KEY = web.AppKey("stripe_emulator_state", EmulatorState)
