"""Running scheduled jobs with a run log, and reading that log.

``run_job`` records the start in its own transaction, runs the work (which opens the
transactions it needs, so one bad item does not undo the rest), and records how it ended:
succeeded with what it processed, or failed with the error. A job that fails still leaves its
run in the log.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import db, domains, logs, metrics, uow
from ..context import Caller, Context
from ..db import utcnow
from ..events import redeliver_unprocessed, relay_pending
from ..operations import REGISTRY
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


def period_start(schedule: str, moment: datetime) -> datetime:
    """The start of the cron period ``moment`` falls in: the latest fire time at or before it."""
    from croniter import croniter

    at = moment.replace(second=0, microsecond=0)
    return at if croniter.match(schedule, at) else croniter(schedule, at).get_prev(datetime)


def run_job(caller: Caller, work: Callable[[], dict[str, Any]]) -> JobRunOut:
    """Run ``work`` as the job ``caller.operation`` and log the run; its result may carry ``processed``.

    A scheduled job runs at most once per period of its cron expression, whoever calls it (the
    cron connector, a second replica's, anyone: the function is reachable without a token): a repeat
    inside the period is skipped (logged; no run row) and answers ``"status": "skipped"``. A
    signed-in administrator or manager may run it again at once. The work opens the units of work
    it needs (``uow.run(..., caller)``), so one bad item does not undo the rest; the start and the
    end of the run are recorded in units of their own.
    """
    op = REGISTRY.get(caller.operation)
    forced = caller.principal is not None and caller.principal.has_any(frozenset({"manager"}))
    now = utcnow()
    period = period_start(op.schedule, now) if op is not None and op.schedule and not forced else None

    def start(ctx: Context) -> int:
        run = JobRun(job=caller.operation, status="running", started_at=ctx.now, processed=0, summary="{}",
                     period_start=period)
        ctx.session.add(run)
        ctx.session.flush()
        return run.id

    started = time.perf_counter()
    try:
        run_id = uow.run(start, caller)
    except IntegrityError:  # this period's run was claimed by another call
        log.info("job %s already ran in the period from %s: this call is skipped", caller.operation, period)
        return JobRunOut(id=None, job=caller.operation, status="skipped", started_at=now, finished_at=now,
                         processed=0, summary={"period_start": period, "reason": "already ran in this period"},
                         error=None)
    status, result, error = "succeeded", {}, None
    try:
        result = work()
    except Exception as exc:  # the run log keeps the failure; the next run tries again
        log.exception("job %s failed", caller.operation)
        status, error = "failed", f"{exc.__class__.__name__}: {exc}"[:2000]

    def finish(ctx: Context) -> JobRunOut:
        run = ctx.session.get(JobRun, run_id)
        run.status, run.finished_at, run.error = status, utcnow(), error
        run.processed = int(result.get("processed", 0))
        run.summary = json.dumps(result, default=str)
        ctx.session.flush()
        return _out(run)

    out = uow.run(finish, caller)
    metrics.JOB_RUNS.labels(caller.operation, status).inc()
    logs.job_line(job=caller.operation, run_id=run_id, status=status, processed=out.processed,
                  duration_ms=(time.perf_counter() - started) * 1000, call_id=caller.request_id)
    return out


def _last_runs_probe() -> Iterable[Metric]:
    """When each job last started, for the alert on a job that did not run (read when scraped:
    one row per job from the index on (job, started_at))."""
    with db.transaction(readonly=True) as session:
        rows = session.execute(select(JobRun.job, func.max(JobRun.started_at)).group_by(JobRun.job)).all()
    gauge = GaugeMetricFamily("erp_job_last_run_timestamp_seconds", "When each scheduled job last started "
                              "(Unix time)", labels=["job_name"])
    for job, started_at in rows:
        gauge.add_metric([job], started_at.timestamp())
    return [gauge]


metrics.DATABASE.add("job_runs", _last_runs_probe)


def consumers_by_topic() -> dict[str, list[str]]:
    """Every declared event consumer (its function name), by the topic it subscribes to."""
    domains.load()
    consumers: dict[str, list[str]] = {}
    for op in REGISTRY.values():
        if op.topic:
            consumers.setdefault(op.topic, []).append(op.name)
    return consumers


def relay_events(caller: Caller) -> JobRunOut:
    """Publish outbox events that were committed but never published (NATS was down, say), and
    re-invoke every subscriber that has not processed an event a minute after it happened."""

    def work() -> dict[str, Any]:
        result = relay_pending()
        result.update(redeliver_unprocessed(consumers_by_topic()))
        return {"processed": result["published"] + result["redelivered"], **result}

    return run_job(caller, work)


def list_runs(ctx: Context, data: JobRunListIn) -> Page[JobRunOut]:
    """The run log, newest first."""
    query = select(JobRun)
    if data.job:
        query = query.where(JobRun.job == data.job)
    if data.status:
        query = query.where(JobRun.status == data.status)
    return paginate(ctx.session, query, data, _out, JobRun.id.desc())
