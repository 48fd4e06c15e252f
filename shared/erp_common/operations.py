"""Declaring a business operation once: what it runs, who may call it, how it is triggered.

A domain declares each of its operations in its ``operations`` module with ``@operation(...)``:
the function name, the seed service it belongs to, methods and path, input and output schemas,
the roles allowed, the success status, whether it takes an Idempotency-Key, and its trigger
(HTTP, an event ``topic`` or a cron ``schedule``) with its scaling class. Everything else is
generated from these declarations: the HTTP dispatch (``http``), the OpenAPI and AsyncAPI
documents, both stack files, the handler folders, the CE packs and the function reference.
Nothing here knows HTTP or SQL.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

PUBLIC = "public"  # anyone, no token
SIGNED_IN = "signed-in"  # any active user
CONNECTOR = "connector"  # invoked by the cron or NATS connector (the work must be safe to repeat)

# Scaling classes a declaration may name; the stack generator turns them into labels.
SCALE_CLASSES = ("api", "hot", "background")

# An OpenFaaS function name: DNS-1035, at most 63 characters.
FUNCTION_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class FileResult:
    """A service result sent as a file rather than as JSON (a CSV export, for example).

    Sent with ``content_type`` and the operation's success status; the transaction,
    authentication and error handling are the same as for JSON results. Not recorded for
    Idempotency-Key replays (declare such operations without ``idempotent``).
    """

    body: str | bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """A request accepted for later processing: answered 202 with ``body`` (a pydantic model, the
    operation's declared ``accepted`` schema, which says where the progress is read)."""

    body: BaseModel


@dataclass(frozen=True)
class Operation:
    name: str
    service: str
    domain: str
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
    content_type: str = "application/json"  # what a success answers (a FileResult's type, for /docs)
    scale: str = "api"
    memory_limit: str | None = None  # the function's memory limit when the default is not enough
    accepted: Any = None  # the schema of a 202 answer, for an operation that may hand work on (Accepted)
    path_regex: re.Pattern | None = field(default=None, compare=False)

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.handler.__doc__ or self.summary)

    @property
    def roles_text(self) -> str:
        if isinstance(self.roles, str):
            return self.roles
        return ", ".join(sorted(self.roles))

    @property
    def trigger(self) -> str:
        """How the function is invoked: ``http``, ``event`` (a topic) or ``schedule``."""
        return "event" if self.topic else "schedule" if self.schedule else "http"

    @property
    def short_name(self) -> str:
        """The operation's name inside its service's pack: ``order-create`` -> ``create``."""
        prefix = self.service + "-"
        return self.name[len(prefix):] if self.name.startswith(prefix) else self.name

    @property
    def readonly(self) -> bool:
        """A GET-only operation: it writes nothing (no write lock; a replica may serve it)."""
        return set(self.methods) == {"GET"}


REGISTRY: dict[str, Operation] = {}


def _compile_path(path: str | None) -> re.Pattern | None:
    if not path:
        return None
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.rstrip("/"))
    return re.compile(f"^{pattern}/?$")


def _domain_of(module: str) -> str:
    """The domain a declaration belongs to: ``erp_common.<domain>...``; outside the shared layer
    (an extension, a test), the declaring module itself, which ``function_handler`` imports."""
    parts = module.split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "erp_common" else module


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
    scale: str | None = None,
    memory_limit: str | None = None,
    accepted: Any = None,
) -> Callable:
    """Declare a business operation served as the OpenFaaS function ``name``.

    The handler takes ``(ctx, data)`` (``ctx`` alone without ``input``); an event consumer
    (``topic``) takes ``(ctx, event)`` with the typed event; a scheduled job declared
    ``transactional=False`` takes the invocation's ``Caller`` and opens its own units of work.
    ``memory_limit`` (``"512Mi"``) raises the function's memory limit above the default, for an
    operation that holds large bodies (docs/benchmarks.md has each function's measured memory).
    """
    if not FUNCTION_NAME.match(name):
        raise ValueError(f"{name!r} is not a DNS-1035 function name")
    scale = scale or ("background" if topic or schedule else "api")
    if scale not in SCALE_CLASSES:
        raise ValueError(f"{name}: scale must be one of {SCALE_CLASSES}, not {scale!r}")
    if memory_limit is not None and not re.fullmatch(r"[1-9][0-9]*Mi", memory_limit):
        raise ValueError(f"{name}: memory_limit is a quantity in Mi such as '512Mi', not {memory_limit!r}")

    def register(fn: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"operation {name!r} is declared twice")
        REGISTRY[name] = Operation(
            name=name, service=service, domain=_domain_of(fn.__module__), handler=fn, summary=summary,
            input=input, output=output, roles=roles if isinstance(roles, str) else frozenset(roles),
            methods=tuple(m.upper() for m in methods), status=status, path=path, idempotent=idempotent,
            topic=topic, schedule=schedule, transactional=transactional, content_type=content_type,
            scale=scale, memory_limit=memory_limit, accepted=accepted, path_regex=_compile_path(path),
        )
        return fn

    return register
