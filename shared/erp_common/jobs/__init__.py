"""Jobs: scheduled work and its run log.

Public face: ``erp_common.jobs.api`` (``run_job`` records a job's run; ``JobRunOut`` is its answer).
"""
from ..domains import Domain

DOMAIN = Domain("jobs", "Scheduled work and its run log")
