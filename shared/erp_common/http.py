"""Operations: how a business operation is declared once and served as an OpenFaaS function.

A domain declares each operation with ``@operation(...)`` next to its service: its function name,
the seed service it belongs to, methods, input and output schemas, the roles allowed, the
success status, and whether it takes an Idempotency-Key, a topic (event consumer) or a schedule.
``function_handler(name)`` turns a declaration into the python3-http ``handle(event, context)``;
``pack_handler(service)`` serves every operation of a seed service from one function (the CE
packing). Both run the same ``dispatch``: authenticate, validate, one transaction (retried on
deadlock), call the service, commit, publish events, write JSON. Errors always come out in the
one shape ``{"error": {"code", "message", "details"}}``.
"""
from __future__ import annotations

import inspect
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from . import db, events, idempotency
from .auth import authenticate
from .config import get_settings
from .context import Context, Principal
from .errors import (
    BadRequest,
    Conflict,
    ErpError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)

log = logging.getLogger("erp.http")

PUBLIC = "public"  # anyone, no token
SIGNED_IN = "signed-in"  # any active user
CONNECTOR = "connector"  # invoked by the cron or NATS connector (the work must be safe to repeat)

BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class RawResponse:
    """A service result sent as is rather than as JSON (a CSV export, for example).

    ``dispatch`` writes ``body`` with ``content_type`` and the operation's success status; the
    transaction, authentication and error handling are the same as for JSON results. Not
    recorded for Idempotency-Key replays (declare such operations without ``idempotent``).
    """

    body: str | bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    name: str
    service_group: str
    handler: Callable[..., Any]
    summary: str
    input: type[BaseModel] | None
    output: Any
    roles: frozenset[str] | str
    methods: tuple[str, ...]
    status: int
    path: str | None
    idempotent: bool
    topic: str | None
    schedule: str | None
    transactional: bool = True
    content_type: str = "application/json"  # what a success answers (a RawResponse's type, for /docs)
    path_regex: re.Pattern | None = field(default=None, compare=False)

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.handler.__doc__ or self.summary)

    @property
    def roles_text(self) -> str:
        if isinstance(self.roles, str):
            return self.roles
        return ", ".join(sorted(self.roles))


REGISTRY: dict[str, Operation] = {}
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def _compile_path(path: str | None) -> re.Pattern | None:
    if not path:
        return None
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.rstrip("/"))
    return re.compile(f"^{pattern}/?$")


def operation(
    name: str,
    *,
    service: str,
    summary: str,
    input: type[BaseModel] | None = None,
    output: Any = None,
    roles: tuple[str, ...] | str,
    methods: tuple[str, ...] = ("POST",),
    status: int = 200,
    path: str | None = None,
    idempotent: bool = False,
    topic: str | None = None,
    schedule: str | None = None,
    transactional: bool = True,
    content_type: str = "application/json",
) -> Callable:
    """Declare a business operation served as the OpenFaaS function ``name``."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a DNS-1035 function name")

    def register(fn: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"operation {name!r} is declared twice")
        REGISTRY[name] = Operation(
            name=name,
            service_group=service,
            handler=fn,
            summary=summary,
            input=input,
            output=output,
            roles=roles if isinstance(roles, str) else frozenset(roles),
            methods=tuple(m.upper() for m in methods),
            status=status,
            path=path,
            idempotent=idempotent,
            topic=topic,
            schedule=schedule,
            transactional=transactional,
            content_type=content_type,
            path_regex=_compile_path(path),
        )
        return fn

    return register


# --- the response ----------------------------------------------------------------------

def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return {"statusCode": status, "body": text, "headers": {**JSON_HEADERS, **(headers or {})}}


def raw_response(status: int, raw: RawResponse, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"statusCode": status, "body": raw.body,
            "headers": {"Content-Type": raw.content_type, **raw.headers, **(headers or {})}}


def error_response(err: ErpError, request_id: str) -> dict[str, Any]:
    return json_response(err.status, err.to_body(), {**err.headers, "X-Request-Id": request_id})


def _serialise(op: Operation, result: Any) -> Any:
    if op.output is None or result is None:
        return result if result is not None else {}
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    adapter = _adapter(op.output)
    return adapter.dump_python(adapter.validate_python(result, from_attributes=True), mode="json")


_adapters: dict[Any, TypeAdapter] = {}


def _adapter(tp: Any) -> TypeAdapter:
    adapter = _adapters.get(tp)
    if adapter is None:
        adapter = _adapters[tp] = TypeAdapter(tp)
    return adapter


# --- reading the request ---------------------------------------------------------------

def _header(event: Any, name: str) -> str | None:
    headers = getattr(event, "headers", None) or {}
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lower = name.lower()
        for key, val in headers.items():
            if key.lower() == lower:
                return val
    return value


def _field_name(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "body"


def validation_error(exc: ValidationError) -> ValidationFailed:
    details = []
    for err in exc.errors(include_url=False):
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith(("function-", "decimal"))))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        details.append({"field": _field_name(loc), "message": message, "type": err["type"]})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:3])
    if len(details) > 3:
        summary += f" (and {len(details) - 3} more)"
    return ValidationFailed(f"invalid input: {summary}", details=details)


def _query_dict(event: Any) -> dict[str, Any]:
    query = getattr(event, "query", None) or {}
    out: dict[str, Any] = {}
    if hasattr(query, "getlist"):
        for key in query.keys():
            values = query.getlist(key)
            out[key] = values if len(values) > 1 else values[0]
    else:
        out.update(query)
    return out


def read_input(op: Operation, event: Any, path: str) -> tuple[BaseModel | None, dict[str, Any]]:
    """Build and validate the operation's input from path, query and JSON body (and return that payload)."""
    payload: dict[str, Any] = {}
    method = (getattr(event, "method", "GET") or "GET").upper()
    raw = getattr(event, "body", b"") or b""
    if method in BODY_METHODS and raw.strip():
        try:
            # Decimal, not float: "99.999999999999999" must not quietly become 100.0.
            payload = json.loads(raw, parse_float=Decimal)
        except RecursionError:
            raise BadRequest("the request body is nested too deeply", code="malformed_json",
                             details=[{"field": "body", "message": "nested too deeply"}]) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest(
                f"the request body is not valid JSON: {exc}",
                code="malformed_json",
                details=[{"field": "body", "message": "not valid JSON"}],
            ) from None
        if not isinstance(payload, dict):
            raise ValidationFailed.field("body", "must be a JSON object")
    else:
        payload = _query_dict(event)
    if op.path_regex is not None:
        match = op.path_regex.match(path.rstrip("/") or "")
        if match:
            payload.update({k: v for k, v in match.groupdict().items()})
        elif path.strip("/"):
            raise NotFound(f"no such path {path!r} for {op.name}", code="unknown_path")
    elif path.strip("/"):
        raise NotFound(f"no such path {path!r} for {op.name}", code="unknown_path")
    if op.input is None:
        return None, payload
    try:
        return op.input.model_validate(payload), payload
    except ValidationError as exc:
        raise validation_error(exc) from None


def _authorise(op: Operation, event: Any) -> Principal | None:
    if op.roles in (PUBLIC, CONNECTOR):
        return None
    principal = authenticate(_header(event, "Authorization"))
    if op.roles != SIGNED_IN and not principal.has_any(op.roles):  # type: ignore[arg-type]
        raise Forbidden(
            f"{op.name} needs one of the roles: {op.roles_text}",
            details=[{"required_roles": sorted(op.roles), "your_roles": sorted(principal.roles)}],
        )
    return principal


# --- dispatch ----------------------------------------------------------------------------

def dispatch(op: Operation, event: Any, path: str | None = None) -> dict[str, Any]:
    """Serve one request for ``op``: the one path every function takes."""
    request_id = _header(event, "X-Call-Id") or uuid.uuid4().hex
    path = getattr(event, "path", "/") if path is None else path
    try:
        if path.rstrip("/") == "/_/ready":
            return _ready(request_id)
        method = (getattr(event, "method", "GET") or "GET").upper()
        if method not in op.methods:
            raise MethodNotAllowed(
                f"{op.name} answers {', '.join(op.methods)}, not {method}",
                headers={"Allow": ", ".join(op.methods)},
            )
        principal = _authorise(op, event)
        if op.topic:
            return _consume(op, event, request_id)
        key = _header(event, idempotency.HEADER) if op.idempotent else None
        if key is not None:
            key = idempotency.validate_key(key)
        data, payload = read_input(op, event, path)
        req_hash = ""
        if key is not None:  # what a retry with the same key must repeat
            req_hash = idempotency.request_hash(method, path, json.dumps(payload, sort_keys=True, default=str))
        return _run(op, data, principal, request_id, key, req_hash)
    except ErpError as err:
        return error_response(err, request_id)
    except IntegrityError as exc:
        log.warning("%s: integrity error %s", op.name, exc.orig)
        return error_response(integrity_conflict(exc), request_id)
    except (DataError, OverflowError) as exc:  # a value validation let through but a column cannot hold
        log.warning("%s: value out of range: %s", op.name, exc)
        return error_response(ValidationFailed("a value is too large or too long to store", code="out_of_range"),
                              request_id)
    except DBAPIError as exc:
        if db.is_retryable(exc):  # a deadlock or lock wait timeout that outlasted every retry
            log.warning("%s: database busy after retries: %s", op.name, exc.orig)
            busy = ServiceUnavailable("the database is busy, try again", code="database_busy",
                                      headers={"Retry-After": "1"})
            return error_response(busy, request_id)
        if not isinstance(exc, OperationalError):
            return _internal_error(op, request_id)
        log.error("%s: database unavailable: %s", op.name, exc.orig)
        return error_response(ServiceUnavailable("the database is not available, try again"), request_id)
    except Exception:
        return _internal_error(op, request_id)


def integrity_conflict(exc: IntegrityError) -> Conflict:
    """409 for a write the database refused: a unique value taken, naming its field when known.

    Services check uniqueness first and answer with precise fields (``sku_specs[0].code``); this
    is what a request gets when another one took the value between that check and the insert.
    """
    field = db.unique_key_field(exc)
    if field is None:
        return Conflict("the request conflicts with existing data")
    return Conflict(f"the {field} is already taken (by a request that was being handled at the same time)",
                    code="already_taken", details=[{"field": field, "message": "already taken"}])


def _internal_error(op: Operation, request_id: str) -> dict[str, Any]:
    log.exception("%s: unhandled error (request %s)", op.name, request_id)
    error = {"code": "internal_error", "message": "internal error", "details": [{"request_id": request_id}]}
    return json_response(500, {"error": error}, {"X-Request-Id": request_id})


def _run(
    op: Operation,
    data: BaseModel | None,
    principal: Principal | None,
    request_id: str,
    key: str | None,
    req_hash: str,
) -> dict[str, Any]:
    if not op.transactional:  # the service opens its own transactions (scheduled jobs)
        result = op.handler(data) if op.input is not None else op.handler()
        if isinstance(result, RawResponse):
            return raw_response(op.status, result, {"X-Request-Id": request_id})
        return json_response(op.status, _serialise(op, result), {"X-Request-Id": request_id})

    def work(session) -> tuple[int, str | RawResponse, Context | None]:
        ctx = Context(session=session, principal=principal, request_id=request_id, now=db.utcnow(), operation=op.name)
        record = None
        if key is not None:
            claimed = idempotency.claim(session, op.name, principal.username if principal else "", key, req_hash)
            if isinstance(claimed, idempotency.StoredResponse):
                return claimed.status_code, claimed.body, None
            record = claimed
        result = op.handler(ctx, data) if op.input is not None else op.handler(ctx)
        if isinstance(result, RawResponse):
            session.flush()
            return op.status, result, ctx
        if isinstance(result, BaseModel) and op.output is not None:
            body = result.model_dump_json()  # pydantic-core writes it: compact UTF-8, as json.dumps below
        else:
            body = json.dumps(_serialise(op, result), ensure_ascii=False, separators=(",", ":"))
        if record is not None:
            idempotency.complete(record, op.status, body)
        session.flush()
        return op.status, body, ctx

    # A read (GET) that is not idempotency-keyed writes nothing: no write lock on SQLite.
    readonly = set(op.methods) == {"GET"} and key is None
    status, body, ctx = db.run_in_transaction(work, readonly=readonly)
    replayed = ctx is None
    if ctx is not None:
        ctx.committed()
    headers = {"X-Request-Id": request_id}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if isinstance(body, RawResponse):
        return raw_response(status, body, headers)
    return json_response(status, body, headers)


def _consume(op: Operation, event: Any, request_id: str) -> dict[str, Any]:
    """Handle a delivered event: look it up in the outbox, process it once."""
    raw = getattr(event, "body", b"") or b""
    try:
        envelope = json.loads(raw)
        event_id = str(envelope["id"])
    except (ValueError, TypeError, KeyError):
        raise ValidationFailed.field("id", "the body must be an event envelope with an id") from None

    def work(session) -> tuple[dict[str, Any], Context | None]:
        stored = events.load_event(session, event_id)
        if stored is None:
            raise NotFound(f"no event {event_id} in the outbox", code="unknown_event")
        if stored.type != op.topic:
            raise ValidationFailed.field("type", f"{op.name} consumes {op.topic}, not {stored.type}")
        if not events.claim_event(session, op.name, event_id):
            return {"event_id": event_id, "status": "already_processed"}, None
        ctx = Context(session=session, principal=None, request_id=request_id, now=db.utcnow(), operation=op.name)
        op.handler(ctx, stored)
        session.flush()
        return {"event_id": event_id, "status": "processed"}, ctx

    result, ctx = db.run_in_transaction(work)
    if ctx is not None:
        ctx.committed()
    return json_response(200, result, {"X-Request-Id": request_id})


def _ready(request_id: str) -> dict[str, Any]:
    try:
        db.ping()
    except Exception as exc:
        raise ServiceUnavailable(f"database not reachable: {exc.__class__.__name__}") from None
    return json_response(200, {"status": "ok"}, {"X-Request-Id": request_id})


# --- handlers for the template -----------------------------------------------------------

def function_handler(name: str) -> Callable[[Any, Any], dict[str, Any]]:
    """The python3-http ``handle(event, context)`` of the function serving operation ``name``."""
    from .registry import load_operations

    load_operations()
    if name not in REGISTRY:
        raise LookupError(f"no operation {name!r} is declared in the shared layer")
    get_settings()  # fail at start-up, not on the first request, if the settings are unusable
    op = REGISTRY[name]

    def handle(event: Any, context: Any) -> dict[str, Any]:
        return dispatch(op, event)

    handle.operations = (name,)  # type: ignore[attr-defined]
    return handle


def pack_operations(service: str) -> dict[str, Operation]:
    """Every HTTP operation of a seed service, keyed by the path segment that selects it in a pack.

    Scheduled jobs and event consumers are left out: the connectors call ``/function/<name>``
    with no path, so they stay functions of their own in the CE packing too.
    """
    from .registry import load_operations

    load_operations()
    routes: dict[str, Operation] = {}
    for op in REGISTRY.values():
        if op.service_group == service and not op.schedule and not op.topic:
            short = op.name[len(service) + 1:] if op.name.startswith(service + "-") else op.name
            routes[short] = op
    return routes


def pack_handler(service: str) -> Callable[[Any, Any], dict[str, Any]]:
    """One function serving every operation of ``service`` at ``/function/<service>/<op>[/...]``."""
    routes = pack_operations(service)
    get_settings()

    def handle(event: Any, context: Any) -> dict[str, Any]:
        path = getattr(event, "path", "/") or "/"
        if path.rstrip("/") == "/_/ready":
            return _ready(_header(event, "X-Call-Id") or uuid.uuid4().hex)
        segment, _, rest = path.lstrip("/").partition("/")
        op = routes.get(segment)
        if op is None:
            err = NotFound(
                f"{service} has no operation {segment!r}",
                code="unknown_operation",
                details=[{"operations": sorted(routes)}],
            )
            return error_response(err, _header(event, "X-Call-Id") or uuid.uuid4().hex)
        return dispatch(op, event, "/" + rest)

    handle.operations = tuple(sorted(op.name for op in routes.values()))  # type: ignore[attr-defined]
    return handle
