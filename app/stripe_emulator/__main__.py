"""``python -m app.stripe_emulator``: run the Stripe emulator until interrupted.

Example::

    python -m app.stripe_emulator --port 12111 \\
        --webhook-url http://127.0.0.1:8000/stripe/webhook --webhook-secret whsec_demo

The first line printed is ``Stripe emulator listening on <url>`` (useful with
``--port 0``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from app.stripe_emulator.runner import start_emulator
from app.stripe_emulator.state import EmulatorConfig


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m app.stripe_emulator", description="Local Stripe emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port (0 = any free port)")
    parser.add_argument("--webhook-url", help="endpoint receiving signed webhooks")
    parser.add_argument("--webhook-secret", help="signing secret (whsec_…)")
    parser.add_argument(
        "--webhook-events", help="comma-separated event types to send (default: all)"
    )
    parser.add_argument("--webhook-delay", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument(
        "--async-payment-delay",
        type=float,
        default=5.0,
        help="seconds before delayed payments settle (default 5)",
    )
    parser.add_argument(
        "--strict-metadata",
        action="store_true",
        help="do not copy session metadata onto the PaymentIntent (real Stripe behaviour)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log webhook deliveries")
    args = parser.parse_args(argv)
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")
    return args


async def serve(args: argparse.Namespace) -> None:
    """Run the emulator described by ``args`` until SIGINT/SIGTERM."""
    config = EmulatorConfig(
        webhook_delay=args.webhook_delay,
        async_payment_delay=args.async_payment_delay,
        copy_session_metadata_to_payment_intent=not args.strict_metadata,
    )
    async with start_emulator(args.host, args.port, config=config) as emulator:
        if args.webhook_url:
            events = [e.strip() for e in (args.webhook_events or "").split(",") if e.strip()]
            await emulator.register_webhook(args.webhook_url, args.webhook_secret, events or None)
        print(f"Stripe emulator listening on {emulator.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.verbose:
        logging.getLogger("app.stripe_emulator").setLevel(logging.INFO)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
