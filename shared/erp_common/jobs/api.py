"""The jobs domain's public face: running a scheduled job with a run log entry."""
from __future__ import annotations

from .schemas import JobRunOut
from .services import run_job

__all__ = ["JobRunOut", "run_job"]
