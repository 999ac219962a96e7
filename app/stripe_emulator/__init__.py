"""A local Stripe emulator for tests and the demo: localstripe, extended in-process.

localstripe serves customers, payment methods, payment intents, charges, refunds,
products, events …; this package runs its aiohttp routes in-process on 127.0.0.1 (a free
port by default, no pickle file) and adds what BookingTMS needs from Stripe:

* Checkout Sessions (``/v1/checkout/sessions`` …) and a tiny hosted payment page;
* ``Idempotency-Key`` support on every POST;
* Stripe-shaped, signed, ordered webhooks (``charge.refunded``, ``payment_intent.created``,
  ``checkout.session.*`` …) with ``account`` for ``Stripe-Account`` (Connect) requests;
* test routes to play the customer (``/_test/checkout/sessions/{id}/complete``).

Typical use::

    async with start_emulator(webhook_delay=0) as emulator:
        await emulator.register_webhook("http://127.0.0.1:8000/stripe/webhook", "whsec_x")
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url})
        session = client.v1.checkout.sessions.create(params={...})
        await emulator.complete_checkout(session.id, "paid")
        await emulator.wait_for_webhooks()
"""

from app.stripe_emulator.completion import OUTCOMES
from app.stripe_emulator.events import Delivery, WebhookEndpoint, sign_payload
from app.stripe_emulator.runner import (
    EmulatorError,
    EmulatorHandle,
    EmulatorStarter,
    ThreadedEmulatorHandle,
    run_emulator_in_thread,
    start_emulator,
)
from app.stripe_emulator.state import EmulatorConfig

__all__ = [
    "OUTCOMES",
    "Delivery",
    "EmulatorConfig",
    "EmulatorError",
    "EmulatorHandle",
    "EmulatorStarter",
    "ThreadedEmulatorHandle",
    "WebhookEndpoint",
    "run_emulator_in_thread",
    "sign_payload",
    "start_emulator",
]
