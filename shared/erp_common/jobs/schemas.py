"""Job inputs and outputs."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ..schemas import Line, Output, PageQuery, UtcDateTime


class JobRunOut(Output):
    id: int | None = Field(description="the run's row in the run log (null for a call skipped as a repeat)")
    job: str
    status: str = Field(description="running, succeeded, failed; skipped: the job ran in this period already")
    started_at: UtcDateTime
    finished_at: UtcDateTime | None
    processed: int
    summary: dict[str, Any]
    error: str | None


class JobRunListIn(PageQuery):
    job: Annotated[Line, Field(max_length=100)] | None = None
    status: Literal["running", "succeeded", "failed"] | None = None
