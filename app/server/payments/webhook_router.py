"""``POST /webhooks/stripe``: verify, store, queue, answer — nothing slower than that.

The raw body is read with a hard size limit before anything else, the signature is
checked on those exact bytes (300 s tolerance), and only then is the event stored and its
processing queued. A bad signature stores nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import stripe
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from app.server.core.app import error_body
from app.server.core.deps import DbDep, SettingsDep
from app.server.jobs import defer_stripe_event
from app.server.payments.stripe_events import is_handled, store_event

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])

MAX_BODY_BYTES = 1024 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300


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


@router.post("/stripe", response_model=None)
async def stripe_webhook(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, Any] | JSONResponse:
    """Accept one Stripe event."""
    try:
        body = await _read_limited(request)
    except _TooLarge:
        return JSONResponse(error_body("payload_too_large", "The event is larger than 1 MiB."), 413)
    secret = settings.stripe_webhook_secret
    if secret is None:
        return JSONResponse(
            error_body("webhooks_not_configured", "This service has no webhook secret."), 503
        )
    try:
        payload = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            payload, stripe_signature or "", secret.get_secret_value(), SIGNATURE_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
        event_id, event_type = str(event["id"]), str(event["type"])
        int(event["created"])
        event["data"]["object"]["id"]
    except stripe.SignatureVerificationError as exc:
        log.warning("stripe webhook refused: %s", exc.user_message or "bad signature")
        return JSONResponse(
            error_body("bad_signature", "The Stripe-Signature header does not match."), 400
        )
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return JSONResponse(error_body("malformed_event", "The event is not a Stripe event."), 400)
    if not is_handled(event_type):
        return {"received": True, "handled": False}
    if await store_event(db, event):
        await defer_stripe_event(request.app.state.jobs.queue, event_id)
    return {"received": True, "handled": True}
