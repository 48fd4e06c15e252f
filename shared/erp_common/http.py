"""Serving declared operations over HTTP: the python3-http ``handle(event, context)`` of a function.

``function_handler(domain, name)`` turns one declaration (``erp_common.operations``) into the
handler of its function, importing only that domain, the domains it depends on and the platform
core; ``pack_handler(service, domains)`` serves every operation of a seed service from one
function (the CE packing), and ``events_handler`` every event consumer (dispatching on
``X-Topic``). All run the same ``dispatch``: authenticate, validate, one unit of work (retried
on deadlock), call the service, commit, publish events, write JSON. Errors always come out in
the one shape ``{"error": {"code", "message", "details"}}``.
"""
from __future__ import annotations

import hmac
import importlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from . import db, domains, events, idempotency, logs, metrics, ratelimit, uow
from .auth import authenticate
from .config import get_settings
from .context import Caller, Context, Principal
from .errors import (
    BadRequest,
    Conflict,
    ErpError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
    error_body,
)
from .operations import CONNECTOR, PUBLIC, REGISTRY, SIGNED_IN, Accepted, FileResult, Operation
from .schemas import iso_utc

log = logging.getLogger("erp.http")

BODY_METHODS = {"POST", "PUT", "PATCH"}
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


# --- the response ----------------------------------------------------------------------

def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return {"statusCode": status, "body": text, "headers": {**JSON_HEADERS, **(headers or {})}}


def file_response(status: int, raw: FileResult, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
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
    headers = getattr(event, "headers", None)
    if headers is None:  # (not ``or {}``: the truth of werkzeug's headers walks the whole WSGI environ)
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lower = name.lower()
        for key, val in headers.items():
            if key.lower() == lower:
                return val
    return value


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
        except ValueError:  # an integer of more than 4,300 digits: Python will not convert it
            raise BadRequest("the request body holds a number too long to read", code="malformed_json",
                             details=[{"field": "body", "message": "a number is too long"}]) from None
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
        raise ValidationFailed.from_pydantic(exc) from None


def _authorise(op: Operation, event: Any) -> Principal | None:
    if op.roles == PUBLIC:
        return None
    if op.roles == CONNECTOR:
        return _connector(op, event)
    principal = authenticate(_header(event, "Authorization"))
    if op.roles != SIGNED_IN and not principal.has_any(op.roles):  # type: ignore[arg-type]
        raise Forbidden(
            f"{op.name} needs one of the roles: {op.roles_text}",
            details=[{"required_roles": sorted(op.roles), "your_roles": sorted(principal.roles)}],
        )
    return principal


def _connector(op: Operation, event: Any) -> Principal | None:
    """Who calls a connector's function (a job, an event consumer): a signed-in user when a token is
    sent (an administrator may run a job again at once), else the connector. With a connector secret
    set, an anonymous call must carry it."""
    token = _header(event, "Authorization")
    if token:
        return authenticate(token)
    secret = get_settings().connector_secret
    if secret and not hmac.compare_digest((_header(event, "X-Connector-Secret") or "").encode(), secret.encode()):
        raise Unauthorized(f"{op.name} is called by its connector: send X-Connector-Secret or sign in",
                           details=[{"field": "X-Connector-Secret", "message": "missing or wrong"}])
    return None


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
        address = ratelimit.client_address(_header(event, "X-Forwarded-For"), getattr(event, "remote_addr", None))
        ratelimit.check(op, principal.user_id if principal else None, address)
        if principal is not None:
            logs.set_user(principal.user_id)
        if op.topic:
            return _consume(op, _event_id(event), request_id)
        key = _header(event, idempotency.HEADER) if op.idempotent else None
        if key is not None:
            key = idempotency.validate_key(key)
        data, payload = read_input(op, event, path)
        req_hash = ""
        if key is not None:  # what a retry with the same key must repeat
            req_hash = idempotency.request_hash(method, path, json.dumps(payload, sort_keys=True, default=str))
        return _run(op, data, principal, request_id, key, req_hash, address)
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
            metrics.DATABASE_BUSY.labels(op.name).inc()
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
    body = error_body("internal_error", "internal error", [{"request_id": request_id}])
    return json_response(500, body, {"X-Request-Id": request_id})


def _run(
    op: Operation,
    data: BaseModel | None,
    principal: Principal | None,
    request_id: str,
    key: str | None,
    req_hash: str,
    address: str | None = None,
) -> dict[str, Any]:
    caller = Caller(principal=principal, request_id=request_id, operation=op.name, client_address=address)
    headers = {"X-Request-Id": request_id}
    if not op.transactional:  # a scheduled job: it opens the units of work it needs itself
        result = op.handler(caller, data) if op.input is not None else op.handler(caller)
        if isinstance(result, FileResult):
            return file_response(op.status, result, headers)
        return json_response(op.status, _serialise(op, result), headers)

    def work(ctx: Context) -> tuple[int, str | FileResult, bool]:
        record = None
        if key is not None:
            claimed = idempotency.claim(ctx.session, op.name, principal.username if principal else "", key, req_hash)
            if isinstance(claimed, idempotency.StoredResponse):
                return claimed.status_code, claimed.body, True
            record = claimed
        result = op.handler(ctx, data) if op.input is not None else op.handler(ctx)
        status = op.status
        if isinstance(result, FileResult):
            ctx.session.flush()
            return op.status, result, False
        if isinstance(result, Accepted):  # handed on: 202, the body says where its progress is read
            status, result = 202, result.body
        if isinstance(result, BaseModel) and (op.output is not None or status == 202):
            body = result.model_dump_json()  # pydantic-core writes it: compact UTF-8, as json.dumps below
        else:
            body = json.dumps(_serialise(op, result), ensure_ascii=False, separators=(",", ":"))
        if record is not None:
            idempotency.complete(record, status, body)
        ctx.session.flush()
        return status, body, False

    # A read (GET) that is not idempotency-keyed writes nothing: no write lock on SQLite, and it may
    # be served by the replica (DATABASE_READ_URL). Everything else stays on the primary.
    reads_only = op.readonly and key is None
    status, body, replayed = uow.run(work, caller, readonly=reads_only, replica=reads_only)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if isinstance(body, FileResult):
        return file_response(status, body, headers)
    return json_response(status, body, headers)


def _event_id(event: Any) -> str:
    raw = getattr(event, "body", b"") or b""
    try:
        return str(json.loads(raw)["id"])
    except (ValueError, TypeError, KeyError):
        raise ValidationFailed.field("id", "the body must be an event envelope with an id") from None


def _consume(op: Operation, event_id: str, request_id: str) -> dict[str, Any]:
    """Handle a delivered event: look it up in the outbox, process it once, typed."""
    if not op.transactional:
        return _consume_in_steps(op, event_id, request_id)

    def work(ctx: Context) -> dict[str, Any]:
        stored = events.load_event(ctx.session, event_id)
        if stored is None:
            raise NotFound(f"no event {event_id} in the outbox", code="unknown_event",
                           details=[{"field": "id", "message": "no such event"}])
        if stored.type != op.topic:
            raise ValidationFailed.field("type", f"{op.name} consumes {op.topic}, not {stored.type}")
        if not events.claim_event(ctx.session, op.name, event_id):
            return {"event_id": event_id, "consumer": op.name, "status": "already_processed"}
        op.handler(ctx, stored)
        ctx.session.flush()
        return {"event_id": event_id, "consumer": op.name, "status": "processed"}

    caller = Caller(principal=None, request_id=request_id, operation=op.name)
    try:
        result = uow.run(work, caller)
    except Exception as exc:
        outcome = exc.code if isinstance(exc, ErpError) else "failed"
        logs.event_line(consumer=op.name, event_id=event_id, topic=op.topic or "", outcome=outcome,
                        call_id=request_id)
        raise
    metrics.EVENTS_CONSUMED.labels(op.name, result["status"]).inc()
    logs.event_line(consumer=op.name, event_id=event_id, topic=op.topic or "", outcome=result["status"],
                    call_id=request_id)
    return json_response(200, result, {"X-Request-Id": request_id})


def _consume_in_steps(op: Operation, event_id: str, request_id: str) -> dict[str, Any]:
    """A consumer whose work is too long for one transaction (a large import): it gets the typed
    event and the ``Caller``, runs its own units of work, and must be safe to run again and
    concurrently (resuming from the progress it records); the event counts as processed when it
    returns. A repeat delivery after that changes nothing."""
    caller = Caller(principal=None, request_id=request_id, operation=op.name)

    def load(ctx: Context) -> events.Envelope | None:
        if events.already_processed(ctx.session, op.name, event_id):
            return None
        stored = events.load_event(ctx.session, event_id)
        if stored is None:
            raise NotFound(f"no event {event_id} in the outbox", code="unknown_event",
                           details=[{"field": "id", "message": "no such event"}])
        if stored.type != op.topic:
            raise ValidationFailed.field("type", f"{op.name} consumes {op.topic}, not {stored.type}")
        return stored

    stored = uow.run(load, caller, readonly=True)
    if stored is None:
        return json_response(200, {"event_id": event_id, "consumer": op.name, "status": "already_processed"},
                             {"X-Request-Id": request_id})
    op.handler(caller, stored)
    claimed = uow.run(lambda ctx: events.claim_event(ctx.session, op.name, event_id), caller)
    status = "processed" if claimed else "already_processed"
    return json_response(200, {"event_id": event_id, "consumer": op.name, "status": status},
                         {"X-Request-Id": request_id})


def _ready(request_id: str) -> dict[str, Any]:
    """Readiness: 503 without the database, or before its migrations have run (so a function deployed
    ahead of the migration Job takes no traffic); ready but ``degraded`` while Redis fails (reads
    then come from the database and sign-ins are counted in the process), naming it."""
    from . import migrate

    try:
        db.ping()
        schema = migrate.check_schema()
    except Exception as exc:
        raise ServiceUnavailable(f"database not reachable: {exc.__class__.__name__}") from None
    if schema is not None:  # not ready until the migration Job has run: no 500s on a missing table
        raise ServiceUnavailable(schema, code="schema_not_ready")
    from .cache import get_cache

    cache = get_cache().health()
    body = {"status": "degraded" if cache == "down" else "ok", "database": "ok", "cache": cache}
    if cache == "down":
        body["degraded"] = ["redis"]
    return json_response(200, body, {"X-Request-Id": request_id})


def _guarded(request_id: str, serve: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return serve()
    except ErpError as err:
        return error_response(err, request_id)


# --- handlers for the template -----------------------------------------------------------

def _load(domain_names: tuple[str, ...]) -> None:
    """Load these domains (all when none is named); a name that is no domain is a module that
    declares operations outside the shared layer (an extension, a test), imported as it is."""
    known = domains.discover()
    # Every function authenticates, and the users' state it checks belongs to the identity domain.
    domains.load([*(d for d in domain_names if d in known), "identity"] if domain_names else None)
    for name in domain_names:
        if name not in known:
            importlib.import_module(name)
    get_settings()  # fail at start-up, not on the first request, if the settings are unusable


def function_handler(domain: str, name: str) -> Callable[[Any, Any], dict[str, Any]]:
    """The python3-http ``handle(event, context)`` of the function serving operation ``name``."""
    _load((domain,))
    op = REGISTRY.get(name)
    if op is None or op.domain != domain:
        raise LookupError(f"the domain {domain!r} declares no operation {name!r}")

    def handle(event: Any, context: Any) -> dict[str, Any]:
        return dispatch(op, event)

    handle.operations = (name,)  # type: ignore[attr-defined]
    return handle


def pack_operations(service: str, domain_names: tuple[str, ...] = ()) -> dict[str, Operation]:
    """Every HTTP operation and scheduled job of a seed service, keyed by its name in the pack."""
    _load(domain_names)
    return {op.short_name: op for op in REGISTRY.values() if op.service == service and not op.topic}


def due_jobs(ops: Mapping[str, Operation], moment: datetime) -> list[Operation]:
    """The scheduled jobs among ``ops`` whose cron expression matches ``moment``'s minute."""
    from croniter import croniter

    return [op for op in ops.values() if op.schedule and croniter.match(op.schedule, moment)]


def pack_handler(service: str, domain_names: tuple[str, ...] = ()) -> Callable[[Any, Any], dict[str, Any]]:
    """One function serving every operation of ``service`` at ``/function/<service>/<op>[/...]``.

    A pack that holds scheduled jobs also runs, when the cron connector calls it with no path
    (one schedule, every minute), each of its jobs that is due by its own cron expression.
    """
    routes = pack_operations(service, domain_names)

    def run_due_jobs(event: Any, request_id: str) -> dict[str, Any]:
        moment = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        results = {}
        for op in due_jobs(routes, moment):
            response = dispatch(op, event, "/")
            results[op.name] = response["statusCode"]
        return json_response(200, {"at": iso_utc(moment), "ran": results},
                             {"X-Request-Id": request_id})

    def handle(event: Any, context: Any) -> dict[str, Any]:
        path = getattr(event, "path", "/") or "/"
        request_id = _header(event, "X-Call-Id") or uuid.uuid4().hex
        if path.rstrip("/") == "/_/ready":
            return _guarded(request_id, lambda: _ready(request_id))
        segment, _, rest = path.lstrip("/").partition("/")
        if not segment and any(op.schedule for op in routes.values()):
            return run_due_jobs(event, request_id)
        op = routes.get(segment)
        if op is None:
            err = NotFound(f"{service} has no operation {segment!r}", code="unknown_operation",
                           details=[{"field": "operation", "message": "no such operation",
                                     "operations": sorted(routes)}])
            return error_response(err, request_id)
        return dispatch(op, event, "/" + rest)

    handle.operations = tuple(sorted(op.name for op in routes.values()))  # type: ignore[attr-defined]
    return handle


def events_handler(domain_names: tuple[str, ...] = ()) -> Callable[[Any, Any], dict[str, Any]]:
    """One function for every event consumer (the CE packing): the NATS connector sends ``X-Topic``,
    and each consumer of that topic processes the event once, in a unit of work of its own."""
    _load(domain_names)
    consumers: dict[str, list[Operation]] = {}
    for op in REGISTRY.values():
        if op.topic:
            consumers.setdefault(op.topic, []).append(op)

    def handle(event: Any, context: Any) -> dict[str, Any]:
        request_id = _header(event, "X-Call-Id") or uuid.uuid4().hex
        path = getattr(event, "path", "/") or "/"
        if path.rstrip("/") == "/_/ready":
            return _guarded(request_id, lambda: _ready(request_id))
        topic = _header(event, "X-Topic") or ""
        if topic not in consumers:
            err = NotFound(f"no consumer subscribes to {topic!r}", code="unknown_topic",
                           details=[{"field": "X-Topic", "message": "no consumer", "topics": sorted(consumers)}])
            return error_response(err, request_id)
        results = [json.loads(dispatch(op, event, "/")["body"]) for op in consumers[topic]]
        return json_response(200, {"topic": topic, "results": results}, {"X-Request-Id": request_id})

    handle.operations = tuple(sorted(op.name for ops in consumers.values() for op in ops))  # type: ignore[attr-defined]
    return handle
