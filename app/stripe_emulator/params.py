"""Request parameter decoding and validation helpers.

Stripe's v1 API takes form-encoded bodies with bracketed keys (``metadata[k]=v``,
``line_items[0][quantity]=2``).  localstripe already knows how to turn those into nested
dicts and lists; these helpers reuse that and add Stripe-style type checks that raise
:class:`~app.stripe_emulator.errors.StripeError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web

from app.stripe_emulator._localstripe import server as ls_server
from app.stripe_emulator.errors import StripeError, invalid_param, unknown_param

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_AUTH_KEYS = ("key", "payment_user_agent", "referrer")


async def read_params(request: web.Request) -> dict[str, Any]:
    """Return the request's parameters as a nested dict.

    POST bodies may be form-encoded (like the SDKs send) or JSON; query-string parameters
    are merged in for every method, as Stripe does.
    """
    data: dict[str, Any] = {}
    if request.method == "POST":
        body = await ls_server.get_post_data(request, remove_auth=False)
        if body:
            data.update(dict(body))
    if request.query:
        data.update(ls_server.unflatten_data(request.query))
    for key in _AUTH_KEYS:
        data.pop(key, None)
    return data


def reject_unknown(data: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    """Raise Stripe's ``parameter_unknown`` error for the first key not in ``allowed``."""
    allowed_set = set(allowed)
    for key in data:
        if key not in allowed_set:
            raise unknown_param(f"{prefix}[{key}]" if prefix else key)


def as_int(
    value: Any, param: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Parse an integer parameter (form values arrive as strings)."""
    if isinstance(value, bool):
        raise invalid_param(param, f"Invalid integer: {value}", "parameter_invalid_integer")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        result = int(value.strip())
    else:
        raise invalid_param(param, f"Invalid integer: {value}", "parameter_invalid_integer")
    if minimum is not None and result < minimum:
        if minimum == 1:
            message = "This value must be greater than or equal to 1."
        elif minimum == 0:
            message = f"Invalid non-negative integer: {result}"
        else:
            message = f"This value must be greater than or equal to {minimum}."
        raise invalid_param(param, message, "parameter_invalid_integer")
    if maximum is not None and result > maximum:
        raise invalid_param(
            param,
            f"This value must be less than or equal to {maximum}.",
            "parameter_invalid_integer",
        )
    return result


def as_bool(value: Any, param: str) -> bool:
    """Parse a boolean parameter (``true``/``false`` strings or JSON booleans)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_param(param, f"Invalid boolean: {value}")


def as_str(value: Any, param: str, *, max_length: int | None = None) -> str:
    """Parse a string parameter, optionally bounded in length."""
    if not isinstance(value, str):
        raise invalid_param(param, f"Invalid string: {value!r}", "parameter_invalid_string")
    if max_length is not None and len(value) > max_length:
        raise invalid_param(
            param,
            f"Invalid string: {value[:20]}...; must be at most {max_length} characters",
            "parameter_invalid_string_too_long",
        )
    return value


def as_choice(value: Any, param: str, choices: Iterable[str]) -> str:
    """Parse an enum parameter."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise invalid_param(
            param,
            f"Invalid {param}: must be one of {', '.join(options)}",
            "parameter_invalid_string",
        )
    return value


def as_dict(value: Any, param: str) -> dict[str, Any]:
    """Parse a hash parameter (``param[key]=...``)."""
    if value == "" or value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_param(param, f"Invalid object: {param} must be a hash")
    return value


def as_list(value: Any, param: str) -> list[Any]:
    """Parse an array parameter (``param[0]=a&param[1]=b`` or ``param[]=a``)."""
    if value == "" or value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and all(k.isdigit() for k in value):
        return [value[k] for k in sorted(value, key=int)]
    if not isinstance(value, list):
        raise invalid_param(param, f"Invalid array: {param} must be an array")
    return value


def as_metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    """Validate a metadata hash like Stripe (≤50 keys, key ≤40 chars, value ≤500 chars).

    Empty-string values unset a key, so they are dropped.
    """
    raw = as_dict(value, param)
    if len(raw) > 50:
        raise invalid_param(param, "Invalid metadata: metadata cannot have more than 50 keys")
    result: dict[str, str] = {}
    for key, item in raw.items():
        if len(key) > 40:
            raise invalid_param(
                f"{param}[{key}]",
                f"Invalid metadata: metadata key '{key}' is longer than 40 characters",
            )
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise invalid_param(f"{param}[{key}]", "Invalid metadata: values must be strings")
        text = str(item)
        if len(text) > 500:
            raise invalid_param(
                f"{param}[{key}]",
                "Invalid metadata: metadata values can have up to 500 characters",
            )
        if text != "":
            result[key] = text
    return result


def as_email(value: Any, param: str) -> str:
    """Validate an email address like Stripe does (loosely)."""
    text = as_str(value, param, max_length=800)
    if not _EMAIL_RE.match(text):
        raise StripeError(400, f"Invalid email address: {text}", code="email_invalid", param=param)
    return text


def as_url(value: Any, param: str) -> str:
    """Validate an absolute http(s) URL (Checkout's ``success_url``/``cancel_url``)."""
    text = as_str(value, param, max_length=5000)
    if not re.match(r"^https?://[^\s/]+", text):
        raise StripeError(400, "Not a valid URL", code="url_invalid", param=param)
    return text


def as_expand(data: dict[str, Any]) -> list[str]:
    """Pop and return the ``expand`` list from ``data``."""
    return [str(item) for item in as_list(data.pop("expand", None), "expand")]
