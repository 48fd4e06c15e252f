"""The identity domain's events: a user created or changed (never a password or a token)."""
from __future__ import annotations

from ..events import DomainEvent
from ..schemas import Id


class UserCreated(DomainEvent):
    event_type = "user.created"

    user_id: Id
    username: str
    roles: list[str]
    by: str


class UserUpdated(DomainEvent):
    event_type = "user.updated"

    user_id: Id
    fields: list[str]
    by: str
