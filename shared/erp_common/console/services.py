"""Serving the console's static files, and ``operations.json``: the roles each declared function allows.

The pages offer a function only to the roles it allows; they read that from ``operations.json``,
built here from the declarations themselves (so it cannot drift from them). Building it loads
every domain's declarations once per process (their operations, not their data).
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from ..context import Caller
from ..errors import NotFound
from ..operations import FileResult
from .schemas import ConsoleFileIn

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {"html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
         "js": "text/javascript; charset=utf-8", "json": "application/json; charset=utf-8",
         "svg": "image/svg+xml"}
# no-cache: the browser revalidates, so a new deployment's pages reach it at once.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@cache
def operations_json() -> bytes:
    """Every HTTP function's name -> its roles (``public``, ``signed-in`` or a list), methods and service."""
    from .. import domains
    from ..operations import REGISTRY

    domains.load()
    # service and short: where the CE packing (stack.ce.yml) serves it, /function/<service>/<short>.
    table = {op.name: {"roles": op.roles if isinstance(op.roles, str) else sorted(op.roles),
                       "methods": list(op.methods), "service": op.service, "short": op.short_name}
             for op in REGISTRY.values() if op.trigger == "http"}
    return json.dumps(table, sort_keys=True, separators=(",", ":")).encode()


def serve_file(caller: Caller, data: ConsoleFileIn) -> FileResult:
    if data.file == "operations.json":
        body = operations_json()
    else:
        # Read at each request (a few KB): an edited page shows at the next reload under `make run`.
        path = STATIC / data.file  # the name's pattern keeps it inside STATIC
        body = path.read_bytes() if path.is_file() else None
    if body is None:
        raise NotFound(f"the console has no file {data.file!r}", code="not_found",
                       details=[{"field": "file", "message": "no such file"}])
    return FileResult(body, TYPES[data.file.rsplit(".", 1)[1]], HEADERS)
