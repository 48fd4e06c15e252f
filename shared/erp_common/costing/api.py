"""Costing's public face: the rounding of its figures (it owns no tables and emits no events)."""
from __future__ import annotations

from .services import round_percent

__all__ = ["round_percent"]
