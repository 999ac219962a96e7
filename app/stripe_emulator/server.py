"""The emulator's aiohttp application: localstripe's routes plus our extensions.

A fresh :class:`aiohttp.web.Application` is built per emulator (localstripe's own
module-level ``app`` is never run or modified).  Its middlewares, outermost first:

1. request context — ``Request-Id`` header, ``Stripe-Account``/``Idempotency-Key`` made
   visible to event creation, Stripe-shaped 404/500 errors;
2. localstripe's error middleware (``UserError`` → JSON);
3. authentication — localstripe's (``sk_…`` bearer key), except for ``/checkout/…`` and
   ``/_test/…``;
4. idempotency keys.

Our routes are registered first; localstripe's are copied after them, skipping any
method+path we override (``POST /v1/refunds``, ``POST /v1/payment_intents`` …).
"""

from __future__ import annotations

import logging
import secrets
import string

from aiohttp import web
from localstripe.errors import UserError

from app.stripe_emulator import checkout, completion, refunds
from app.stripe_emulator._localstripe import server as ls_server
from app.stripe_emulator.errors import api_error, invalid_param, json_response, unrecognized_url
from app.stripe_emulator.events import RequestContext, WebhookEndpoint, use_context
from app.stripe_emulator.idempotency import Handler, make_idempotency_middleware
from app.stripe_emulator.params import as_bool, as_list, read_params
from app.stripe_emulator.payments import EmulatorPaymentIntent, list_charges
from app.stripe_emulator.state import STATE_KEY, EmulatorState

logger = logging.getLogger(__name__)

_UNAUTHENTICATED_PREFIXES = ("/checkout/", "/_test/")
REQUEST_ID_KEY = web.RequestKey("stripe_emulator_request_id", str)
_ALPHABET = string.ascii_letters + string.digits


def _request_id() -> str:
    return "req_" + "".join(secrets.choice(_ALPHABET) for _ in range(14))


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give each request an id and a :class:`RequestContext`; render errors like Stripe."""
    request_id = _request_id()
    request[REQUEST_ID_KEY] = request_id
    context = RequestContext(
        request_id=request_id,
        idempotency_key=request.headers.get("Idempotency-Key"),
        account=request.headers.get("Stripe-Account") or None,
    )
    response: web.StreamResponse
    with use_context(context):
        try:
            response = await handler(request)
        except UserError as exc:
            response = exc.to_response()
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            if not request.path.startswith("/v1/"):
                raise
            response = unrecognized_url(request.method, request.path).to_response()
        except web.HTTPException:
            raise
        except Exception:
            logger.exception("stripe emulator failed on %s %s", request.method, request.path)
            response = api_error().to_response()
    response.headers["Request-Id"] = request_id
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """localstripe's API-key check, skipped for the hosted page and test routes."""
    if request.path.startswith(_UNAUTHENTICATED_PREFIXES):
        return await handler(request)
    response: web.StreamResponse = await ls_server.auth_middleware(request, handler)
    return response


async def config_webhook(request: web.Request) -> web.Response:
    """``POST /_config/webhooks/{id}`` with ``url``, ``secret``, optional ``events[]``
    and ``connect`` (localstripe's endpoint, extended)."""
    state = request.app[STATE_KEY]
    data = await read_params(request)
    url = data.get("url")
    secret = data.get("secret")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise invalid_param("url", "url must be an http(s) URL")
    if not isinstance(secret, str) or not secret:
        raise invalid_param("secret", "secret is required")
    events = [str(e) for e in as_list(data.get("events"), "events")] or None
    connect = None if data.get("connect") in (None, "") else as_bool(data["connect"], "connect")
    endpoint = WebhookEndpoint(request.match_info["id"], url, secret, events, connect)
    state.dispatcher.register(endpoint)
    return json_response(
        {
            "id": endpoint.id,
            "object": "webhook_endpoint",
            "url": endpoint.url,
            "enabled_events": endpoint.events or ["*"],
            "connect": endpoint.connect,
            "status": "enabled",
        }
    )


async def delete_webhook(request: web.Request) -> web.Response:
    """``DELETE /_config/webhooks/{id}``."""
    state = request.app[STATE_KEY]
    deleted = state.dispatcher.unregister(request.match_info["id"])
    return json_response({"id": request.match_info["id"], "deleted": deleted})


async def flush_data(request: web.Request) -> web.Response:
    """``DELETE /_config/data``: forget every object and idempotency key."""
    request.app[STATE_KEY].reset()
    return web.Response()


def _add_payment_intent_routes(app: web.Application) -> None:
    url = "/v1/payment_intents"
    app.router.add_post(url, ls_server.api_create(EmulatorPaymentIntent, url))
    cancel = f"{url}/{{id}}/cancel"
    app.router.add_post(cancel, ls_server.api_extra(EmulatorPaymentIntent._api_cancel, cancel))
    app.router.add_get("/v1/charges", list_charges, allow_head=False)


def _copy_localstripe_routes(app: web.Application) -> None:
    taken = {(route.method, route.resource.canonical) for route in app.router.routes()
             if route.resource is not None}  # fmt: skip
    for route in ls_server.app.router.routes():
        if route.resource is None or route.method == "HEAD":
            continue
        key = (route.method, route.resource.canonical)
        if key in taken:
            continue
        app.router.add_route(route.method, route.resource.canonical, route.handler)


def build_app(state: EmulatorState) -> web.Application:
    """Build the emulator's aiohttp application for ``state``."""
    app = web.Application(
        middlewares=[
            context_middleware,
            ls_server.error_middleware,
            auth_middleware,
            make_idempotency_middleware(state.idempotency),
        ]
    )
    app[STATE_KEY] = state
    app.on_response_prepare.append(ls_server.add_cors_headers)
    checkout.add_routes(app)
    refunds.add_routes(app)
    completion.add_routes(app)
    _add_payment_intent_routes(app)
    app.router.add_post("/_config/webhooks/{id}", config_webhook)
    app.router.add_delete("/_config/webhooks/{id}", delete_webhook)
    app.router.add_delete("/_config/data", flush_data)
    _copy_localstripe_routes(app)
    return app
