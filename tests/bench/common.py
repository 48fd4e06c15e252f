"""What every benchmark shares: a fresh database on MariaDB (or SQLite), a gateway on a free
port, N concurrent clients, and latency figures (throughput, p50, p99).

Benchmarks are run by ``make bench`` (``python -m tests.bench``), never by ``make test``: they
print figures, they assert nothing about speed.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def use_database(name: str, backend: str | None = None) -> str:
    """Point the process at a fresh database ``name`` (MariaDB unless ERP_BENCH_BACKEND=embedded)."""
    backend = backend or os.environ.get("ERP_BENCH_BACKEND", "services")
    os.environ.setdefault("JWT_SECRET_KEY", "bench-secret-" + "b" * 40)
    # The benches send thousands of requests a second from one address: no rate limit in the way.
    os.environ.setdefault("ERP_RATE_LIMITS", "sign-in=0,write=0,read=0")
    os.environ.setdefault("ERP_SECRETS_DIR", tempfile.mkdtemp(prefix="erp-bench-secrets-"))
    if backend == "services":
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
        os.environ["DATABASE_URL"] = f"mysql+pymysql://root@127.0.0.1:3306/{name}"
        os.environ["REDIS_URL"] = os.environ.get("ERP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
        os.environ["NATS_URL"] = os.environ.get("ERP_BENCH_NATS_URL", "nats://127.0.0.1:4222")
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='erp-bench-')}/{name}.sqlite3"
        os.environ["REDIS_URL"] = ""
        os.environ["NATS_URL"] = ""
    from erp_common import config, migrate
    from erp_common.cache import reset_cache
    from erp_common.db import dispose_engine
    from erp_common.events import reset_publisher

    config.configure(None)
    dispose_engine()
    reset_cache()
    reset_publisher()
    migrate.upgrade()
    return os.environ["DATABASE_URL"]


def Gateway(threads: int = 16):  # noqa: N802 - reads as the class it returns
    """The local gateway on a free port, serving stack.yml, for the length of a benchmark."""
    from erp_local.gateway import BackgroundServer

    return BackgroundServer(ROOT / "stack.yml", templates_dir=ROOT / "templates", threads=threads)


@dataclass
class Figures:
    label: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def row(self) -> str:
        return (f"| {self.label} | {self.clients} | {self.requests} | {self.errors} | {self.throughput:,.0f} | "
                f"{self.percentile(50):.1f} | {self.percentile(99):.1f} |")

    @staticmethod
    def merge(runs: list[Figures]) -> Figures:
        """Several rounds of one measurement as one: requests over seconds, latencies pooled."""
        first = runs[0]
        return Figures(first.label, first.clients, sum(r.requests for r in runs), sum(r.errors for r in runs),
                       sum(r.seconds for r in runs), [x for r in runs for x in r.latencies_ms])

    @staticmethod
    def header() -> str:
        return ("| what | clients | requests | errors | per second | p50 ms | p99 ms |\n"
                "|---|---|---|---|---|---|---|")


def run_clients(label: str, clients: int, requests_per_client: int,
                make_worker: Callable[[int], Callable[[int], bool]]) -> Figures:
    """Run ``clients`` threads; each calls its worker ``requests_per_client`` times.

    ``make_worker(client_index)`` returns ``work(i) -> ok``; it is built before the clock
    starts, so a client's set-up (an HTTP connection, a token) is not timed.
    """
    workers = [make_worker(c) for c in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        work = workers[index]
        barrier.wait()
        for i in range(requests_per_client):
            started = time.perf_counter()
            ok = work(i)
            latencies[index].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[index] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    flat = [x for per in latencies for x in per]
    return Figures(label, clients, len(flat), sum(errors), seconds, flat)


class CpuMeter:
    """CPU time spent by named groups of processes and by the whole machine, read from /proc (Linux;
    elsewhere it measures nothing). ``groups`` maps a name to a callable giving the group's pids."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.spent: dict[str, float] = {name: 0.0 for name in groups}
        self.machine_busy = 0.0
        self.machine_total = 0.0
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _process_seconds(self, pid: int) -> float:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def _machine(self) -> tuple[float, float]:
        try:
            with open("/proc/stat") as f:
                values = [int(v) for v in f.readline().split()[1:9]]
        except OSError:
            return 0.0, 0.0
        idle = values[3] + values[4]
        return (sum(values) - idle) / self._tick, sum(values) / self._tick

    def __enter__(self) -> CpuMeter:
        self._pids = {name: pids() for name, pids in self.groups.items()}
        self._start = {name: sum(self._process_seconds(p) for p in pids) for name, pids in self._pids.items()}
        self._machine_start = self._machine()
        return self

    def __exit__(self, *exc) -> None:
        for name, pids in self._pids.items():
            self.spent[name] += sum(self._process_seconds(p) for p in pids) - self._start[name]
        busy, total = self._machine()
        self.machine_busy += busy - self._machine_start[0]
        self.machine_total += total - self._machine_start[1]

    def per_request_ms(self, requests: int) -> dict[str, float]:
        return {name: 1000 * seconds / requests for name, seconds in self.spent.items()} if requests else {}

    def busy_share(self) -> float:
        return self.machine_busy / self.machine_total if self.machine_total else 0.0


def pids_named(name: str) -> list[int]:
    """The pids of processes whose command line starts with a program called ``name`` (Linux)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if Path(argv0).name == name:
            found.append(int(entry.name))
    return found


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
