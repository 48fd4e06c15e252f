"""The job functions: the event relay and the run log."""
from __future__ import annotations

from ..operations import CONNECTOR, operation
from ..schemas import Page
from . import services
from .schemas import JobRunListIn, JobRunOut

operation(
    "job-relay-events", service="job", summary="Publish outbox events that were never published",
    output=JobRunOut, roles=CONNECTOR, schedule="* * * * *", transactional=False,
)(services.relay_events)
operation(
    "job-run-list", service="job", summary="The run log of scheduled jobs", input=JobRunListIn,
    output=Page[JobRunOut], roles=("admin", "manager"), methods=("GET",),
)(services.list_runs)
