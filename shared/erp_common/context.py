"""What a service operation receives besides its input: the caller, the session, the clock, the events.

Domain services take ``(ctx, data)``; they use ``ctx.session`` for data, ``ctx.principal`` for
who is asking, ``ctx.now`` for the time of the unit of work, and ``ctx.emit(SomeEvent(...))`` to
record a typed event that is written to the outbox in the same transaction. A ``Context`` is
only ever made by the unit of work (``erp_common.uow``), which also publishes its events after
commit.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .config import Settings, get_settings
from .errors import Unauthorized

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .cache import Cache
    from .events import DomainEvent


@dataclass(frozen=True)
class Principal:
    """The signed-in user a request acts for."""

    user_id: int
    username: str
    roles: frozenset[str]

    def has_any(self, roles: frozenset[str]) -> bool:
        return "admin" in self.roles or bool(self.roles & roles)


@dataclass(frozen=True)
class Caller:
    """Who invoked an operation, and as which request: the same for every unit of work it opens."""

    principal: Principal | None
    request_id: str
    operation: str
    client_address: str | None = None  # where an HTTP request came from (throttling by address)

    @property
    def actor(self) -> str:
        """Who did it, for audit columns: the username, or the system for jobs and events."""
        return self.principal.username if self.principal else "system"


@dataclass
class Context:
    caller: Caller
    session: Session
    now: datetime
    events: list[DomainEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def principal(self) -> Principal | None:
        return self.caller.principal

    @property
    def request_id(self) -> str:
        return self.caller.request_id

    @property
    def operation(self) -> str:
        return self.caller.operation

    @property
    def actor(self) -> str:
        return self.caller.actor

    @property
    def user(self) -> Principal:
        if self.principal is None:
            raise Unauthorized("sign in first")
        return self.principal

    @property
    def settings(self) -> Settings:
        return get_settings()

    @property
    def cache(self) -> Cache:
        from .cache import get_cache

        return get_cache()

    def on_commit(self, step: Callable[[], None]) -> None:
        """Run ``step`` once the transaction has committed (cache invalidation, for example)."""
        self.after_commit.append(step)

    def emit(self, event: DomainEvent) -> None:
        """Record an event: written to the outbox with this unit of work, published after its commit."""
        self.events.append(event)
