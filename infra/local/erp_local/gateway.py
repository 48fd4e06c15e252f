"""The local gateway: what the OpenFaaS gateway, the NATS connector and the cron connector do,
in one process, for every function in a stack file.

Each function is loaded through its template (``templates/<lang>/index.py``) as the WSGI app
that answers as its container's Flask app does (``create_wsgi_app``), and served at the OpenFaaS
routes: ``/function/<name>[/<path>]`` (any method), ``/async-function/<name>[/<path>]`` (202 +
X-Call-Id, result POSTed to X-Callback-Url), ``<name>.openfaas-fn`` for either, the system API
faas-cli uses (``system_api``), ``GET /healthz``. Events reach functions by their
``topic`` annotation (in-process, or from NATS when NATS_URL is set); ``schedule`` annotations
run as the cron connector would. For people: ``/docs`` (Swagger UI, assets served locally)
and the seed-style paths ``/<service>/<op>``, ``/health``, ``/<service>/health``, ``/<service>/docs``;
``/metrics`` for Prometheus (``erp_common.metrics``: the OpenFaaS gateway's series and the business's).
"""
from __future__ import annotations

import asyncio
import hmac
import importlib.util
import json
import logging
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from croniter import croniter
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request, Response

from erp_common import asyncapi, events, metrics, openapi
from erp_common.config import get_settings
from erp_common.errors import error_body
from erp_common.operations import REGISTRY

from .docs import asset_response, swagger_page
from .stack import FunctionSpec, Stack, load_stack
from .system_api import SystemAPI, resolve_name

log = logging.getLogger("erp.gateway")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
ROOT = Path(__file__).resolve().parents[3]
WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers, mimetype="application/json")


def _error(status: int, code: str, message: str, field: str, **extra: Any) -> Response:
    """The gateway's own errors, in the functions' shape: a detail naming what was wrong."""
    return _json(status, error_body(code, message, [{"field": field, "message": message, **extra}]))


def connector_headers() -> dict[str, str]:
    """What this gateway's connectors send: the connector secret, when one is set."""
    secret = get_settings().connector_secret
    return {"X-Connector-Secret": secret} if secret else {}


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Gateway:
    """A WSGI application standing in for the OpenFaaS gateway and its connectors."""

    def __init__(self, stack: Stack | str | Path, *, templates_dir: Path | None = None, workers: int = 8,
                 schedules: bool = True, events_enabled: bool = True, system_password: str | None = None,
                 callback_hosts: frozenset[str] = LOOPBACK) -> None:
        self.stack = stack if isinstance(stack, Stack) else load_stack(stack)
        # As the OpenFaaS gateway: /system/* behind basic auth (user "admin") when it has a password,
        # which ``erp run`` gives it whenever it listens beyond the loopback interface.
        self.system_password = system_password
        self.callback_hosts = callback_hosts
        self.templates_dir = templates_dir or self.stack.path.parent / "templates"
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gateway-bg")
        self.functions: dict[str, FunctionSpec] = dict(self.stack.functions)
        self.apps: dict[str, WSGIApp] = {}
        self.operations: dict[str, tuple[str, ...]] = {}
        self._templates: dict[str, ModuleType] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connector: NatsConnector | None = None
        self.system = SystemAPI(self)
        for spec in self.functions.values():
            self._load_function(spec)
        self.topics: dict[str, list[str]] = {}
        for spec in self.functions.values():
            for topic in spec.topics:
                if topic != "cron-function":
                    self.topics.setdefault(topic, []).append(spec.name)
        if events_enabled:
            self._subscribe()
        if schedules and any(spec.schedules for spec in self.functions.values()):
            thread = threading.Thread(target=self._scheduler, name="gateway-cron", daemon=True)
            thread.start()
            self._threads.append(thread)

    # --- loading ------------------------------------------------------------------------

    def _template(self, lang: str) -> ModuleType:
        if lang not in self._templates:
            index = self.templates_dir / lang / "index.py"
            if not index.exists():
                raise FileNotFoundError(f"template {lang!r} not found at {index}")
            self._templates[lang] = _load_module(f"erp_template_{lang.replace('-', '_')}", index)
        return self._templates[lang]

    def _load_function(self, spec: FunctionSpec) -> None:
        handler = _load_module(f"erp_function_{spec.name.replace('-', '_')}", spec.handler / "handler.py")
        # The template's Flask-free adapter: the container's Flask app answers the same requests the
        # same way (tests/functions/test_adapter_equivalence.py), at less CPU per request.
        self.apps[spec.name] = self._template(spec.lang).create_wsgi_app(handler.handle, spec.name)
        self.operations[spec.name] = tuple(getattr(handler.handle, "operations", ()))

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        parts = path.strip("/").split("/", 2) if path.strip("/") else []
        if parts and parts[0] in ("function", "async-function") and len(parts) >= 2:
            (name, refused), rest = resolve_name(parts[1]), "/".join(parts[2:])
            if refused is not None:  # a namespace other than openfaas-fn
                return refused(environ, start_response)
            if parts[0] == "function":
                return self.invoke_wsgi(name, rest, environ, start_response)
            return self._async(name, rest, environ)(environ, start_response)
        return self._route(Request(environ), parts)(environ, start_response)

    def _route(self, request: Request, parts: list[str]) -> Response:
        if not parts:
            return _json(200, {"name": "ERP local gateway", "docs": "/docs", "functions": len(self.functions),
                               "services": sorted({s.service for s in self.functions.values()})})
        head = parts[0]
        if head == "healthz":
            return Response("OK", mimetype="text/plain")
        if parts == ["metrics"]:
            body, content_type = metrics.exposition(request.headers.get("Accept"))
            return Response(body, content_type=content_type)
        if parts == ["health"]:
            return self.system.health()
        if head == "system":
            if not self._system_allowed(request):
                return _json(401, error_body("unauthorized", "the system API needs the gateway's basic auth",
                                             [{"field": "Authorization", "message": "basic auth as admin"}]),
                             {"WWW-Authenticate": 'Basic realm="erp-gateway"'})
            return self.system.route(request, parts[1:])
        if head == "docs":
            return self._docs(parts[1:], None)
        service = head
        if self.operations.get(service) == (service,):
            # A function serving the one operation named as its service (the console): every path
            # under /<service>/ is its own (/console/ is its index page, not the service's health).
            rest = request.path.strip("/").split("/", 1)[1] if "/" in request.path.strip("/") else ""
            return self._redirect_internal(service, rest)
        members = self._service_functions(service)
        if not members:
            return _error(404, "not_found", f"no function or service called {service!r}", "path",
                          services=sorted({s.service for s in self.functions.values()}))
        rest = request.path.strip("/").split("/", 1)[1] if "/" in request.path.strip("/") else ""
        op, _, tail = rest.partition("/")
        if op in ("", "health"):
            return self._health(service, members)
        if op in ("docs", "openapi.json"):
            return self._docs(["openapi.json"] if op == "openapi.json" else parts[2:], service)
        if f"{service}-{op}" in self.functions:
            return self._redirect_internal(f"{service}-{op}", tail)
        if op in self.functions and self.functions[op].service == service:  # /stock/warehouse-list
            return self._redirect_internal(op, tail)
        if service in self.functions:
            return self._redirect_internal(service, rest)
        return _error(404, "not_found", f"the {service} service has no operation {op!r}", "path",
                      operations=sorted(self._service_functions(service)))

    def _redirect_internal(self, name: str, rest: str) -> Response:
        # Served in place (not an HTTP redirect): /user/login behaves as /function/user-login.
        return _Passthrough(self, name, rest)  # type: ignore[return-value]

    def invoke_wsgi(self, name: str, rest: str, environ: dict, start_response: Callable) -> Iterable[bytes]:
        app = self.apps.get(name)
        if app is None:
            return _error(404, "function_not_found", f"no function called {name!r}",
                          "function")(environ, start_response)
        self.system.invocations.add(name)
        call_id = environ.get("HTTP_X_CALL_ID") or str(uuid.uuid4())
        inner = dict(environ)
        inner["HTTP_X_CALL_ID"] = call_id
        # As the OpenFaaS gateway's proxy does: the client's address appended to X-Forwarded-For.
        peer = environ.get("REMOTE_ADDR")
        if peer:
            forwarded = environ.get("HTTP_X_FORWARDED_FOR")
            inner["HTTP_X_FORWARDED_FOR"] = f"{forwarded}, {peer}" if forwarded else peer
        inner["SCRIPT_NAME"] = f"/function/{name}"
        inner["PATH_INFO"] = "/" + rest
        started = time.perf_counter()

        def wrapped_start(status: str, headers: list, exc_info=None):
            seconds = time.perf_counter() - started
            metrics.observe_invocation(name, int(status[:3]), seconds, gateway=True)
            headers = list(headers) + [("X-Call-Id", call_id), ("X-Duration-Seconds", f"{seconds:.6f}")]
            return start_response(status, headers, exc_info)

        return app(inner, wrapped_start)

    def call(self, name: str, *, method: str = "POST", path: str = "", body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """Invoke a function in-process (events, schedules, async calls)."""
        builder = EnvironBuilder(path=f"/function/{name}/{path.lstrip('/')}", method=method, data=body,
                                 headers=headers or {})
        environ = builder.get_environ()
        app_iter, status, resp_headers = run_wsgi_app(
            lambda env, sr: self.invoke_wsgi(name, path.lstrip("/"), env, sr), environ
        )
        try:
            data = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        return int(status.split()[0]), dict(resp_headers), data

    # --- async invocation -------------------------------------------------------------

    def _system_allowed(self, request: Request) -> bool:
        if self.system_password is None:
            return True
        given = request.authorization
        return bool(given and given.type == "basic" and given.username == "admin"
                    and hmac.compare_digest((given.password or "").encode(), self.system_password.encode()))

    def _async(self, name: str, rest: str, environ: dict) -> Response:
        request = Request(environ)
        if request.method != "POST":
            return _error(405, "method_not_allowed", "async invocations are POST only", "method")
        if name not in self.apps:
            return _error(404, "function_not_found", f"no function called {name!r}", "function")
        call_id = request.headers.get("X-Call-Id") or str(uuid.uuid4())
        body = request.get_data()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")}
        headers["X-Call-Id"] = call_id
        callback = request.headers.get("X-Callback-Url")
        if callback and urlsplit(callback).hostname not in self.callback_hosts:
            # The result of a call goes only where the operator allows (ERP_CALLBACK_HOSTS): not to any
            # address a caller names, which would make the gateway a proxy into the network.
            return _error(400, "callback_not_allowed", f"callbacks go only to {', '.join(sorted(self.callback_hosts))}"
                          " (ERP_CALLBACK_HOSTS)", "X-Callback-Url")
        query = request.query_string.decode()
        path = rest + (f"?{query}" if query else "")
        self.executor.submit(self._run_async, name, path, body, headers, callback, call_id)
        return Response("", status=202, headers={"X-Call-Id": call_id})

    def _run_async(self, name: str, path: str, body: bytes, headers: dict, callback: str | None, call_id: str) -> None:
        started = time.perf_counter()
        try:
            status, resp_headers, data = self.call(name, path=path, body=body, headers=headers)
        except Exception:
            log.exception("async call %s to %s failed", call_id, name)
            status, resp_headers, data = 500, {}, b""
        if not callback:
            return
        req = urllib.request.Request(callback, data=data, method="POST", headers={
            "Content-Type": resp_headers.get("Content-Type", "application/octet-stream"),
            "X-Call-Id": call_id,
            "X-Function-Name": name,
            "X-Function-Status": str(status),
            "X-Duration-Seconds": f"{time.perf_counter() - started:.6f}",
        })
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except Exception as exc:
            log.warning("callback %s for call %s failed: %s", callback, call_id, exc)

    def _service_functions(self, service: str) -> list[str]:
        return sorted(n for n, s in self.functions.items() if s.service == service or n == service)

    def _health(self, service: str, members: list[str]) -> Response:
        healthy, body = self.system.service_health(service, members)
        return _json(200 if healthy else 503, body)

    # --- docs -------------------------------------------------------------------------

    def openapi_document(self, service: str | None = None) -> dict[str, Any]:
        entries = []
        for name, spec in self.functions.items():
            if service and spec.service != service and name != service:
                continue
            ops = self.operations.get(name, ())
            for op_name in ops:
                op = REGISTRY[op_name]
                if len(ops) == 1 and op_name == name:
                    entries.append((f"/function/{name}", op))
                elif not op.topic:
                    entries.append((f"/function/{name}/{op.short_name}", op))
        title = f"ERP {service} functions" if service else "ERP functions"
        return openapi.document(entries, title)

    def _docs(self, parts: list[str], service: str | None) -> Response:
        base = f"/{service}" if service else "/docs"
        if not parts or parts == [""]:
            spec_url = f"/{service}/openapi.json" if service else "/docs/openapi.json"
            return swagger_page(spec_url, f"ERP {service or 'all'} functions")
        if parts == ["openapi.json"]:
            return _json(200, self.openapi_document(service))
        if parts == ["asyncapi.json"] and service is None:
            return _json(200, asyncapi.document())
        if parts[0] == "assets" and len(parts) >= 2:
            return asset_response(parts[-1])
        return _error(404, "not_found", f"no such page under {base}", "path")

    # --- events -----------------------------------------------------------------------

    def _subscribe(self) -> None:
        if not self.topics:
            return
        if get_settings().nats_url:
            self._connector = NatsConnector(get_settings().nats_url, list(self.topics), self._deliver_async)
        else:
            for topic in self.topics:
                events.local_bus.subscribe(topic, self._deliver_async)

    def _deliver_async(self, topic: str, payload: bytes) -> None:
        for name in self.topics.get(topic, ()):
            self.executor.submit(self._deliver, name, topic, payload)

    def _deliver(self, name: str, topic: str, payload: bytes) -> None:
        # As the connector SDK does: POST the raw message with X-Topic / X-Connector.
        status, _, body = self.call(name, body=payload, headers={
            "Content-Type": "application/json", "X-Topic": topic, "X-Connector": "connector-sdk",
            **connector_headers()})
        if status >= 400:
            log.warning("delivery of %s to %s answered %d: %s", topic, name, status, body[:300])

    # --- schedules --------------------------------------------------------------------

    def due_functions(self, moment: datetime) -> list[str]:
        return [s.name for s in self.functions.values() if any(croniter.match(e, moment) for e in s.schedules)]

    def _scheduler(self) -> None:
        last_minute = None
        while not self._stop.wait(1.0):
            now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            if now == last_minute:
                continue
            last_minute = now
            for name in self.due_functions(now):
                self.executor.submit(self.run_scheduled, name)

    def run_scheduled(self, name: str) -> int:
        status, _, body = self.call(name, headers={"X-Topic": "cron-function", "X-Connector": "cron-connector",
                                                   **connector_headers()})
        if status >= 400:
            log.warning("scheduled run of %s answered %d: %s", name, status, body[:300])
        return status

    def close(self) -> None:
        self._stop.set()
        if self._connector is not None:
            self._connector.close()
        if not get_settings().nats_url:
            for topic in self.topics:
                events.local_bus.unsubscribe(topic, self._deliver_async)
        self.executor.shutdown(wait=True, cancel_futures=False)


class _Passthrough:
    """A WSGI callable serving a seed-style path as the function it maps to."""

    def __init__(self, gateway: Gateway, name: str, rest: str) -> None:
        self.gateway, self.name, self.rest = gateway, name, rest

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        return self.gateway.invoke_wsgi(self.name, self.rest, environ, start_response)


def queue_group() -> str:
    """The connector's NATS queue group: one per database, so the workers of one installation share
    each event while two installations (two test runs) on one NATS server each get their own."""
    import hashlib

    return "erp-gateway-" + hashlib.sha256(get_settings().database_url.encode()).hexdigest()[:12]


class NatsConnector:
    """The NATS connector's job: subscribe to the topics functions ask for, deliver each message.

    NATS away at start does not stop the gateway: the connector keeps trying (once a second,
    with one warning) and subscribes when NATS answers; meanwhile events stay in the outbox and
    ``job-relay-events`` redelivers what subscribers missed.
    """

    READY_WAIT = 5.0

    def __init__(self, url: str, topics: list[str], deliver: Callable[[str, bytes], None]) -> None:
        self._loop = asyncio.new_event_loop()
        self._deliver = deliver
        self._nc = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._starting: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._run, args=(url, topics), name="nats-connector", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.READY_WAIT):
            log.warning("NATS at %s does not answer yet: the connector subscribes when it does", url)
        if self._error is not None:
            raise RuntimeError(f"the NATS connector could not start: {self._error}")

    def _run(self, url: str, topics: list[str]) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            import nats

            try:
                # Connects for ever (max_reconnect_attempts=-1 holds for the first connection too).
                self._nc = await nats.connect(url, name="erp-gateway-connector", max_reconnect_attempts=-1,
                                              reconnect_time_wait=1, connect_timeout=3,
                                              **events.connection_callbacks("the gateway's NATS connector"))

                async def on_message(msg) -> None:
                    self._deliver(msg.subject, msg.data)

                for topic in topics:
                    await self._nc.subscribe(topic, queue=queue_group(), cb=on_message)
                await self._nc.flush()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # reported to the constructor
                self._error = exc
            finally:
                self._ready.set()

        self._starting = self._loop.create_task(start())
        self._loop.run_forever()

    def close(self) -> None:
        async def stop() -> None:
            if self._starting is not None:
                self._starting.cancel()
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.drain()

        try:
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=5)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)


class BackgroundServer:
    """A gateway on a free port in a background thread (tests, benchmarks), served as ``erp run``
    serves it: by the template's ``GracefulServer`` (granian), with its JSON error answers."""

    def __init__(self, stack: str | Path, *, templates_dir: Path, threads: int = 16, schedules: bool = False) -> None:
        from .cli import MAX_BODY, server_module

        self.gateway = Gateway(stack, templates_dir=templates_dir, schedules=schedules)
        self.server = server_module().GracefulServer(self.gateway, threads=threads, timeout=10, host="127.0.0.1",
                                                     port=0, max_body=MAX_BODY)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.run, name="gateway-server", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.stop()
        self.thread.join(timeout=15)
        self.gateway.close()

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
