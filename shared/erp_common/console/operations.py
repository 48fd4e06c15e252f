"""The console function: its static files (``static/``), and the roles each function allows.

``console`` answers ``GET /function/console/<file>`` (``/console/<file>`` through the local gateway),
``index.html`` for the bare path. The files live in the shared layer, which ``configuration.copy``
puts in every image, so the function deploys with them and needs no build step.
"""
from __future__ import annotations

from ..operations import PUBLIC, operation
from .schemas import ConsoleFileIn
from .services import serve_file

operation(
    "console", service="console", summary="The back-office console's pages (static files)",
    input=ConsoleFileIn, roles=PUBLIC, methods=("GET",), path="/{file}", transactional=False,
    content_type="text/html; charset=utf-8",
)(serve_file)
