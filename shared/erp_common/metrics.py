"""Prometheus metrics of the business: what ``/metrics`` serves on the gateway and on every function.

The invocation series of the gateway keep the OpenFaaS gateway's names and labels
(``gateway_function_invocation_total{function_name,code}``, ``gateway_functions_seconds``), so
one dashboard reads the local gateway and OpenFaaS alike; a function counts its own calls as
``erp_function_invocation_total`` / ``erp_function_seconds`` beside them (of-watchdog's port
8081 has the HTTP-level figures of the container, these are the business's). Counting costs an
increment on the request path; what needs the database (the outbox's lag, when each job last
ran) is read when Prometheus scrapes, by queries on indexed columns, at most every few seconds.
Each process has its own counts (``erp run --workers N`` forks N: scrape each, or run one).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import prometheus_client
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
REGISTRY = prometheus_client.REGISTRY
prometheus_client.disable_created_metrics()  # the *_created series only double what a dashboard reads

# The OpenFaaS gateway's buckets for gateway_functions_seconds are Prometheus's defaults: kept, so
# histogram_quantile() reads both gateways alike.
GATEWAY_INVOCATIONS = Counter("gateway_function_invocation", "Invocations through the gateway, by function and "
                              "HTTP status", ["function_name", "code"])
GATEWAY_SECONDS = Histogram("gateway_functions_seconds", "Time a function took to answer the gateway",
                            ["function_name", "code"])
FUNCTION_INVOCATIONS = Counter("erp_function_invocation", "Requests a function answered, by HTTP status",
                               ["function_name", "code"])
FUNCTION_SECONDS = Histogram("erp_function_seconds", "Time a function took to answer a request",
                             ["function_name", "code"])

ORDERS_CREATED = Counter("erp_orders_created", "Sales orders committed")
STOCK_REFUSALS = Counter("erp_stock_refusals", "Stock postings refused for want of stock (409 insufficient_stock)")
LOGIN_FAILURES = Counter("erp_login_failures", "Sign-ins refused: wrong credentials, or throttled",
                         ["reason"])
LOCK_RETRIES = Counter("erp_db_lock_retries", "Units of work run again after a deadlock, a lock wait timeout "
                       "or a connection lost before the commit")
DATABASE_BUSY = Counter("erp_database_busy", "Requests answered 503 database_busy (locks held past every retry)",
                        ["function_name"])
EVENTS_CONSUMED = Counter("erp_events_consumed", "Events a consumer received, by outcome (processed, or "
                          "already_processed: a repeat delivery)", ["consumer", "outcome"])
EVENT_REDELIVERIES = Counter("erp_event_redeliveries", "Events the relay job delivered again to a consumer that "
                             "had not processed them, by outcome (delivered, failed)", ["consumer", "outcome"])
# (job_name, not job: Prometheus gives every scraped series a ``job`` label of its own.)
JOB_RUNS = Counter("erp_job_runs", "Scheduled job runs, by job and how they ended", ["job_name", "status"])


def observe_invocation(function_name: str, status: int, seconds: float, *, gateway: bool = False) -> None:
    """Count one answered request (the gateway's series, or the function's own)."""
    code = str(status)
    if gateway:
        GATEWAY_INVOCATIONS.labels(function_name, code).inc()
        GATEWAY_SECONDS.labels(function_name, code).observe(seconds)
    else:
        FUNCTION_INVOCATIONS.labels(function_name, code).inc()
        FUNCTION_SECONDS.labels(function_name, code).observe(seconds)


# --- read from the database when scraped ------------------------------------------------

Probe = Callable[[], Iterable[Metric]]


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time, kept ``ttl`` seconds so that several
    Prometheus servers (or a dashboard refreshing) do not each query; a database that does not
    answer yields ``erp_metrics_database_up 0`` and no stale figures."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._probes: dict[str, Probe] = {}
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] = (0.0, [])

    def add(self, name: str, probe: Probe) -> None:
        """Register ``probe`` (a domain adds its own: the core knows no domain's tables)."""
        with self._lock:
            self._probes[name] = probe
            self._cached = (0.0, [])

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            at, metrics = self._cached
            if time.monotonic() - at > self.ttl:
                metrics = self._read()
                self._cached = (time.monotonic(), metrics)
        return list(metrics)

    def _read(self) -> list[Metric]:
        metrics: list[Metric] = []
        up = 1
        for name, probe in list(self._probes.items()):
            try:
                metrics.extend(probe())
            except Exception as exc:  # a scrape must not fail because the database is away
                log.warning("metrics: %s could not be read: %s", name, exc.__class__.__name__)
                up = 0
        gauge = GaugeMetricFamily("erp_metrics_database_up", "1 if the database answered the last scrape's queries")
        gauge.add_metric([], up)
        return [*metrics, gauge]

    def describe(self) -> Iterable[Metric]:
        return []  # read only when scraped: nothing to check at registration


DATABASE = DatabaseCollector()
REGISTRY.register(DATABASE)


def _outbox_probe() -> Iterable[Metric]:
    from sqlalchemy import func, select

    from . import db
    from .events import OutboxEvent

    with db.transaction(readonly=True) as session:
        # ix_outbox_unpublished (published_at, occurred_at): a range on the index, not a table scan.
        count, oldest = session.execute(
            select(func.count(), func.min(OutboxEvent.occurred_at)).where(OutboxEvent.published_at.is_(None))
        ).one()
    now = db.utcnow()
    pending = GaugeMetricFamily("erp_outbox_unpublished_events", "Events committed but not yet published")
    pending.add_metric([], count)
    age = GaugeMetricFamily("erp_outbox_oldest_unpublished_age_seconds",
                            "Age of the oldest event not yet published (0 when none waits)")
    age.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0)
    return [pending, age]


DATABASE.add("outbox", _outbox_probe)


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The registry in the format the scraper asks for (``Accept``), and its content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type
