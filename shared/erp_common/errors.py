"""The one error hierarchy of the ERP and its one JSON shape.

Every failure a client can cause is an ``ErpError`` subclass carrying an HTTP status, a stable
machine code, a human message and optional details (for validation: one entry per field).
The HTTP layer turns them into ``{"error": {"code", "message", "details"}}``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The one JSON shape of every error, from a function or from the gateway."""
    return {"error": {"code": code, "message": message, "details": details or []}}


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
        return error_body(self.code, self.message, self.details)

    def locate(self, field_of: Callable[[int], str]) -> ErpError:
        """Name the caller's fields in details that point at a line by index (``{"line": 2}``).

        A domain's public API speaks of the lines of the document it was given; the calling
        domain knows which of its input fields each line came from (``lines[2].sku``).
        """
        for detail in self.details:
            if isinstance(detail.get("line"), int) and "field" not in detail:
                detail["field"] = field_of(detail["line"])
        return self


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


    @classmethod
    def from_pydantic(cls, exc: Any) -> ValidationFailed:
        """422 naming every invalid or unknown field of a pydantic ``ValidationError``."""
        details = []
        for err in exc.errors(include_url=False):
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith(("function-", "decimal"))))
            message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] == "value_error":  # our validators' own sentences, without pydantic's prefix
                message = message.removeprefix("Value error, ")
            details.append({"field": _field_name(loc), "message": message, "type": err["type"]})
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
        if len(details) > 3:
            summary += f" (and {len(details) - 3} more)"
        return cls(f"invalid input: {summary}", details=details)


def _field_name(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        parts.append(f"[{item}]" if isinstance(item, int) else ("." if parts else "") + str(item))
    return "".join(parts) or "body"


class IllegalTransition(Conflict):
    """A document asked to move where its workflow does not allow from its current state."""

    code = "illegal_transition"


class TooManyRequests(ErpError):
    status, code = 429, "too_many_requests"


class ServiceUnavailable(ErpError):
    status, code = 503, "service_unavailable"


class ConfigError(RuntimeError):
    """The process's settings are unusable (for example a default secret in production)."""
