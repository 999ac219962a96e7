"""``POST /webhooks/stripe``: verify, store, queue, answer — nothing slower than that.

The raw body is read with a hard size limit before anything else, the signature is
checked on those exact bytes (300 s tolerance), and only then is the event stored with
the job that processes it (one transaction, shared by concurrent deliveries: see
``EventInbox``). A bad signature stores nothing.

This is the service's busiest endpoint under a burst of payments, so it takes the request
as it is (no dependencies to resolve, a ready-made answer) and leaves the payload to the
job.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import stripe
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from app.server.core.app import error_body
from app.server.core.settings import Settings
from app.server.jobs import defer_stripe_events_in
from app.server.payments.stripe_events import EventInbox, is_handled

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])

MAX_BODY_BYTES = 1024 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300
HANDLED = b'{"received":true,"handled":true}'
NOT_HANDLED = b'{"received":true,"handled":false}'


class _TooLarge(Exception):
    pass


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _TooLarge
    return bytes(body)


def _event_type(event: Any) -> str:
    """The type of a well-formed Stripe event; KeyError/TypeError/ValueError otherwise."""
    if not isinstance(event["id"], str) or "id" not in event["data"]["object"]:
        raise TypeError("an event has a string id and an object with an id")
    int(event["created"])
    return str(event["type"])


def _inbox(app: FastAPI) -> EventInbox:
    """This service instance's inbox, made on first use."""
    inbox: EventInbox | None = getattr(app.state, "stripe_inbox", None)
    if inbox is None:
        queue = functools.partial(defer_stripe_events_in, queue=app.state.jobs.queue)
        inbox = app.state.stripe_inbox = EventInbox(app.state.db, queue)
    return inbox


@router.post("/stripe", response_model=None)
async def stripe_webhook(request: Request) -> Response:
    """Accept one Stripe event: ``{"received": true, "handled": true|false}``."""
    try:
        body = await _read_limited(request)
    except _TooLarge:
        return JSONResponse(error_body("payload_too_large", "The event is larger than 1 MiB."), 413)
    settings: Settings = request.app.state.settings
    secret = settings.stripe_webhook_secret
    if secret is None:
        return JSONResponse(
            error_body("webhooks_not_configured", "This service has no webhook secret."), 503
        )
    try:
        payload = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            payload,
            request.headers.get("stripe-signature", ""),
            secret.get_secret_value(),
            SIGNATURE_TOLERANCE_SECONDS,
        )
        event = json.loads(payload)
        event_type = _event_type(event)
    except stripe.SignatureVerificationError as exc:
        log.warning("stripe webhook refused: %s", exc.user_message or "bad signature")
        return JSONResponse(
            error_body("bad_signature", "The Stripe-Signature header does not match."), 400
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return JSONResponse(error_body("malformed_event", "The event is not a Stripe event."), 400)
    if not is_handled(event_type):
        return Response(NOT_HANDLED, media_type="application/json")
    await _inbox(request.app).put(event, payload)
    return Response(HANDLED, media_type="application/json")
