"""Structured logs: one JSON object per line, one line per request, per event consumed and per job run.

``configure()`` makes every log record of the process a JSON line (of-watchdog passes lines on
unchanged with ``prefix_logs=false``). What could identify or open an account never reaches a
line: passwords, tokens and secrets are never logged by the code, and as a net, whatever looks
like a bearer token or JWT, an e-mail address or a phone number is masked in every message and
field (a database error quoting a duplicate member's phone, say), and fields named like a secret
are dropped. The request line's user id comes from ``set_user``, which the dispatcher calls once
the caller is authenticated, through a context variable (one per request thread).
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

REQUEST_LOG = logging.getLogger("erp.request")
EVENT_LOG = logging.getLogger("erp.event")
JOB_LOG = logging.getLogger("erp.job")

_user: contextvars.ContextVar[int | None] = contextvars.ContextVar("erp_user_id", default=None)

_PATTERNS = [
    (re.compile(r"(?i)\bbearer\s+[\w.~+/-]+=*"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), "[jwt]"),
    (re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Digits, spaces or dashes standing alone (not inside a hex id or a word), 8 digits or more: a phone.
    (re.compile(r"(?<![\w.:-])\+?\d[\d -]{5,18}\d(?![\w.:-])"),
     lambda m: "[phone]" if sum(c.isdigit() for c in m.group()) >= 8 else m.group()),
]
_SECRET_KEY = re.compile(r"(?i)pass|secret|token|authorization|credential|api[_-]?key|phone|email")


# What every pattern above needs somewhere in the text: one search spares most strings (a function
# name, a path, a call id) the four substitutions, on every line of every request.
_MAYBE = re.compile(r"(?i)bearer|eyJ|@|\d[\d -]{5,}\d")


def redact(text: str) -> str:
    """``text`` with anything shaped like a token, an e-mail address or a phone number masked."""
    if not _MAYBE.search(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: ("[redacted]" if _SECRET_KEY.search(str(k)) else _clean(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(_clean(fields))
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):
    """A handler writing to whatever ``sys.stderr`` is when a record comes (not the one it was made with)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure(level: int = logging.INFO, stream: Any = None) -> None:
    """Every record of the process as a JSON line on ``stream`` (stderr). Plain console handlers
    (``logging.basicConfig``'s) are replaced; others (a file, a test's capture) are left alone."""
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if type(old) in (logging.StreamHandler, _Stderr):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def set_user(user_id: int | None) -> None:
    """The authenticated caller of the request being served (for its request line)."""
    _user.set(user_id)


def begin_request() -> contextvars.Token:
    return _user.set(None)


def end_request(token: contextvars.Token) -> int | None:
    user_id = _user.get()
    _user.reset(token)
    return user_id


def request_line(*, function: str, call_id: str | None, method: str, path: str, status: int, duration_ms: float,
                 user_id: int | None) -> None:
    REQUEST_LOG.info("%s %s %s: %d", function, method, path, status, extra={"fields": {
        "kind": "request", "call_id": call_id, "function": function, "method": method, "path": path,
        "status": status, "duration_ms": round(duration_ms, 2), "user_id": user_id}})


def event_line(*, consumer: str, event_id: str, topic: str, outcome: str, call_id: str | None) -> None:
    EVENT_LOG.info("%s %s %s: %s", consumer, topic, event_id, outcome, extra={"fields": {
        "kind": "event", "consumer": consumer, "event_id": event_id, "topic": topic, "outcome": outcome,
        "call_id": call_id}})


def job_line(*, job: str, run_id: int, status: str, duration_ms: float, processed: int, call_id: str | None) -> None:
    JOB_LOG.info("%s run %d %s", job, run_id, status, extra={"fields": {
        "kind": "job", "job": job, "run_id": run_id, "status": status, "duration_ms": round(duration_ms, 2),
        "processed": processed, "call_id": call_id}})
