"""The python3-http-erp template adapter: HTTP in, ``handle(event, context)``, HTTP out.

It honours the python3-http contract (event with body/headers/method/query/path; context with
hostname; a dict result with statusCode/body/headers) with two fixes: a dict or list body is
real JSON, and a str/bytes body goes out unchanged with the headers the handler set. Any path
and method reaches the handler; chunked request bodies (how of-watchdog forwards them) are read.
In a container ``python index.py`` serves the function's Flask app (``create_app``) on
0.0.0.0:5000 behind of-watchdog; the local gateway mounts ``create_wsgi_app``, the same routes,
event, handler call, metrics and log line without Flask's per-request machinery, which answers
every request exactly as the Flask app does (a test compares the two for every function).
Both are served by ``GracefulServer`` (granian), which stops on SIGTERM without cutting a request.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WsgiResponse

from erp_common import db, logs, metrics
from erp_common.errors import ServiceUnavailable, error_body

METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"]
log = logging.getLogger("erp.server")
logging.getLogger("_granian").setLevel(logging.WARNING)  # its INFO lines ("Started worker-1") say nothing more


class Event:
    """The python3-http event, read from the request (werkzeug's, or Flask's which extends it)."""

    def __init__(self, request: Request) -> None:
        self.body = request.get_data()
        self.headers = request.headers
        self.method = request.method
        self.query = request.args
        self.path = request.path
        self.remote_addr = request.remote_addr  # the peer: the gateway or watchdog (X-Forwarded-For has the client)


class Context:
    def __init__(self) -> None:
        self.hostname = os.getenv("HOSTNAME", "localhost")


def format_response(result: Any) -> Any:
    if result is None:
        return Response("", status=200)  # what Flask makes of ("", 200), for both adapters
    if not isinstance(result, dict):
        return result  # a Flask Response or tuple, passed through as upstream does
    status = int(result.get("statusCode", 200))
    headers = dict(result.get("headers") or {})
    body = result.get("body", "")
    if isinstance(body, (dict, list)):
        body = json.dumps(body, ensure_ascii=False, default=str)
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    elif body is None:
        body = ""
    elif not isinstance(body, (str, bytes)):
        body = str(body)
    response = Response(body, status=status)
    for name, value in headers.items():
        response.headers[name] = value
    return response


def _status_of(response: Any) -> int:
    if isinstance(response, Response):
        return response.status_code
    if isinstance(response, tuple) and len(response) > 1 and isinstance(response[1], int):
        return response[1]
    return 200


# --- what both adapters do with a request the router has taken ---------------------------

def read_chunked_body(request: Request) -> None:
    """of-watchdog forwards bodies chunked with no Content-Length: let WSGI read to the end."""
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        request.environ["wsgi.input_terminated"] = True


def call_handler(handle: Callable[[Any, Any], Any], name: str, request: Request) -> Any:
    """The handler's answer to ``request``, counted and logged (the readiness probe is neither)."""
    if request.path.startswith("/_/"):  # the watchdog's readiness probe: neither counted nor logged
        return format_response(handle(Event(request), Context()))
    started, scope, status = time.perf_counter(), logs.begin_request(), 500
    try:
        response = format_response(handle(Event(request), Context()))
        status = _status_of(response)
        return response
    finally:
        seconds = time.perf_counter() - started
        metrics.observe_invocation(name, status, seconds)
        logs.request_line(function=name, call_id=request.headers.get("X-Call-Id"), method=request.method,
                          path=request.path, status=status, duration_ms=seconds * 1000,
                          user_id=logs.end_request(scope))


def scrape(handle: Callable[[Any, Any], Any], name: str, request: Request) -> Any:
    """``GET /metrics``. Prometheus scrapes the pod directly; a request through the gateway (which adds
    X-Call-Id) goes to the handler as any other path, so the business's figures are not public."""
    if request.headers.get("X-Call-Id") is not None:
        return call_handler(handle, name, request)
    body, content_type = metrics.exposition(request.headers.get("Accept"))
    return Response(body, status=200, content_type=content_type)


def create_app(handle: Callable[[Any, Any], Any], name: str = "function") -> Flask:
    """The function as a Flask app: what ``python index.py`` serves in the container."""
    app = Flask(name, static_folder=None)  # no /static/<file> route: every path is the handler's

    app.before_request(lambda: read_chunked_body(request))
    app.add_url_rule("/metrics", "scrape", lambda: scrape(handle, name, request), methods=["GET"])

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def handler(path: str) -> Any:
        return call_handler(handle, name, request)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        # What Flask answers before the handler (a path its router does not take, such as one with
        # a newline; a method it does not route): the one JSON error shape, not Werkzeug's HTML.
        return router_error(exc)

    return app


def _url_map() -> Map:
    """The routes ``create_app`` gives Flask, as Flask adds them to its werkzeug ``Map`` (OPTIONS
    added to each rule's methods as Flask adds it, so ``Allow`` lists them in the same order)."""

    def methods(names: list[str]) -> set[str]:
        declared = {item.upper() for item in names}
        declared |= {"OPTIONS"}
        return declared

    return Map([Rule("/metrics", endpoint="scrape", methods=methods(["GET"])),
                Rule("/<path:path>", endpoint="handler", methods=methods(METHODS)),
                Rule("/", endpoint="handler", defaults={"path": ""}, methods=methods(METHODS))])


def create_wsgi_app(handle: Callable[[Any, Any], Any], name: str = "function") -> Callable:
    """The function as a plain WSGI app answering exactly as ``create_app``'s Flask app does, without
    Flask's per-request machinery (application and request contexts, signals, sessions, response
    post-processing): what the local gateway mounts.

    The same pieces do the work: werkzeug's ``Request`` (Flask's request class extends it; the event
    is read from it), werkzeug's router over the same rules (the same 404s, 405s and redirects),
    Flask's ``Response`` class (werkzeug's, defaulting to text/html as Flask's views do), and the
    same ``call_handler``, ``scrape`` and ``router_error``. OPTIONS is answered as Flask answers
    it (200, ``Allow``, no handler call), HEAD runs the handler and drops the body, and an exception
    from the handler is logged as Flask logs it and answered 500 in the JSON error shape. One thing
    Flask does that this does not: turn a handler's tuple or string result into a response (the
    python3-http contract is a dict; every function of the project returns one); such a result is
    a 500 here. ``tests/functions/test_adapter_equivalence.py`` sends the same requests to both
    for every function and compares status, headers and body.
    """
    url_map = _url_map()
    logger = logging.getLogger(name)  # Flask's app.logger

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        read_chunked_body(request)
        try:
            adapter = url_map.bind_to_environ(environ, server_name=None, subdomain="")  # as Flask binds it
            endpoint, _ = adapter.match()
            if request.method == "OPTIONS":
                response = Response()
                response.allow.update(adapter.allowed_methods())
            elif endpoint == "scrape":
                response = scrape(handle, name, request)
            else:
                response = call_handler(handle, name, request)
            if not isinstance(response, WsgiResponse):  # Flask's Response, or werkzeug's
                raise TypeError(f"the handler answered a {type(response).__name__}: return a dict")
        except RequestRedirect as redirect:  # Flask answers werkzeug's redirect as it is
            return redirect(environ, start_response)
        except HTTPException as exc:
            response = router_error(exc)
        except Exception:
            logger.error(f"Exception on {request.path} [{request.method}]", exc_info=True)
            response = router_error(InternalServerError())
        return response(environ, start_response)

    return app


def router_error(exc: HTTPException) -> Response:
    return json_error(exc.code or 500, exc.name, exc.description or exc.name)


_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
          431: "headers_too_large"}


def json_error(status: int, reason: str, message: str) -> Response:
    code = _CODES.get(status, reason.lower().replace(" ", "_"))
    body = json.dumps(error_body(code, message, [{"field": "request", "message": message}]))
    return Response(body, status=status, mimetype="application/json")


# --- serving, and stopping without cutting a request -------------------------------------

CONNECTIONS = 256  # connections one process serves at once; more wait in the kernel's backlog
MAX_BODY = 1 << 30  # bytes of a request body, as waitress allowed before (erp run asks for less)
SETTLE = 0.25  # seconds after the stop during which requests are still served (see GracefulServer)


def duration_seconds(value: str | None, default: float) -> float:
    """An of-watchdog duration ("35s", "1m5s", "500ms", or plain seconds) in seconds."""
    value = (value or "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        pass
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return default
    return sum(float(n) * units[u] for n, u in parts)


def listening_socket(host: str, port: int, backlog: int = 1024, *, reuse_port: bool = False,
                     listen: bool = True) -> socket.socket:
    """A non-blocking socket bound to ``host:port`` and (unless ``listen=False``) listening.

    ``reuse_port`` sets ``SO_REUSEPORT``: several sockets, one per process, may then listen on one
    port, and the kernel spreads the incoming connections over them (by a hash of the client's
    address and port).
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by every accepted connection (Linux): an answer's last segment goes out at once
    # instead of waiting for the client's delayed ACK (~40 ms stalls on keep-alive connections).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(backlog)
    sock.setblocking(False)
    return sock


class _Body:
    """A WSGI response iterable as granian streams it: ``__next__`` and ``close``."""

    __slots__ = ("__next__", "_inner")

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner
        self.__next__ = iter(inner).__next__

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def _json_answer(proto: Any, status: int, body: dict, headers: list[tuple[str, str]]) -> None:
    data = json.dumps(body).encode()
    proto.response_bytes(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                                  ("Connection", "close"), *headers], data)


class GracefulServer:
    """granian serving the WSGI ``app`` in this process, stopped by ``stop()`` (SIGTERM, SIGINT)
    without cutting a request.

    granian (Rust: hyper on tokio) accepts the connections and parses the requests; each request
    is handed at once to a Python thread of its own, where it waits for one of ``threads`` slots
    to run ``app``. At the stop every request received is served to the end, and every answer
    from then on says ``Connection: close``.
    - ``linger == 0`` (``erp run``): granian closes the listening socket at once, so new
      connections are refused, and closes each connection once its last answer is sent.
    - ``linger > 0`` (behind of-watchdog): the listening socket stays open ``linger`` seconds.
      Python cannot see when granian received a request, only when it reaches Python (it may
      wait for the GIL), so requests reaching Python in the first ``SETTLE`` seconds are served;
      later ones are answered 503 ``shutting_down`` (JSON, the project's error shape); then the
      listening socket closes as above.
    ``run()`` returns once no request is left, or ``linger + timeout`` seconds after the stop.

    What granian answers itself, before any Python runs, is not in the JSON shape: a request it
    cannot parse is 400 with an empty body, headers over its buffer 431 (the OpenFaaS gateway and
    of-watchdog, written in Go, answer those in plain text before a function sees them). A body
    over ``max_body`` is 413 in the JSON shape, answered here.
    """

    def __init__(self, app: Callable, *, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None,
                 threads: int = 4, linger: float = 0.0, timeout: float = 30.0, max_body: int = MAX_BODY) -> None:
        self.app, self.threads, self.linger, self.timeout, self.max_body = app, threads, linger, timeout, max_body
        self.stopping = False  # the stop has begun: every answer from now on closes its connection
        self.refusing = False  # requests reaching Python from now on are answered 503 (during the linger)
        self.draining = threading.Event()  # set once the drain is under way (listener closed if no linger)
        self.reason = "stop"
        self._sock = sock if sock is not None else listening_socket(host, port)
        self.port = int(self._sock.getsockname()[1])
        self._slots = threading.BoundedSemaphore(threads)
        db.serve_threads(threads)  # the database pool keeps a connection more than the threads that use it
        self._active: deque[None] = deque()  # one item per request received and not yet answered
        self._done = threading.Event()  # granian has finished every connection
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._stop_asked = False

    def stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Ask for the graceful stop; safe from a signal handler and from any thread."""
        if signum is not None:
            self.reason = signal.Signals(signum).name
        self._stop_asked = True
        try:
            os.write(self._wake_write, b"x")
        except OSError:  # full (a stop is already waiting) or closed (the server has stopped)
            pass

    def handle_signals(self, *signums: int) -> None:
        for signum in signums or (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)

    def run(self) -> bool:
        """Serve until ``stop()``, then drain. False if the timeout cut requests still running."""
        from granian._futures import _new_cbscheduler
        from granian._granian import SocketHolder, WorkerSignal, WSGIWorker
        from granian.http import HTTP1Settings

        fd = self._sock.detach()  # granian's listener owns the socket now, and closes it at the stop
        listener = os.fstat(fd).st_ino
        granian_stop = WorkerSignal()
        granian_stop.add_cb(self._done.set)
        # The arguments of granian's own WSGI worker (granian/server/mp.py, _spawn_wsgi_worker), pinned
        # with granian in requirements.txt: one runtime thread, up to CONNECTIONS Python threads (those
        # beyond ``threads`` wait for a slot), HTTP/1.1 (what of-watchdog and the clients speak), no TLS.
        worker = WSGIWorker(1, (None, SocketHolder(fd, False, 1024)), None, 1, 512, CONNECTIONS, 30, CONNECTIONS,
                            "1", HTTP1Settings(), None, None, False, None, None, None, "tls13", None, [], False,
                            (None, None))
        loop = asyncio.new_event_loop()  # never runs: granian's scheduler wants one, its WSGI worker does not use it
        try:
            worker.serve_mtr(_new_cbscheduler(loop, self._call, impl_asyncio=True), loop, granian_stop)
            while not self._stop_asked:
                # A signal may reach one of granian's threads, which does not interrupt this wait; the
                # main thread runs the Python handler when it next runs: within 0.1 s.
                select.select([self._wake_read], [], [], 0.1)
            return self._drain(granian_stop, fd, listener)
        finally:
            loop.close()
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _drain(self, granian_stop: Any, fd: int, listener: int) -> bool:
        stopped = time.monotonic()
        deadline = stopped + self.linger + self.timeout
        self.stopping = True
        if self.linger > 0:
            # granian parses requests in Rust; one received just before the stop may still be waiting
            # for the GIL to reach Python: served, as is anything arriving in these SETTLE seconds.
            time.sleep(min(SETTLE, self.linger))
            self.refusing = True
            self._log_begin(f"answered 503 for {max(0.0, stopped + self.linger - time.monotonic()):.1f} s, "
                            "then refused")
            self.draining.set()
            time.sleep(max(0.0, stopped + self.linger - time.monotonic()))
        granian_stop.set()  # granian stops accepting, closes the listener, closes connections once idle
        self._wait_closed(fd, listener)
        if self.linger <= 0:
            self._log_begin("refused (the listening socket is closed)")
            self.draining.set()
        if self._done.wait(max(0.0, deadline - time.monotonic())):
            return True
        log.warning("%d request(s) still running after %.0f s: stopping anyway", len(self._active),
                    self.linger + self.timeout)
        return False

    def _log_begin(self, refused: str) -> None:
        log.info("%s: finishing %d request(s) in flight (at most %.0f s); new requests are %s", self.reason,
                 len(self._active), self.timeout, refused)

    @staticmethod
    def _wait_closed(fd: int, listener: int, timeout: float = 2.0) -> None:
        """Wait until granian has closed its listening socket (the fd gone, or now another file)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if os.fstat(fd).st_ino != listener:
                    return
            except OSError:
                return
            time.sleep(0.001)

    # --- one request, in one of granian's Python threads ----------------------------------

    def _call(self, proto: Any, environ: dict) -> None:
        self._active.append(None)
        try:
            if self.refusing:
                err = ServiceUnavailable("the server is shutting down: send the request again", code="shutting_down",
                                         headers={"Retry-After": "1"})
                return _json_answer(proto, 503, err.to_body(), list(err.headers.items()))
            environ.update(_ENVIRON)
            if not self._within_limit(environ):
                message = f"the request body is larger than {self.max_body} bytes"
                return _json_answer(proto, 413, error_body("payload_too_large", message,
                                                           [{"field": "request", "message": message}]), [])
            with self._slots:
                self._respond(proto, environ)
        finally:
            self._active.pop()

    def _within_limit(self, environ: dict) -> bool:
        length = environ.get("CONTENT_LENGTH")
        if length:  # granian has checked it is a number
            return int(length) <= self.max_body
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # of-watchdog forwards every body chunked, with no length: read it (to the limit) first.
            body = environ["wsgi.input"].read(self.max_body + 1)
            if len(body) > self.max_body:
                return False
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return True

    def _respond(self, proto: Any, environ: dict) -> None:
        started: list = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = (status, headers)

        try:
            result = self.app(environ, start_response)
        except Exception:
            log.exception("the application failed before answering")
            body = error_body("internal_error", "internal error")
            return _json_answer(proto, 500, body, [])
        status, headers = int(started[0][:3]), started[1]
        if self.stopping:  # no further request on this connection: it closes after this answer
            headers = [*headers, ("Connection", "close")]
        if isinstance(result, list):
            proto.response_bytes(status, headers, b"".join(result))
        elif _small(headers):
            # Read here and handed over whole: granian's iterator path holds the GIL while it drives the
            # iterator from Rust (18 % of the order path's GIL time when Flask's answers went that way).
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            proto.response_bytes(status, headers, body)
        else:  # a file or an export: streamed
            proto.response_iter(status, headers, _Body(result))


SMALL_BODY = 1 << 20


def _small(headers: list[tuple[str, str]]) -> bool:
    """Whether the answer says it is at most SMALL_BODY bytes long."""
    for name, value in headers:
        if len(name) == 14 and name.lower() == "content-length":
            return value.isdigit() and int(value) <= SMALL_BODY
    return False


_ENVIRON = {"SCRIPT_NAME": "", "wsgi.errors": sys.stderr, "wsgi.input_terminated": True, "wsgi.multiprocess": False,
            "wsgi.multithread": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}


def release_resources(timeout: float = 5.0) -> None:
    """After the last request: publish the events it committed (those not sent in time stay in the
    outbox, where the relay job finds them), then close the NATS, database and Redis connections."""
    from erp_common import cache, db, events

    if not events.background.wait(timeout):
        log.warning("events still unpublished after %.0f s: left in the outbox for the relay job", timeout)
    events.reset_publisher()
    db.dispose_engine()
    cache.reset_cache()


def main() -> None:
    """``python index.py`` behind of-watchdog: serve on its upstream port; on SIGTERM, drain.

    The watchdog passes SIGTERM on at once but keeps accepting for ``healthcheck_interval`` and
    forwarding to us: refused connections would reach its clients as 500s, so the function answers
    503 until a second after the watchdog closes its own listener, then refuses. Requests in flight
    get ``write_timeout`` to finish, as the watchdog gives its own.
    """
    from function import handler

    logs.configure()  # one JSON line per record: the request lines, and every warning
    write_timeout = duration_seconds(os.getenv("write_timeout"), 30.0)
    healthcheck_interval = duration_seconds(os.getenv("healthcheck_interval"), write_timeout)
    port = urlsplit(os.getenv("upstream_url", "http://127.0.0.1:5000")).port or 5000
    server = GracefulServer(create_app(handler.handle, os.getenv("OPENFAAS_NAME", "function")), host="0.0.0.0",
                            port=port, threads=int(os.getenv("ERP_SERVER_THREADS", "4")),
                            linger=healthcheck_interval + 1.0, timeout=write_timeout)
    server.handle_signals()
    server.run()
    release_resources()


if __name__ == "__main__":
    main()
