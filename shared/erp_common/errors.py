"""The one error hierarchy of the ERP and its one JSON shape.

Every failure a client can cause is an ``ErpError`` subclass carrying an HTTP status, a stable
machine code, a human message and optional details (for validation: one entry per field).
The HTTP layer turns them into ``{"error": {"code", "message", "details"}}``.
"""
from __future__ import annotations

from typing import Any


class ErpError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code:
            self.code = code
        self.headers = headers or {}

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(ErpError):
    status, code = 400, "bad_request"


class Unauthorized(ErpError):
    status, code = 401, "unauthorized"


class Forbidden(ErpError):
    status, code = 403, "forbidden"


class NotFound(ErpError):
    status, code = 404, "not_found"


class MethodNotAllowed(ErpError):
    status, code = 405, "method_not_allowed"


class Conflict(ErpError):
    status, code = 409, "conflict"


class ValidationFailed(ErpError):
    status, code = 422, "validation_error"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class TooManyRequests(ErpError):
    status, code = 429, "too_many_requests"


class ServiceUnavailable(ErpError):
    status, code = 503, "service_unavailable"


class ConfigError(RuntimeError):
    """The process's settings are unusable (for example a default secret in production)."""
