"""The whole system over real HTTP: the service (uvicorn, with its job worker) on the test
database, the Stripe emulator delivering signed webhooks to it, and httpx as the widget."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import stripe

from app.server.core.settings import Settings
from app.server.payments.stripe_gateway import StripeGateway
from app.stripe_emulator import ThreadedEmulatorHandle, run_emulator_in_thread
from tests.factories import Org, make_org
from tests.live_server import live_server

WEBHOOK_SECRET = "whsec_" + secrets.token_hex(24)
STRIPE_KEY = "sk_test_" + secrets.token_hex(12)
T = TypeVar("T")


@pytest.fixture(scope="module")
def emulator() -> Iterator[ThreadedEmulatorHandle]:
    # Real Stripe does not copy a session's metadata to its PaymentIntent; the service
    # must send payment_intent_data[metadata] itself.
    with run_emulator_in_thread(
        webhook_delay=0, async_payment_delay=0.2, copy_session_metadata_to_payment_intent=False
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def settings(database_url: str, emulator: ThreadedEmulatorHandle) -> Settings:
    return Settings(
        database_url=database_url,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=emulator.url,
        public_url="http://widget.example",
        run_jobs=True,
        db_pool_size=20,
    )


@pytest.fixture(scope="module")
def service(
    settings: Settings, database_url: str, emulator: ThreadedEmulatorHandle
) -> Iterator[str]:
    with live_server(settings, database_url) as url:
        emulator.register_webhook(f"{url}/api/v1/webhooks/stripe", WEBHOOK_SECRET)
        yield url


@pytest.fixture
async def http(service: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service, timeout=30) as client:
        yield client


@pytest.fixture
def gateway(emulator: ThreadedEmulatorHandle) -> StripeGateway:
    return StripeGateway(STRIPE_KEY, emulator.url)


@pytest.fixture
def stripe_client(emulator: ThreadedEmulatorHandle) -> stripe.StripeClient:
    return stripe.StripeClient(
        STRIPE_KEY, base_addresses={"api": emulator.url}, http_client=stripe.HTTPXClient()
    )


@pytest.fixture
async def org(db) -> Org:  # type: ignore[no-untyped-def]
    return await make_org(db)


async def eventually(
    probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within: float = 15.0
) -> T:
    """Poll ``probe`` until ``ok`` holds for its answer (webhooks and jobs are asynchronous)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if ok(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still not there after {within}s: {value!r}")
        await asyncio.sleep(0.1)


def checkout_body(
    session_id: Any, adults: int = 2, children: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "session_id": str(session_id),
        "adults": adults,
        "children": children,
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "(312) 555-0142"},
        **extra,
    }
