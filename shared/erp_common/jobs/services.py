"""Running scheduled jobs with a run log, and reading that log.

``run_job`` records the start in its own transaction, runs the work (which opens the
transactions it needs, so one bad item does not undo the rest), and records how it ended:
succeeded with what it processed, or failed with the error. A job that fails still leaves its
run in the log.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from ..context import Context
from ..db import transaction, utcnow
from ..events import redeliver_unprocessed, relay_pending
from ..paging import paginate
from ..schemas import Page
from .models import JobRun
from .schemas import JobRunListIn, JobRunOut

log = logging.getLogger(__name__)


def _out(run: JobRun) -> JobRunOut:
    return JobRunOut(
        id=run.id,
        job=run.job,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        processed=run.processed,
        summary=json.loads(run.summary or "{}"),
        error=run.error,
    )


def run_job(name: str, work: Callable[[], dict[str, Any]]) -> JobRunOut:
    """Run ``work`` as job ``name``; its result dict may carry ``processed`` (a count)."""
    with transaction() as session:
        run = JobRun(job=name, status="running", started_at=utcnow(), processed=0, summary="{}")
        session.add(run)
        session.flush()
        run_id = run.id
    status, result, error = "succeeded", {}, None
    try:
        result = work()
    except Exception as exc:  # the run log keeps the failure; the next run tries again
        log.exception("job %s failed", name)
        status, error = "failed", f"{exc.__class__.__name__}: {exc}"[:2000]
    with transaction() as session:
        run = session.get(JobRun, run_id)
        run.status = status
        run.finished_at = utcnow()
        run.processed = int(result.get("processed", 0))
        run.summary = json.dumps(result, default=str)
        run.error = error
        session.flush()
        return _out(run)


def consumers_by_topic() -> dict[str, list[str]]:
    """Every declared event consumer (its function name), by the topic it subscribes to."""
    from ..registry import load_operations

    consumers: dict[str, list[str]] = {}
    for op in load_operations().values():
        if op.topic and op.handler.__module__.startswith("erp_common."):
            consumers.setdefault(op.topic, []).append(op.name)
    return consumers


def relay_events() -> JobRunOut:
    """Publish outbox events that were committed but never published (NATS was down, say), and
    re-invoke every subscriber that has not processed an event a minute after it happened."""

    def work() -> dict[str, Any]:
        result = relay_pending()
        result.update(redeliver_unprocessed(consumers_by_topic()))
        return {"processed": result["published"] + result["redelivered"], **result}

    return run_job("job-relay-events", work)


def list_runs(ctx: Context, data: JobRunListIn) -> Page[JobRunOut]:
    """The run log, newest first."""
    query = select(JobRun)
    if data.job:
        query = query.where(JobRun.job == data.job)
    if data.status:
        query = query.where(JobRun.status == data.status)
    return paginate(ctx.session, query, data, _out, JobRun.id.desc())
