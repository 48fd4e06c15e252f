"""The python3-http-erp template adapter: HTTP in, ``handle(event, context)``, HTTP out.

It honours the python3-http contract (event with body/headers/method/query/path; context with
hostname; a dict result with statusCode/body/headers) with two fixes: a dict or list body is
real JSON, and a str/bytes body goes out unchanged with the headers the handler set. Any path
and method reaches the handler; chunked request bodies (how of-watchdog forwards them) are read.
In a container ``python index.py`` serves the function's Flask app (``create_app``) on
0.0.0.0:5000 behind of-watchdog; the local gateway mounts ``create_wsgi_app``, the same routes,
event, handler call, metrics and log line without Flask's per-request machinery, which answers
every request exactly as the Flask app does (a test compares the two for every function).
Both are served by ``GracefulServer`` (waitress), which stops on SIGTERM without cutting a request.
"""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask, WSGITask
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as WsgiResponse

from erp_common import logs, metrics
from erp_common.errors import ServiceUnavailable, error_body

METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"]
log = logging.getLogger("erp.server")


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


class JsonErrorTask(ErrorTask):
    """waitress's own answers to requests it cannot parse (a bad request line, a body over the limit),
    in the one JSON error shape rather than text/plain."""

    def execute(self) -> None:
        error = self.request.error
        code = _CODES.get(error.code, error.reason.lower().replace(" ", "_"))
        body = json.dumps(error_body(code, f"{error.reason}: {error.body}",
                                     [{"field": "request", "message": str(error.body)}])).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


_NON_ASCII = re.compile(rb"[\x80-\xff]")


def percent_encode_request_line(header_plus: bytes) -> bytes:
    """Browsers and curl send raw UTF-8 in a query string (``?q=T恤``), which waitress refuses as a bad
    URI: encode those bytes as ``%XX``, which the application decodes back to the same text."""
    line, sep, rest = header_plus.partition(b"\r\n")
    if not _NON_ASCII.search(line):
        return header_plus
    return _NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], line) + sep + rest


# --- serving, and stopping without cutting a request -------------------------------------

REFUSED = "erp.arrived_after_stop"  # environ key: the request began to arrive after the stop


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


def _refuse_after_stop(app: Callable) -> Callable:
    """``app``, answering 503 ``shutting_down`` to the requests that arrived after the stop."""

    def gate(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not environ.get(REFUSED):
            return app(environ, start_response)
        err = ServiceUnavailable("the server is shutting down: send the request again", code="shutting_down",
                                 headers={"Retry-After": "1"})
        body = json.dumps(err.to_body()).encode()
        start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body))), *err.headers.items()])
        return [body]

    return gate


class _Wakeup(wasyncore.file_dispatcher):
    """A pipe that wakes the loop when the stop is asked for; writing never blocks (a signal handler
    writes to it, and a full pipe wakes the loop anyway)."""

    def __init__(self, map: dict) -> None:
        read_end, self._write_end = os.pipe()
        os.set_blocking(self._write_end, False)
        super().__init__(read_end, map=map)
        os.close(read_end)  # the dispatcher keeps a duplicate

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        try:
            self.recv(512)
        except OSError:
            pass

    def wake(self) -> None:
        try:
            os.write(self._write_end, b"x")
        except OSError:
            pass

    def close(self) -> None:
        super().close()
        if self._write_end >= 0:
            os.close(self._write_end)
            self._write_end = -1


class GracefulServer:
    """waitress serving ``app``, stopped by ``stop()`` (SIGTERM, SIGINT) without cutting a request.

    At the stop, the connections the kernel has completed are accepted and what has arrived on
    every connection is read: each request received until then is in flight and is served to the
    end. A request arriving later is answered 503 ``shutting_down`` (JSON, the project's error
    shape) on a connection that is still open; every response from then on says
    ``Connection: close``. The listening sockets stay open ``linger`` seconds (answering 503),
    then close, so new connections are refused; idle connections are closed. ``run()`` returns
    once no request is left, or ``linger + timeout`` seconds after the stop.
    """

    def __init__(self, app: Callable, *, threads: int = 4, linger: float = 0.0, timeout: float = 30.0,
                 **listen: Any) -> None:
        self.linger, self.timeout = linger, timeout
        self.stopping = False  # the drain has begun: requests parsed from now on are refused
        self.draining = threading.Event()  # set once the drain is under way (listener closed if no linger)
        self.reason = "stop"
        self._stop_asked = self._closed = False
        self._linger_until = self._deadline = 0.0
        server = self

        class Parser(HTTPRequestParser):
            def __init__(self, adj: Any) -> None:
                super().__init__(adj)
                self.after_stop = server.stopping

            def parse_header(self, header_plus: bytes) -> None:
                super().parse_header(percent_encode_request_line(header_plus))

        class Task(WSGITask):
            def get_environment(self) -> dict:
                environ = super().get_environment()
                environ[REFUSED] = getattr(self.request, "after_stop", False)
                return environ

            def build_response_header(self) -> bytes:
                if server.stopping:  # no further request on this connection: it closes after this answer
                    self.set_close_on_finish()
                return super().build_response_header()

        class Channel(HTTPChannel):
            parser_class = Parser
            task_class = Task
            error_task_class = JsonErrorTask

        self._server = create_server(_refuse_after_stop(app), threads=threads, **listen)
        self._map: dict = getattr(self._server, "_map", None) or self._server.map
        self._listeners = [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]
        for listener in self._listeners:
            listener.channel_class = Channel
        self._wakeup = _Wakeup(self._map)
        self.port = int(self._listeners[0].effective_port)

    def stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Ask for the graceful stop; safe from a signal handler and from any thread."""
        if signum is not None:
            self.reason = signal.Signals(signum).name
        self._stop_asked = True
        if not self._closed:
            self._wakeup.wake()

    def handle_signals(self, *signums: int) -> None:
        for signum in signums or (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)

    def run(self) -> bool:
        """Serve until ``stop()``, then drain. False if the timeout cut requests still running."""
        adj = self._server.adj
        try:
            while True:
                wasyncore.loop(timeout=0.05 if self._stop_asked else adj.asyncore_loop_timeout, map=self._map,
                               use_poll=adj.asyncore_use_poll, count=1)
                if not self._stop_asked:
                    continue
                now = time.monotonic()
                if not self.stopping:
                    self._begin(now)
                if self._listeners and now >= self._linger_until:
                    self._close_listeners()
                if not self._listeners:
                    self._close_idle()
                    if not self._channels():
                        return True
                if now >= self._deadline:
                    log.warning("%d request(s) still running after %.0f s: stopping anyway", self._in_flight(),
                                self.linger + self.timeout)
                    return False
        finally:
            self._close()

    # --- the drain ----------------------------------------------------------------------

    def _begin(self, now: float) -> None:
        self._linger_until, self._deadline = now + self.linger, now + self.linger + self.timeout
        for listener in self._listeners:
            self._accept_waiting(listener)
        for channel in self._channels():
            self._read_arrived(channel)
        self.stopping = True
        if self.linger <= 0:
            self._close_listeners()
        refused = (f"answered 503 for {self.linger:.1f} s, then refused" if self.linger > 0
                   else "refused (the listening socket is closed)")
        log.info("%s: finishing %d request(s) in flight (at most %.0f s); new requests are %s", self.reason,
                 self._in_flight(), self.timeout, refused)
        self.draining.set()

    def _accept_waiting(self, listener: BaseWSGIServer) -> None:
        """Accept every connection the kernel has completed, and read what each has sent."""
        while True:
            try:
                pair = listener.accept()  # None once none is waiting
            except OSError:  # out of file descriptors, say: the rest are refused with the listener
                return
            if pair is None:
                return
            conn, addr = pair
            try:
                listener.set_socket_options(conn)
            except OSError:
                conn.close()
                continue
            channel = listener.channel_class(listener, conn, listener.fix_addr(addr), listener.adj, map=self._map)
            self._read_arrived(channel)

    @staticmethod
    def _read_arrived(channel: HTTPChannel) -> None:
        """Read what has arrived on ``channel`` (as its loop would), so requests sent are parsed."""
        while channel.connected and channel.readable():
            try:
                data = channel.socket.recv(channel.adj.recv_bytes)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                channel.handle_close()
                return
            if not data:  # the client has gone
                channel.handle_close()
                return
            channel.last_activity = time.time()
            channel.received(data)

    def _close_listeners(self) -> None:
        for listener in self._listeners:
            self._accept_waiting(listener)  # completed connections are answered, not reset
            listener.accepting = False
            wasyncore.dispatcher.close(listener)  # the socket only: its trigger still serves the channels
        self._listeners = []

    def _close_idle(self) -> None:
        for channel in self._channels():
            self._read_arrived(channel)
            if not (channel.requests or channel.request is not None or channel.total_outbufs_len
                    or channel.close_when_flushed or channel.will_close):
                channel.handle_close()

    def _channels(self) -> list[HTTPChannel]:
        return [d for d in list(self._map.values()) if isinstance(d, HTTPChannel)]

    def _in_flight(self) -> int:
        return sum(len(c.requests) + (c.request is not None) for c in self._channels())

    def _close(self) -> None:
        self._closed = True
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(self._map, ignore_all=True)


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
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a warning per queued request, under load
    write_timeout = duration_seconds(os.getenv("write_timeout"), 30.0)
    healthcheck_interval = duration_seconds(os.getenv("healthcheck_interval"), write_timeout)
    port = urlsplit(os.getenv("upstream_url", "http://127.0.0.1:5000")).port or 5000
    server = GracefulServer(create_app(handler.handle, os.getenv("OPENFAAS_NAME", "function")), host="0.0.0.0",
                            port=port, threads=int(os.getenv("WAITRESS_THREADS", "4")),
                            linger=healthcheck_interval + 1.0, timeout=write_timeout)
    server.handle_signals()
    server.run()
    release_resources()


if __name__ == "__main__":
    main()
