"""The unit of work: one transaction, its context and its events, for every kind of caller.

Requests, event consumers, scheduled jobs, imports and the CLI all change data the same way:
``run(work, caller)`` opens a transaction, builds the ``Context`` (caller, session, clock,
events), calls ``work(ctx)``, writes the events it emitted to the outbox in the same
transaction, commits, then runs the after-commit steps and hands the events to the publisher.
A deadlock or lock wait timeout, or a connection lost before the commit was sent, runs the
whole unit again (nothing of it can have committed); a connection lost during the commit is
not retried, since its outcome is unknown. ``unit_of_work(caller)`` is the same without the
retry, for code that must hold the transaction open across its own steps.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from . import db, events, metrics
from .context import Caller, Context, Principal

log = logging.getLogger(__name__)
T = TypeVar("T")


def system_caller(operation: str, principal: Principal | None = None) -> Caller:
    """The caller of work nobody asked for over HTTP: a job, an event, the CLI."""
    return Caller(principal=principal, request_id=uuid.uuid4().hex, operation=operation)


def _committed(ctx: Context, envelopes: list[str]) -> None:
    for step in ctx.after_commit:
        try:
            step()
        except Exception:
            log.exception("%s: after-commit step failed", ctx.operation)
    events.publish_after_commit(envelopes)


@contextmanager
def unit_of_work(caller: Caller, *, readonly: bool = False) -> Iterator[Context]:
    """One transaction as a block: commit and publish if the block succeeds, roll back if it raises."""
    with db.transaction(readonly=readonly) as session:
        ctx = Context(caller=caller, session=session, now=db.utcnow())
        yield ctx
        envelopes = events.write_outbox(session, ctx.events, ctx.now)
    _committed(ctx, envelopes)


# A unit of work is not retried once this long has passed since it began (a lock wait is bounded by
# ERP_DB_LOCK_WAIT_SECONDS, 3 s): so a request blocked by a held row lock answers 503 within ~6-9 s,
# well inside a function's exec timeout, while deadlocks (answered at once) are retried up to 5 times.
RETRY_SECONDS = 8.0


def run(work: Callable[[Context], T], caller: Caller, *, readonly: bool = False, replica: bool = False,
        attempts: int = 5) -> T:
    """Run ``work(ctx)`` as one unit of work, retried whole on a deadlock or a lost connection
    (``replica``, with ``readonly``: on ``DATABASE_READ_URL`` when it is set, see ``db.transaction``)."""
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with db.transaction(readonly=readonly, replica=replica) as session:
                ctx = Context(caller=caller, session=session, now=db.utcnow())
                result = work(ctx)
                envelopes = events.write_outbox(session, ctx.events, ctx.now)
                committing = True  # from here a lost connection leaves the outcome unknown: no retry
        except DBAPIError as exc:
            lost_before_commit = exc.connection_invalidated and not committing
            if attempt == attempts or not (db.is_retryable(exc) or lost_before_commit):
                raise
            if time.monotonic() - started + db.lock_wait_seconds() > RETRY_SECONDS:
                raise  # another wait for the lock would outlast the budget: 503, try again later
            log.warning("%s: unit of work retried after %s (attempt %d)", caller.operation, exc.orig, attempt)
            metrics.LOCK_RETRIES.inc()
            time.sleep(0.005 * (2 ** attempt))
            continue
        _committed(ctx, envelopes)
        return result
    raise AssertionError("unreachable")
