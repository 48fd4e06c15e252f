"""Order-create throughput: the full path (HTTP, auth, validation, pricing, reservation, ledger, outbox,
publish) through the local gateway on MariaDB, beside the same transaction as raw SQL with PyMySQL.

Each order has 2 lines of 2 different SKUs picked at random from a pool with plenty of stock, so
the figures measure the work of an order, not a queue on one hot row. The baseline does what
the service does in its transaction (read the SKUs with their 2 stock rows and lock them in one
query, update the stock rows in one statement, insert the order, its lines, 2 ledger rows and the
outbox event, commit) with no web
stack, no ORM, no validation and no authentication; the ratio is full / raw orders per second.
The gateway runs in a process of its own (as a function does in production), so the clients'
HTTP work does not share its interpreter. A second row sends the same clients to one
``erp run --workers 2`` (``ERP_BENCH_WORKERS``): processes sharing the port, one interpreter each;
a third to the ``order-create`` function served by its template in one process, as its container
serves it (what one replica does). The last lines put a ratio of 0.5 in CPU: what the server may
spend per order for it on this machine, beside the order path's own cost with no HTTP, one order
at a time (``ERP_BENCH_FLOOR_ORDERS``, 1,000). ``ERP_BENCH_THREADS`` (16) sets erp run's request threads.

``ERP_BENCH_SECONDS`` (default 6) is roughly how long each row's runs last in all, spread over
``ERP_BENCH_ROUNDS`` (default 3) rounds that alternate the served runs and the raw baseline; a row
adds its rounds up (requests over seconds, latencies pooled). Each run's CPU is read per process
(the server, MariaDB, Redis + NATS, the clients) over its rounds, per order. The last line says
whether issue 15's target holds at 16 clients with ``--workers 2`` (ratio >= 0.5, p99 <= 2 x raw's).
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from tests.bench.common import CpuMeter, Figures, Gateway, pids_named, run_clients, use_database

CLIENTS = (1, 4, 16)
SKUS = 200
STOCK = Decimal(10**9)


def _seed() -> tuple[list[int], list[str], int]:
    """SKUs with plenty of stock, and cashiers' tokens; (sku ids, tokens, warehouse id)."""
    from sqlalchemy import select

    from erp_common import auth, uow
    from erp_common.catalog.models import Category, Item, Sku
    from erp_common.db import transaction, utcnow
    from erp_common.identity.models import User, UserRole
    from erp_common.inventory.api import RECEIPT, StockDocument, StockLine, post_stock
    from erp_common.inventory.models import Warehouse

    now = utcnow()
    with transaction() as session:
        warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.is_default.is_(True)))
        category = Category(name="bench", path="/", level=1, sort_order=0, created_at=now, updated_at=now)
        session.add(category)
        session.flush()
        item = Item(name="bench item", category_id=category.id, price=Decimal("10.00"), status="on_sale",
                    description="", unit="pcs", brand="", spec_names="[]", created_by="bench",
                    created_at=now, updated_at=now)
        session.add(item)
        session.flush()
        skus = [Sku(item_id=item.id, code=f"BENCH{i:04d}", specs="{}", spec_key=str(i),
                    price=Decimal("10.00") + i, status="on_sale", created_at=now, updated_at=now)
                for i in range(SKUS)]
        session.add_all(skus)
        session.flush()
        sku_ids = [s.id for s in skus]
        users = []
        for i in range(16):
            user = User(username=f"bench{i}", password_hash="x", full_name="", is_active=True, token_version=1,
                        created_at=now, updated_at=now, role_rows=[UserRole(role="cashier")])
            session.add(user)
            users.append(user)
        session.flush()
        tokens = [auth.issue_token(u.id, u.username, ["cashier"], 1).token for u in users]
    seed = StockDocument("bench", "seed", [StockLine(s, warehouse_id, RECEIPT, STOCK) for s in sku_ids])
    uow.run(lambda ctx: post_stock(ctx, seed), uow.system_caller("bench-seed"))
    return sku_ids, tokens, warehouse_id


def _pair(rng: random.Random, sku_ids: list[int]) -> tuple[int, int]:
    a, b = rng.sample(sku_ids, 2)
    return a, b


def _requests_per_client(clients: int, rate_guess: float) -> int:
    seconds = float(os.environ.get("ERP_BENCH_SECONDS", "6"))
    return max(20, int(rate_guess * seconds / clients))


def run_full(url: str | list[str], sku_ids: list[int], tokens: list[str], clients: int, per_client: int,
             label: str = "full path (HTTP)", path: str = "/function/order-create") -> Figures:
    """Each client a keep-alive connection with ``http.client`` (the standard library's): it costs
    the shared machine about 0.15 ms of CPU a request where httpx costs 0.55 ms, and the clients
    run beside the gateway on the same cores (the raw baseline's client is PyMySQL, as lean)."""
    import http.client
    from urllib.parse import urlsplit

    urls = [url] if isinstance(url, str) else url

    def make_worker(index: int):
        where = urlsplit(urls[index % len(urls)])
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        headers = {"Authorization": f"Bearer {tokens[index]}", "Content-Type": "application/json"}
        rng = random.Random(index)

        def work(i: int) -> bool:
            a, b = _pair(rng, sku_ids)
            body = json.dumps({"lines": [{"sku": a, "qty": 1}, {"sku": b, "qty": 2}]})
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            return response.status == 201

        conn.request("GET", "/healthz" if path.startswith("/function/") else "/_/ready")  # connect first
        conn.getresponse().read()
        return work

    return run_clients(label, clients, per_client, make_worker)


def run_raw(database: str, sku_ids: list[int], warehouse_id: int, clients: int, per_client: int) -> Figures:
    import pymysql

    def make_worker(index: int):
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=database,
                               autocommit=False, charset="utf8mb4")
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        rng = random.Random(1000 + index)

        def work(i: int) -> bool:
            a, b = sorted(_pair(rng, sku_ids))
            qty = {a: Decimal(1), b: Decimal(2)}
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            try:
                with conn.cursor() as cur:
                    # As the service does: the SKUs and their stock rows read and locked in one query.
                    cur.execute("SELECT s.id, s.code, s.price, s.status, l.id, l.sku_id, l.on_hand, l.reserved "
                                "FROM skus s LEFT JOIN stock_levels l ON l.sku_id = s.id AND l.warehouse_id = %s "
                                "WHERE s.id IN (%s, %s) ORDER BY s.id FOR UPDATE", (warehouse_id, a, b))
                    rows = cur.fetchall()
                    skus = {r[0]: r[:4] for r in rows}
                    levels = {r[5]: r[4:] for r in rows}
                    for sku_id in (a, b):
                        if levels[sku_id][2] - levels[sku_id][3] < qty[sku_id]:
                            conn.rollback()
                            return False
                    cur.execute("UPDATE stock_levels SET reserved = CASE id WHEN %s THEN %s WHEN %s THEN %s END, "
                                "updated_at = %s WHERE id IN (%s, %s)",
                                (levels[a][0], levels[a][3] + qty[a], levels[b][0], levels[b][3] + qty[b], now,
                                 levels[a][0], levels[b][0]))
                    total = sum(skus[s][2] * qty[s] for s in (a, b))
                    cur.execute("INSERT INTO sales_orders (customer_id, warehouse_id, status, total_amount, "
                                "paid_amount, refunded_amount, note, created_by, created_at, updated_at) "
                                "VALUES (NULL, %s, 'pending_payment', %s, 0, 0, '', 'raw', %s, %s)",
                                (warehouse_id, total, now, now))
                    order_id = cur.lastrowid
                    number = f"SO{now:%Y%m%d}{order_id:06d}"
                    cur.executemany(
                        "INSERT INTO sales_order_lines (order_id, line_no, sku_id, sku_code, unit_price, quantity, "
                        "amount, qty_shipped, qty_returned, qty_released) VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0, 0)",
                        [(order_id, n + 1, s, skus[s][1], skus[s][2], qty[s], skus[s][2] * qty[s])
                         for n, s in enumerate((a, b))])
                    cur.executemany(
                        "INSERT INTO stock_ledger (stock_level_id, sku_id, warehouse_id, type, qty_on_hand, "
                        "qty_reserved, on_hand_after, reserved_after, doc_type, doc_id, reason, actor, created_at) "
                        "VALUES (%s, %s, %s, 'reserve', 0, %s, %s, %s, 'sales_order', %s, '', 'raw', %s)",
                        [(levels[s][0], s, warehouse_id, qty[s], levels[s][2], levels[s][3] + qty[s], number, now)
                         for s in (a, b)])
                    cur.execute("INSERT INTO outbox_events (id, type, version, data, occurred_at, attempts) "
                                "VALUES (%s, 'order.created', 1, %s, %s, 0)",
                                (str(uuid.uuid4()), json.dumps({"order_id": order_id, "number": number}), now))
                conn.commit()
                return True
            except pymysql.err.OperationalError:
                conn.rollback()
                return False

        return work

    return run_clients("raw SQL (PyMySQL)", clients, per_client, make_worker)


def run_in_process(sku_ids: list[int], tokens: list[str], orders: int) -> float:
    """The order path's own cost: ``orders`` orders through the local gateway's WSGI application in
    this process, one at a time, with no socket and no server (the same function, handler, unit of
    work, statements and events as served). Gives the CPU per order, in ms, of the thread that runs
    them: the request's own work, without the background thread that publishes the events (which
    publishes each order's apart here, where under load it publishes many at once)."""
    import io

    from erp_common.events import background
    from erp_local.gateway import Gateway as WsgiGateway
    from tests.bench.common import ROOT

    gateway = WsgiGateway(ROOT / "stack.yml", templates_dir=ROOT / "templates", schedules=False, events_enabled=False)
    rng = random.Random(7)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[0]}", "CONTENT_TYPE": "application/json"}

    def order() -> None:
        a, b = _pair(rng, sku_ids)
        body = json.dumps({"lines": [{"sku": a, "qty": 1}, {"sku": b, "qty": 2}]}).encode()
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/function/order-create", "QUERY_STRING": "",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "127.0.0.1", **headers}
        status: list[str] = []
        b"".join(gateway(environ, lambda s, h, exc_info=None: status.append(s)))
        if not status[0].startswith("201"):
            raise RuntimeError(f"an order in process answered {status[0]}")

    try:
        for _ in range(100):  # warm-up: this process's imports, pool, copies
            order()
        started = time.thread_time()
        for _ in range(orders):
            order()
        spent = time.thread_time() - started
        background.wait(5)
        return 1000 * spent / orders
    finally:
        gateway.close()


def _wait_ready(process: subprocess.Popen, url: str, what: str) -> None:
    """Wait (60 s at most) until ``url`` answers 200; kill ``process`` if it never does or exits."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.2)


class GatewayProcess:
    """``erp run`` in a process of its own, as the functions run in production: the clients'
    HTTP work then does not share the server's interpreter (and its GIL). ``ERP_BENCH_INPROCESS=1``
    uses the in-process ``common.Gateway`` instead."""

    def __init__(self, threads: int = 16, workers: int = 1, env: dict[str, str] | None = None) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "erp_local.cli", "run", "--port", str(port), "--threads", str(threads),
             "--no-migrate", "--workers", str(workers)],
            env={**os.environ, "ERP_ADMIN_PASSWORD": "bench-admin-password", **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(self.process, self.url + "/healthz", "the gateway")

    def pids(self) -> list[int]:
        """The gateway's process and its workers (Linux: children read from /proc)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    children.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return [self.process.pid, *children]

    def __enter__(self) -> GatewayProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class FunctionProcess(GatewayProcess):
    """``order-create`` served by its template in one process, as its container serves it: the build
    context laid out as ``faas-cli build --shrinkwrap`` does, byte-compiled as the Dockerfile does, and
    ``python index.py`` started with the image's environment (of-watchdog's upstream). Its figures say
    what one replica does; requests go to it directly (in the cluster they pass the watchdog first)."""

    def __init__(self, name: str = "order-create") -> None:
        import shutil
        import socket
        import tempfile

        from tests.unit.test_image_layout import shrinkwrap

        self.work = Path(tempfile.mkdtemp(prefix="erp-bench-function-"))
        self._cleanup = lambda: shutil.rmtree(self.work, ignore_errors=True)
        context = shrinkwrap("stack.yml", name, self.work)
        (context / "function" / "__init__.py").touch()
        subprocess.run([sys.executable, "-m", "compileall", "-q", "index.py", "function"], cwd=context, check=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": str(context / "function" / "shared"), "OPENFAAS_NAME": name,
               "upstream_url": self.url, "write_timeout": "10s", "healthcheck_interval": "0s"}
        self.process = subprocess.Popen([sys.executable, "index.py"], cwd=context, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(self.process, self.url + "/_/ready", name)

    def pids(self) -> list[int]:
        return [self.process.pid]

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self._cleanup()


def main() -> None:
    name = "erp_bench_orders"
    url = use_database(name)
    sku_ids, tokens, warehouse_id = _seed()
    database = url.rsplit("/", 1)[-1].split("?")[0]
    inprocess = os.environ.get("ERP_BENCH_INPROCESS") == "1"
    workers = int(os.environ.get("ERP_BENCH_WORKERS", "2"))
    rounds = int(os.environ.get("ERP_BENCH_ROUNDS", "3"))
    services = {"MariaDB": lambda: pids_named("mariadbd"),
                "Redis + NATS": lambda: pids_named("redis-server") + pids_named("nats-server"),
                "clients (this process)": lambda: [os.getpid()]}
    one, many, function = "erp run, 1 process", f"erp run --workers {workers}", "order-create function, 1 process"
    # per client count: label -> (figures of each round, CPU meter)
    results: dict[int, dict[str, tuple[list[Figures], CpuMeter]]] = {}
    threads = int(os.environ.get("ERP_BENCH_THREADS", "16"))  # erp run's request threads per process
    with (Gateway(threads=threads) if inprocess else GatewayProcess(threads=threads)) as gateway, \
            (contextlib.nullcontext() if inprocess else GatewayProcess(threads=threads, workers=workers)) as second, \
            (contextlib.nullcontext() if inprocess else FunctionProcess()) as replica:
        print(f"gateway: {'in this process' if inprocess else 'a process of its own'} ({gateway.url}); "
              f"{rounds} alternating rounds per row")
        served = [(one, gateway.url, "/function/order-create", getattr(gateway, "pids", None))]
        if second:
            served.append((many, second.url, "/function/order-create", second.pids))
        if replica:
            served.append((function, replica.url, "/", replica.pids))
        for _, where, path, _ in served:  # warm-up: imports, pools, caches (every worker's)
            run_full(where, sku_ids, tokens, 16, 20, path=path)
        for clients in CLIENTS:
            # The runs alternate, a short round each, so a drift of this shared machine (the database
            # growing, another process waking) weighs on all of them alike. Rough rates on a 2-vCPU
            # machine, so each run lasts about ERP_BENCH_SECONDS in all.
            per_client = _requests_per_client(clients, 150 * min(clients, 2) / rounds)
            raw_per_client = _requests_per_client(clients, 350 * min(clients, 3) / rounds)
            row = results[clients] = {label: ([], CpuMeter({"server": pids, **services} if pids else services))
                                      for label, _, _, pids in served}
            row["raw SQL (PyMySQL)"] = ([], CpuMeter(services))
            for _ in range(rounds):
                for label, where, path, _ in served:
                    with row[label][1]:
                        row[label][0].append(run_full(where, sku_ids, tokens, clients, per_client, label, path))
                with row["raw SQL (PyMySQL)"][1]:
                    row["raw SQL (PyMySQL)"][0].append(
                        run_raw(database, sku_ids, warehouse_id, clients, raw_per_client))
                time.sleep(0.2)
    print(Figures.header())
    merged = {clients: {label: Figures.merge(runs) for label, (runs, _) in row.items()}
              for clients, row in results.items()}
    for row in merged.values():
        for figures in row.values():
            print(figures.row())
    print("\n| clients | run | orders/s | ratio to raw | p50 ms | p99 ms | p99 / raw p99 |")
    print("|---|---|---|---|---|---|---|")
    for clients, row in merged.items():
        raw = row["raw SQL (PyMySQL)"]
        for label, figures in row.items():
            print(f"| {clients} | {label} | {figures.throughput:,.0f} | {figures.throughput / raw.throughput:.2f} | "
                  f"{figures.percentile(50):.1f} | {figures.percentile(99):.1f} | "
                  f"{figures.percentile(99) / raw.percentile(99):.2f} |")
    print("\nWhere the CPU goes, ms per order (user + system time of each process, all its threads and "
          "worker processes; the kernel's network work is in the machine's share only):\n\n"
          "| clients | run | server | MariaDB | Redis + NATS | clients (bench) | machine busy |\n"
          "|---|---|---|---|---|---|---|")
    for clients, row in results.items():
        for label, (runs, meter) in row.items():
            requests = sum(r.requests for r in runs)
            if not requests:
                continue
            ms = meter.per_request_ms(requests)
            server = f"{ms['server']:.2f}" if "server" in ms else "-"
            print(f"| {clients} | {label} | {server} | {ms['MariaDB']:.2f} | {ms['Redis + NATS']:.2f} | "
                  f"{ms['clients (this process)']:.2f} | {meter.busy_share():.0%} |")
    top = merged[max(CLIENTS)]
    if many in top:
        raw, served_many = top["raw SQL (PyMySQL)"], top[many]
        ratio, p99 = served_many.throughput / raw.throughput, served_many.percentile(99) / raw.percentile(99)
        print(f"\nissue 15's target at {max(CLIENTS)} clients, {many}: ratio {ratio:.2f} (>= 0.5: "
              f"{'met' if ratio >= 0.5 else 'not met'}), p99 {p99:.2f} x the raw p99 (<= 2: "
              f"{'met' if p99 <= 2 else 'not met'})")
        _print_budget(results[max(CLIENTS)][many][1], served_many.requests, raw.throughput, sku_ids, tokens)
    _check_stock()


def _print_budget(meter: CpuMeter, requests: int, raw_rate: float, sku_ids: list[int], tokens: list[str]) -> None:
    """What the server may spend per order for a ratio of 0.5 on this machine, beside what the order
    path spends with no HTTP and one thread: the CPU the machine gave the ``--workers 2`` run, over
    half the raw rate, less what MariaDB, Redis, NATS and the clients spent per order in that run."""
    cores = os.cpu_count() or 1
    ms = meter.per_request_ms(requests)
    total = 1000 * cores * meter.busy_share() / (0.5 * raw_rate)
    others = ms["MariaDB"] + ms["Redis + NATS"] + ms["clients (this process)"]
    alone = run_in_process(sku_ids, tokens, int(os.environ.get("ERP_BENCH_FLOOR_ORDERS", "1000")))
    print(f"\nfor a ratio of 0.5 at this run's raw rate ({raw_rate:,.0f}/s) and busy share "
          f"({meter.busy_share():.0%} of {cores} cores), an order may cost {total:.2f} ms of CPU in all: "
          f"{max(0.0, total - others):.2f} ms for the "
          f"server beside the {others:.2f} ms that MariaDB, Redis, NATS and the clients spent per order; "
          f"the server spent {ms['server']:.2f}")
    print(f"an order's own request work, with no HTTP server, one at a time in this process's thread: {alone:.2f} ms "
          f"of CPU per order (without publishing its events)")


def _check_stock() -> None:
    from erp_common.db import transaction
    from erp_common.inventory.api import check_stock

    with transaction() as session:
        result = check_stock(session)
    # The raw baseline writes its own ledger rows the same way, so every row must still agree.
    print(f"\nstock check after the run: {result.checked} rows, {len(result.mismatches)} mismatches")


if __name__ == "__main__":
    main()
