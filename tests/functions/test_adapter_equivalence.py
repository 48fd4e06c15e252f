"""The local gateway's Flask-free adapter answers as the container's Flask app, for every function.

The template serves a function in its container with Flask (``create_app``); the local gateway
mounts ``create_wsgi_app``, which skips Flask. For every function of ``stack.yml`` and of
``stack.ce.yml`` (each operation of a pack), the same requests go to both apps in-process, built as
the gateway builds them (``/function/<name>`` as SCRIPT_NAME, X-Call-Id, X-Forwarded-For): a
success where one can be made, a validation error, no token, a wrong method, a sub-path, a query
with repeated keys in raw and in percent-encoded UTF-8, a HEAD, a chunked body, an OPTIONS, a
method and a path the router refuses, a redirect, the readiness probe and ``/metrics``.

The handler runs once per request, behind the Flask app; the Flask-free app must hand it the same
event (body, every header in order, method, every query value, path, peer) and is answered with the
same result, so what is compared is the adapters alone, not a database that the first call changed
(ids, times, a replayed idempotency key). Status line, headers and body must be
identical (every header, in order), and so must the request line each logs (but its duration) and
the invocation each counts.
"""
from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from erp_common import logs, metrics
from erp_common.operations import REGISTRY
from erp_local.gateway import _load_module
from erp_local.stack import load_stack
from tests.conftest import ADMIN_PASSWORD, ROOT, auth, unique

INDEX = _load_module("erp_template_equivalence", ROOT / "templates/python3-http-erp/index.py")
NO_RECORD = "2147483000"
RAW_QUERY = "q=T\u00e6\u0081\u00a4&q=x&page=1&page=2&tag=%E8%A1%AB&tag=&flag"  # WSGI's latin-1 view of UTF-8 bytes
ENCODED_QUERY = "q=T%E6%81%A4&q=x&page=1&page=2"
REAL_SET_USER = logs.set_user
USERS_SET: list[int | None] = []  # the users the live handler named for its request line


def _phone() -> str:
    return "139" + f"{uuid.uuid4().int % 10**8:08d}"


class Recorder:
    """The function's handler behind the Flask app (``live``: runs it, records event and result), and
    a stand-in behind the Flask-free app (``replay``: checks the event, answers the recorded result)."""

    def __init__(self, handle: Callable[[Any, Any], Any]) -> None:
        self.handle = handle
        self.recorded: list[tuple[tuple, Any, BaseException | None, list]] = []
        self.pending: list[tuple[tuple, Any, BaseException | None, list]] = []

    @staticmethod
    def event_of(event: Any) -> tuple:
        return (type(event.headers), list(event.headers.items()), event.body, event.method, type(event.query),
                list(event.query.lists()), event.path, event.remote_addr)

    def live(self, event: Any, context: Any) -> Any:
        del USERS_SET[:]
        try:
            result, error = self.handle(event, context), None
        except Exception as exc:  # replayed as raised
            result, error = None, exc
        self.recorded.append((self.event_of(event), result, error, list(USERS_SET)))
        if error is not None:
            raise error
        return result

    def replay(self, event: Any, context: Any) -> Any:
        assert self.pending, "the Flask-free adapter called the handler where Flask did not"
        seen, result, error, users = self.pending.pop(0)
        assert self.event_of(event) == seen, "the handler's event differs between the adapters"
        for user_id in users:  # what the handler told the request line: who it authenticated
            REAL_SET_USER(user_id)
        if error is not None:
            raise error
        return result


class Pair:
    """One function served both ways."""

    def __init__(self, name: str, handle: Callable[[Any, Any], Any]) -> None:
        self.name = name
        self.recorder = Recorder(handle)
        self.flask = INDEX.create_app(self.recorder.live, name)
        self.plain = INDEX.create_wsgi_app(self.recorder.replay, name)
        self.operations: tuple[str, ...] = tuple(getattr(handle, "operations", ()))


def gateway_environ(name: str, method: str, rest: str, *, headers: dict[str, str] | None = None,
                    body: bytes = b"", query: str = "", chunked: bool = False) -> dict:
    """The environ the local gateway hands a function (``Gateway.invoke_wsgi``)."""
    environ = EnvironBuilder(path=f"/function/{name}", method=method, headers=headers or {}).get_environ()
    environ.update({"SCRIPT_NAME": f"/function/{name}", "PATH_INFO": rest, "QUERY_STRING": query,
                    "REMOTE_ADDR": "127.0.0.1", "HTTP_X_CALL_ID": f"call-{uuid.uuid4().hex}",
                    "HTTP_X_FORWARDED_FOR": "203.0.113.9, 127.0.0.1", "wsgi.input": io.BytesIO(body)})
    if chunked:  # as a server passes a chunked request on: no Content-Length, the body to the end
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    elif body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def served(app: Callable, environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    app_iter, status, headers = run_wsgi_app(app, environ)
    try:
        body = b"".join(app_iter)
    finally:
        if hasattr(app_iter, "close"):
            app_iter.close()
    # Every header: the per-request ones (X-Call-Id, X-Duration-Seconds, Date) are the gateway's or the
    # server's, not the adapters', and X-Request-Id is the call id the two are given alike.
    return status, headers.to_wsgi_list(), body


@pytest.fixture(scope="module")
def observed(monkeypatch_module):
    """The request lines and invocations the adapters report, in order."""
    seen: list[tuple] = []
    real_line, real_observe = logs.request_line, metrics.observe_invocation

    def line(**fields: Any) -> None:
        seen.append(("line", tuple(sorted((k, v) for k, v in fields.items() if k != "duration_ms"))))
        real_line(**fields)

    def observe(name: str, status: int, seconds: float, **kw: Any) -> None:
        seen.append(("counted", name, status, tuple(sorted(kw.items()))))
        real_observe(name, status, seconds, **kw)

    def set_user(user_id: int | None) -> None:
        USERS_SET.append(user_id)
        REAL_SET_USER(user_id)

    monkeypatch_module.setattr(logs, "request_line", line)
    monkeypatch_module.setattr(logs, "set_user", set_user)
    monkeypatch_module.setattr(metrics, "observe_invocation", observe)
    return seen


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def compare(pair: Pair, observed: list, environ: dict) -> str:
    """Serve ``environ`` both ways and check they agree; the status served."""
    copy = dict(environ)
    body = environ["wsgi.input"].getvalue()
    copy["wsgi.input"] = io.BytesIO(body)
    recorder = pair.recorder
    recorder.recorded = []
    del observed[:]
    expected = served(pair.flask, environ)
    by_flask = list(observed)
    recorder.pending = list(recorder.recorded)
    del observed[:]
    got = served(pair.plain, copy)
    where = f"{pair.name}: {environ['REQUEST_METHOD']} {environ['PATH_INFO']!r}?{environ['QUERY_STRING']}"
    assert not recorder.pending, f"{where}: Flask called the handler where the Flask-free adapter did not"
    assert got == expected, where
    assert observed == by_flask, where
    return expected[0]


def _requests(pair: Pair, op_name: str, prefix: str, admin: dict[str, str], success: dict) -> list[dict]:
    """The requests every operation of a function gets."""
    op = REGISTRY[op_name]
    method = op.methods[0]
    tail = re.sub(r"\{\w+\}", NO_RECORD, op.path or "")
    path, good_body = success.get(op_name, (tail, None))
    if callable(good_body):
        good_body = good_body()
    wrong = next(m for m in ("DELETE", "PUT", "PATCH", "POST", "GET") if m not in op.methods)
    json_headers = {**admin, "Content-Type": "application/json"}
    body = b"{}" if good_body is None else good_body
    headers = {**json_headers, "X-Topic": op.topic} if op.topic else json_headers
    name, rest = pair.name, prefix + path
    if op.topic:
        body = json.dumps({"id": str(uuid.uuid4())}).encode()
    requests = [
        gateway_environ(name, method, rest or "/", headers=headers, body=body if method != "GET" else b""),
        gateway_environ(name, method, rest or "/", headers=json_headers,
                        body=b'{"lines": "x", "name": 5}' if method != "GET" else b"", query="page=x&page_size=-1"),
        gateway_environ(name, method, rest or "/", body=b"{}" if method != "GET" else b""),  # no token
        gateway_environ(name, "POST", rest or "/", headers=headers, body=b'{"lines": [1'),  # malformed JSON
        gateway_environ(name, wrong, rest or "/", headers=json_headers, body=b"{}"),
        gateway_environ(name, method, f"{rest}/sub/path", headers=json_headers),
        gateway_environ(name, method, rest or "/", headers=admin, query=RAW_QUERY),
        gateway_environ(name, method, rest or "/", headers=admin, query=ENCODED_QUERY),
        gateway_environ(name, "HEAD", rest or "/", headers=admin),
        gateway_environ(name, "POST", rest or "/", headers=headers, body=body, chunked=True),
        gateway_environ(name, "OPTIONS", rest or "/", headers=admin),
    ]
    return requests


def _function_requests(pair: Pair, admin: dict[str, str]) -> list[dict]:
    """What every function gets once, whatever it serves."""
    name = pair.name
    return [
        gateway_environ(name, "TRACE", "/", headers=admin),
        gateway_environ(name, "GET", "/a\nb", headers=admin),  # a path the router refuses
        gateway_environ(name, "OPTIONS", "/a\nb", headers=admin),
        gateway_environ(name, "GET", "", headers=admin),  # redirected to "/"
        gateway_environ(name, "GET", "//", headers=admin),
        gateway_environ(name, "GET", "/static/x", headers=admin),
        gateway_environ(name, "GET", "/_/ready"),
        gateway_environ(name, "GET", "/metrics", headers=admin),  # X-Call-Id: the handler's, as any path
    ]


@pytest.fixture(scope="module")
def admin(make_user) -> dict[str, str]:
    return auth(make_user("admin")[1])


@pytest.fixture(scope="module")
def success(make_sku, put_stock, make_user) -> dict:
    """A request that succeeds, for the operations that need more than an administrator's token."""
    sku_id, _ = make_sku("12.50")
    put_stock(sku_id, 1000)
    admin_id, _ = make_user("admin")
    lines = json.dumps({"lines": [{"sku_id": sku_id, "quantity": 1}]}).encode()

    def body(make: Callable[[], dict]) -> Callable[[], bytes]:
        return lambda: json.dumps(make()).encode()

    return {
        "order-create": ("", lines),
        "price-quote": ("", lines),
        "sku-get": (f"/{sku_id}", None),
        "cost-sku": (f"/{sku_id}", None),
        "user-get": (f"/{admin_id}", None),
        "console": ("/index.html", None),
        "user-login": ("", json.dumps({"username": "admin", "password": ADMIN_PASSWORD}).encode()),
        "category-create": ("", body(lambda: {"name": unique("cat")})),
        "warehouse-create": ("", body(lambda: {"code": unique("W").upper(), "name": "W"})),
        "supplier-create": ("", body(lambda: {"code": unique("S").upper(), "name": "S"})),
        "member-register": ("", body(lambda: {"name": "M", "phone": _phone()})),
        "user-create": ("", body(lambda: {"username": unique("u"), "password": "password-123", "roles": ["cashier"]})),
    }


def _pairs(stack_file: str) -> list[Pair]:
    pairs = []
    for spec in load_stack(ROOT / stack_file).functions.values():
        handler = _load_module(f"erp_equivalence_{spec.name.replace('-', '_')}", spec.handler / "handler.py")
        pairs.append(Pair(spec.name, handler.handle))
    return pairs


@pytest.mark.parametrize("stack_file", ["stack.yml", "stack.ce.yml"])
def test_the_flask_free_adapter_answers_as_flask_for_every_function(stack_file, admin, success, observed):
    statuses: dict[str, int] = {}
    succeeded: set[str] = set()
    pairs = _pairs(stack_file)
    for pair in pairs:
        single = pair.operations == (pair.name,)
        environs = _function_requests(pair, admin)
        for op_name in pair.operations:
            prefix = "" if single else f"/{REGISTRY[op_name].short_name}"
            if REGISTRY[op_name].topic and not single:  # the events pack: one route, by X-Topic
                prefix = ""
            environs += _requests(pair, op_name, prefix, admin, success)
        for environ in environs:
            status = compare(pair, observed, environ)
            statuses[status[:3]] = statuses.get(status[:3], 0) + 1
            if status.startswith("2") and environ["REQUEST_METHOD"] not in ("OPTIONS", "HEAD") \
                    and environ["PATH_INFO"] not in ("/_/ready", "/metrics"):
                succeeded.add(pair.name)
    assert len(pairs) >= (70 if stack_file == "stack.yml" else 10)
    # Each kind of answer was compared: successes, client errors of every kind, the router's own.
    assert {"200", "201", "308", "400", "401", "404", "405", "422"} <= set(statuses), statuses
    assert len(succeeded) >= (35 if stack_file == "stack.yml" else 8), sorted(succeeded)


def test_serving_a_request_never_walks_its_headers(admin, success, monkeypatch):
    """Headers are read by name (``http._header``): never iterated, counted or tested for truth, each
    of which walks the whole WSGI environ (werkzeug's ``EnvironHeaders`` is a view of it)."""
    from werkzeug.datastructures import EnvironHeaders

    walks: list[str] = []
    for method in ("__iter__", "__len__", "__bool__", "items", "keys", "values"):
        real = getattr(EnvironHeaders, method, None)

        def walk(self, *args, _name=method, _real=real, **kwargs):
            walks.append(_name)
            return _real(self, *args, **kwargs) if _real else True

        monkeypatch.setattr(EnvironHeaders, method, walk, raising=False)
    handlers = {pair.name: pair.recorder.handle for pair in _pairs("stack.yml")}
    for name, method, body in (("user-me", "GET", b""), ("order-create", "POST", success["order-create"][1])):
        environ = gateway_environ(name, method, "/", headers={**admin, "Content-Type": "application/json"},
                                  body=body)
        status, _, _ = served(INDEX.create_wsgi_app(handlers[name], name), environ)
        assert status[:1] == "2", (name, status)
    assert walks == []
