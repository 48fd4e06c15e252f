"""The python3-http-erp template adapter: HTTP in, ``handle(event, context)``, HTTP out.

It honours the python3-http contract (event with body/headers/method/query/path; context with
hostname; a dict result with statusCode/body/headers) with two fixes: a dict or list body is
real JSON, and a str/bytes body goes out unchanged with the headers the handler set. Any path
and method reaches the handler; chunked request bodies (how of-watchdog forwards them) are read.
In a container ``python index.py`` serves the function on 0.0.0.0:5000 behind of-watchdog; the
local gateway imports ``create_app`` and mounts one app per function, so both run this code.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"]


class Event:
    def __init__(self) -> None:
        self.body = request.get_data()
        self.headers = request.headers
        self.method = request.method
        self.query = request.args
        self.path = request.path


class Context:
    def __init__(self) -> None:
        self.hostname = os.getenv("HOSTNAME", "localhost")


def format_response(result: Any) -> Any:
    if result is None:
        return ("", 200)
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


def create_app(handle: Callable[[Any, Any], Any], name: str = "function") -> Flask:
    app = Flask(name)

    @app.before_request
    def read_chunked_body() -> None:
        # of-watchdog forwards bodies chunked with no Content-Length: let WSGI read to the end.
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            request.environ["wsgi.input_terminated"] = True

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def call_handler(path: str) -> Any:
        return format_response(handle(Event(), Context()))

    return app


if __name__ == "__main__":
    from function import handler
    from waitress import serve

    serve(
        create_app(handler.handle, os.getenv("OPENFAAS_NAME", "function")),
        host="0.0.0.0",
        port=5000,
        threads=int(os.getenv("WAITRESS_THREADS", "4")),
    )
