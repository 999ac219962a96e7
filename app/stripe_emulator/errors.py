"""Stripe-shaped API errors for the emulator.

Real Stripe answers every failed call with ``{"error": {...}}`` whose ``type`` is one of
``invalid_request_error``, ``idempotency_error``, ``card_error``, ``api_error`` … and whose
optional ``code``, ``param`` and ``doc_url`` tell the client what went wrong.  localstripe's
own ``UserError`` always says ``invalid_request_error`` with a bare message; the helpers here
produce the fuller shape while staying a ``UserError`` so localstripe's middleware renders them.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from localstripe.errors import UserError


def json_response(payload: Any, *, status: int = 200) -> web.Response:
    """Render ``payload`` the way localstripe does (indented JSON, trailing newline)."""
    return web.json_response(
        payload,
        status=status,
        dumps=lambda value: json.dumps(value, indent=2) + "\n",
    )


class StripeError(UserError):
    """A Stripe API error: HTTP status plus Stripe's ``error`` object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        **extra: Any,
    ) -> None:
        contents: dict[str, Any] = {}
        if code is not None:
            contents["code"] = code
            contents["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param is not None:
            contents["param"] = param
        contents.update(extra)
        super().__init__(status, message, contents)
        self.body["error"]["type"] = error_type


def missing_param(param: str) -> StripeError:
    """``Missing required param: x.`` (code ``parameter_missing``)."""
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def unknown_param(param: str) -> StripeError:
    """``Received unknown parameter: x`` (code ``parameter_unknown``)."""
    return StripeError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def invalid_param(param: str, message: str, code: str | None = None) -> StripeError:
    """A 400 ``invalid_request_error`` about one parameter."""
    return StripeError(400, message, code=code, param=param)


def no_such(object_name: str, object_id: str, param: str = "id") -> StripeError:
    """``No such <object>: '<id>'`` (404, code ``resource_missing``)."""
    return StripeError(
        404, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    """Stripe's answer to a route it does not know."""
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )


def api_error(message: str = "An unknown error occurred in the Stripe emulator.") -> StripeError:
    """A 500 ``api_error`` (the emulator itself failed)."""
    return StripeError(500, message, error_type="api_error")
