"""What a service operation receives besides its input: the session, the caller, the clock.

Domain services take ``(ctx, data)``; they use ``ctx.session`` for data, ``ctx.principal`` for
who is asking, and ``ctx.emit`` to record an event in the same transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .cache import Cache, get_cache
from .config import Settings, get_settings
from .errors import Unauthorized
from .events import OutboxEvent, new_event, publish_after_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """The signed-in user a request acts for."""

    user_id: int
    username: str
    roles: frozenset[str]

    def has_any(self, roles: frozenset[str]) -> bool:
        return "admin" in self.roles or bool(self.roles & roles)


@dataclass
class Context:
    session: Session
    principal: Principal | None
    request_id: str
    now: datetime
    operation: str = ""
    events: list[OutboxEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return get_settings()

    @property
    def cache(self) -> Cache:
        return get_cache()

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise Unauthorized("sign in first")
        return self.principal

    @property
    def actor(self) -> str:
        """Who did it, for audit columns: the username, or the system for jobs and events."""
        return self.principal.username if self.principal else "system"

    def on_commit(self, step: Callable[[], None]) -> None:
        """Run ``step`` once the transaction has committed (cache invalidation, for example)."""
        self.after_commit.append(step)

    def emit(self, type_: str, data: dict[str, Any], version: int = 1) -> None:
        self.events.append(new_event(self.session, type_, data, version))

    def committed(self) -> None:
        """The transaction committed: run the after-commit steps, then hand the events to the publisher."""
        for step in self.after_commit:
            try:
                step()
            except Exception:
                log.exception("%s: after-commit step failed", self.operation)
        publish_after_commit([e.envelope() for e in self.events])
