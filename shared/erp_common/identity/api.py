"""The identity domain's public face: creating the first administrator, and its events."""
from __future__ import annotations

from .events import UserCreated, UserUpdated
from .services import ensure_admin

__all__ = ["ensure_admin", "UserCreated", "UserUpdated"]
