"""Simulating the customer on Checkout: test routes and a tiny hosted payment page.

Test-only routes (no API key needed)::

    POST /_test/checkout/sessions/{id}/complete   outcome=paid|declined|delayed_success|
                                                  delayed_failure [email, name, phone, delay]
    POST /_test/checkout/sessions/{id}/expire     expire as if expires_at had passed
    POST /_test/webhooks/wait                     wait until queued webhooks are delivered
    GET  /_test/webhooks/deliveries               delivery attempts so far

Hosted page (what ``session.url`` points to)::

    GET  /checkout/{id}     shows the line items and Pay / Decline / Pay later buttons
    POST /checkout/{id}     submits one of them, then redirects to success_url/cancel_url

Event order per outcome (as Stripe sends them):

* ``paid``: payment_intent.created, charge.succeeded, payment_intent.succeeded,
  checkout.session.completed (payment_status=paid).
* ``declined``: payment_intent.created (first attempt only), charge.failed,
  payment_intent.payment_failed; the session stays open and can be paid afterwards.
* ``delayed_success``: payment_intent.created, charge.pending, payment_intent.processing,
  checkout.session.completed (payment_status=unpaid); later charge.succeeded,
  payment_intent.succeeded, checkout.session.async_payment_succeeded (paid).
* ``delayed_failure``: as above, then charge.failed, payment_intent.payment_failed,
  checkout.session.async_payment_failed.
"""

from __future__ import annotations

import asyncio
import html
import time
from dataclasses import asdict
from typing import Any

from aiohttp import web
from localstripe.resources import Customer

from app.stripe_emulator.checkout import (
    CheckoutSession,
    find_session,
    format_amount,
    payment_intent_params,
    refresh_expiry,
    session_payment_intent,
)
from app.stripe_emulator.errors import StripeError, invalid_param, json_response
from app.stripe_emulator.events import RequestContext, emit, use_context
from app.stripe_emulator.params import as_choice, as_email, as_str, read_params, reject_unknown
from app.stripe_emulator.payments import (
    EmulatorPaymentIntent,
    begin_delayed_payment,
    pay_with_card,
    settle_delayed_payment,
)
from app.stripe_emulator.state import STATE_KEY, EmulatorState

OUTCOMES = ("paid", "declined", "delayed_success", "delayed_failure")
DEFAULT_NAME = "Jenny Rosen"
DEFAULT_EMAIL = "customer@example.com"


def _customer_details(
    session: CheckoutSession, email: str | None, name: str | None, phone: str | None
) -> dict[str, Any]:
    known = session.customer_details or {}
    return {
        "address": {
            "city": None,
            "country": "US",
            "line1": None,
            "line2": None,
            "postal_code": "42424",
            "state": None,
        },
        "email": email or known.get("email") or DEFAULT_EMAIL,
        "name": name or DEFAULT_NAME,
        "phone": phone,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def _payment_intent_for(state: EmulatorState, session: CheckoutSession) -> EmulatorPaymentIntent:
    existing = session_payment_intent(session)
    if existing is not None:
        return existing
    pi = EmulatorPaymentIntent(
        **payment_intent_params(
            session,
            copy_session_metadata=state.config.copy_session_metadata_to_payment_intent,
        )
    )
    session.payment_intent = pi.id
    return pi


def complete_checkout_session(
    state: EmulatorState,
    session: CheckoutSession,
    outcome: str,
    *,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    delay: float | None = None,
) -> CheckoutSession:
    """Play the customer paying ``session`` with the given ``outcome`` (see module doc).

    Events carry ``request: {"id": null}`` (the customer, not an API call, caused them)
    and ``account`` when the session was created with a ``Stripe-Account`` header.
    """
    refresh_expiry(session)
    if session.status != "open":
        raise StripeError(
            400,
            f"Checkout Session {session.id} has status {session.status!r}; only open "
            "sessions can be completed.",
        )
    outcome = as_choice(outcome, "outcome", OUTCOMES)
    details = _customer_details(session, email, name, phone)
    with use_context(RequestContext(account=session._account)):
        if session.customer is None and session.customer_creation == "always":
            customer = Customer(email=details["email"], name=details["name"], phone=phone)
            session.customer = customer.id
        if session.amount_total == 0:
            if outcome == "declined":
                raise invalid_param("outcome", "A session with nothing to pay cannot decline.")
            session._mark_complete(details, "no_payment_required")
            emit("checkout.session.completed", session)
            return session

        pi = _payment_intent_for(state, session)
        if pi.customer is None and session.customer is not None:
            pi.customer = session.customer
        billing = {"email": details["email"], "name": details["name"], "phone": phone}
        if outcome in ("paid", "declined"):
            pay_with_card(pi, declined=outcome == "declined", billing=billing)
            if outcome == "declined":
                return session
            session._mark_complete(details, "paid" if pi.status == "succeeded" else "unpaid")
            emit("checkout.session.completed", session)
            return session

        begin_delayed_payment(pi, billing=billing)
        session._mark_complete(details, "unpaid")
        emit("checkout.session.completed", session)
    wait = state.config.async_payment_delay if delay is None else delay
    state.spawn(_settle_later(session, pi, outcome == "delayed_success", wait))
    return session


async def _settle_later(
    session: CheckoutSession, pi: EmulatorPaymentIntent, succeed: bool, delay: float
) -> None:
    await asyncio.sleep(delay)
    with use_context(RequestContext(account=session._account)):
        settle_delayed_payment(pi, succeed=succeed)
        if succeed:
            session.payment_status = "paid"
            emit("checkout.session.async_payment_succeeded", session)
        else:
            emit("checkout.session.async_payment_failed", session)


# -- test routes ------------------------------------------------------------------------


async def complete_route(request: web.Request) -> web.Response:
    """``POST /_test/checkout/sessions/{id}/complete``."""
    state = request.app[STATE_KEY]
    data = await read_params(request)
    reject_unknown(data, ("outcome", "email", "name", "phone", "delay"))
    session = find_session(request.match_info["id"])
    delay = None
    if data.get("delay") not in (None, ""):
        try:
            delay = max(0.0, float(data["delay"]))
        except (TypeError, ValueError):
            raise invalid_param("delay", f"Invalid number: {data['delay']}") from None
    complete_checkout_session(
        state,
        session,
        str(data.get("outcome") or "paid"),
        email=as_email(data["email"], "email") if data.get("email") else None,
        name=as_str(data["name"], "name") if data.get("name") else None,
        phone=as_str(data["phone"], "phone") if data.get("phone") else None,
        delay=delay,
    )
    return json_response(session._export())


async def timeout_route(request: web.Request) -> web.Response:
    """``POST /_test/checkout/sessions/{id}/expire``: expire as if time had run out."""
    session = find_session(request.match_info["id"])
    if session.status != "open":
        raise StripeError(400, f"Checkout Session {session.id} is not open.")
    session.expires_at = int(time.time())
    refresh_expiry(session)
    return json_response(session._export())


async def wait_route(request: web.Request) -> web.Response:
    """``POST /_test/webhooks/wait``: block until background work and webhooks are done."""
    state = request.app[STATE_KEY]
    data = await read_params(request)
    timeout = float(data.get("timeout") or 10.0)
    try:
        async with asyncio.timeout(timeout):
            await state.settle()
    except TimeoutError:
        raise StripeError(504, "Webhooks are still pending.", error_type="api_error") from None
    return json_response({"ok": True})


async def deliveries_route(request: web.Request) -> web.Response:
    """``GET /_test/webhooks/deliveries``."""
    state = request.app[STATE_KEY]
    return json_response([asdict(d) for d in state.dispatcher.deliveries])


# -- hosted page ------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stripe emulator checkout</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}
table{{width:100%;border-collapse:collapse}}td{{padding:.3rem 0}}
.total{{font-weight:bold;border-top:1px solid #ccc}}.err{{color:#b00}}
button{{margin:.3rem .3rem 0 0;padding:.5rem 1rem}}</style></head>
<body><h1>Test checkout</h1><p><small>{session_id}</small></p>{body}</body></html>
"""


def _render(session: CheckoutSession, message: str | None = None) -> str:
    cur = session.currency
    if session.status != "open":
        body = f"<p>This Checkout Session is {html.escape(session.status)}.</p>"
        return _PAGE.format(session_id=html.escape(session.id), body=body)
    rows = "".join(
        f"<tr><td>{html.escape(str(item['description']))} × {item['quantity']}</td>"
        f"<td align=right>{html.escape(format_amount(item['amount_total'], cur))}</td></tr>"
        for item in session._line_items
    )
    total = html.escape(format_amount(session.amount_total, cur))
    error = f'<p class="err">{html.escape(message)}</p>' if message else ""
    email = html.escape((session.customer_details or {}).get("email") or DEFAULT_EMAIL)
    body = (
        f"<table>{rows}<tr class=total><td>Total</td><td align=right>{total}</td></tr>"
        f'</table>{error}<form method="post"><p><label>Email <input name="email" '
        f'value="{email}"></label></p><p><label>Name <input name="name" '
        f'value="{DEFAULT_NAME}"></label></p>'
        '<button name="outcome" value="paid">Pay</button>'
        '<button name="outcome" value="declined">Decline card</button>'
        '<button name="outcome" value="delayed_success">Pay by bank debit</button>'
        '<button name="outcome" value="delayed_failure">Bank debit fails</button>'
        '<button name="outcome" value="cancel">Cancel</button></form>'
    )
    return _PAGE.format(session_id=html.escape(session.id), body=body)


async def page_route(request: web.Request) -> web.Response:
    """``GET /checkout/{id}``: the hosted payment page."""
    session = find_session(request.match_info["id"])
    refresh_expiry(session)
    return web.Response(text=_render(session), content_type="text/html")


async def page_submit_route(request: web.Request) -> web.StreamResponse:
    """``POST /checkout/{id}``: a button on the hosted page was pressed."""
    state = request.app[STATE_KEY]
    session = find_session(request.match_info["id"])
    form = await request.post()
    outcome = str(form.get("outcome", "paid"))
    if outcome == "cancel":
        if session.cancel_url:
            raise web.HTTPSeeOther(session.cancel_url)
        return web.Response(text=_render(session, "Payment canceled."), content_type="text/html")
    email = str(form.get("email") or "") or None
    name = str(form.get("name") or "") or None
    try:
        complete_checkout_session(state, session, outcome, email=email, name=name)
    except StripeError as exc:
        message = str(exc.body["error"].get("message"))
        return web.Response(text=_render(session, message), content_type="text/html")
    if outcome == "declined":
        return web.Response(
            text=_render(session, "Your card was declined."), content_type="text/html"
        )
    if session.success_url:
        raise web.HTTPSeeOther(session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id))
    return web.Response(text=_render(session), content_type="text/html")


def add_routes(app: web.Application) -> None:
    """Register the test routes and the hosted page on ``app``."""
    app.router.add_post("/_test/checkout/sessions/{id}/complete", complete_route)
    app.router.add_post("/_test/checkout/sessions/{id}/expire", timeout_route)
    app.router.add_post("/_test/webhooks/wait", wait_route)
    app.router.add_get("/_test/webhooks/deliveries", deliveries_route, allow_head=False)
    app.router.add_get("/checkout/{id}", page_route)
    app.router.add_post("/checkout/{id}", page_submit_route)
