"""One error type for everything the service refuses, with an HTTP status and a stable code."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A refusal the client should see: ``{"error": {"code", "message"}}`` with ``status``."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class NotFound(AppError):
    status, code = 404, "not_found"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class Conflict(AppError):
    status, code = 409, "conflict"


class Invalid(AppError):
    status, code = 422, "invalid"


class TooManyRequests(AppError):
    status, code = 429, "too_many_requests"


class Busy(AppError):
    """A lock could not be had quickly; the client should try again."""

    status, code = 503, "busy"
