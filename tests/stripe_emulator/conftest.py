"""Fixtures: an in-process Stripe emulator, a webhook receiver, and a Stripe SDK client."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import stripe
from aiohttp import web

from app.stripe_emulator import EmulatorHandle, start_emulator

WEBHOOK_SECRET = "whsec_test_emulator_secret"
API_KEY = "sk_test_emulator"


@dataclass
class WebhookReceiver:
    """A tiny aiohttp server on 127.0.0.1 that verifies and records Stripe webhooks."""

    secret: str
    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    raw: list[tuple[bytes, str]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.read()
        signature = request.headers.get("Stripe-Signature", "")
        self.raw.append((payload, signature))
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            self.rejected.append(str(exc))
            return web.Response(status=400)
        assert event["object"] == "event"
        self.events.append(json.loads(payload))
        return web.Response(text="ok")

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]

    def clear(self) -> None:
        self.events.clear()
        self.raw.clear()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    recv = WebhookReceiver(WEBHOOK_SECRET)
    app = web.Application()
    app.router.add_post("/webhooks/stripe", recv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recv.url = f"http://127.0.0.1:{port}/webhooks/stripe"
    yield recv
    await runner.cleanup()


@pytest.fixture
async def emulator(receiver: WebhookReceiver) -> AsyncIterator[EmulatorHandle]:
    async with start_emulator(
        webhook_delay=0,
        webhook_retries=0,
        async_payment_delay=0.05,
        expiry_check_interval=0.2,
    ) as handle:
        await handle.register_webhook(receiver.url, WEBHOOK_SECRET)
        yield handle


@asynccontextmanager
async def sdk_client(url: str) -> AsyncIterator[stripe.StripeClient]:
    """A stripe SDK client (async-capable via httpx) pointed at the emulator."""
    http_client = stripe.HTTPXClient()
    try:
        yield stripe.StripeClient(
            API_KEY,
            base_addresses={"api": url},
            http_client=http_client,
            max_network_retries=0,
        )
    finally:
        await http_client.close_async()
        http_client.close()


@contextmanager
def sync_sdk_client(url: str) -> Iterator[stripe.StripeClient]:
    """A blocking stripe SDK client (requests) pointed at the emulator."""
    http_client = stripe.RequestsClient()
    try:
        yield stripe.StripeClient(
            API_KEY, base_addresses={"api": url}, http_client=http_client, max_network_retries=0
        )
    finally:
        http_client.close()


@pytest.fixture
async def client(emulator: EmulatorHandle) -> AsyncIterator[stripe.StripeClient]:
    async with sdk_client(emulator.url) as sdk:
        yield sdk


@pytest.fixture
def make_client() -> Any:
    """``async with make_client(url) as client`` for tests running their own emulator."""
    return sdk_client


@pytest.fixture
def make_sync_client() -> Any:
    """``with make_sync_client(url) as client`` (blocking SDK) for threaded emulators."""
    return sync_sdk_client


def _session_params(**overrides: Any) -> dict[str, Any]:
    """Parameters of a typical BookingTMS Checkout Session (2 × 25.00 EUR)."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 2500,
                    "product_data": {"name": "Escape room — 18:00"},
                },
                "quantity": 2,
            }
        ],
        "metadata": {"booking_id": "bk_123", "venue_id": "v_1"},
        "client_reference_id": "bk_123",
        "customer_email": "guest@example.com",
        "success_url": "http://127.0.0.1:9/done?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:9/cancel",
        "expires_at": int(time.time()) + 45 * 60,
        "payment_method_types": ["card"],
    }
    params.update(overrides)
    return params


@pytest.fixture
def session_params() -> Any:
    """Factory: ``session_params(**overrides)`` → Checkout Session create params."""
    return _session_params
