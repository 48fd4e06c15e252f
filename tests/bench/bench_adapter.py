"""The template's two adapters side by side: the gateway's CPU per request through the container's
Flask app (``create_app``) and through the Flask-free one the local gateway mounts (``create_wsgi_app``).

One gateway runs in a process of its own (so the clients' HTTP work is not in its CPU time), serving
every function as ``erp run`` does, plus, for each measured function, the same handler behind the
Flask app at ``/function/<name>-flask``. Rounds alternate the two (the order swapped every round) at
16 keep-alive clients, so the drift of this shared machine weighs on both alike; the figure is the
gateway process's user + system time over the requests it served, and the ratio of the two.
Measured: ``user-me`` (a cheap authenticated read) and ``order-create`` (the order path), on
MariaDB + Redis + NATS unless ``ERP_BENCH_BACKEND=embedded``. A second table is the adapters alone:
in this process, no server, a handler answering a fixed JSON result, CPU time per call.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

from tests.bench.common import ROOT, CpuMeter, Figures, run_clients, use_database

FUNCTIONS = ("user-me", "order-create")
CLIENTS = 16


def serve() -> None:
    """The child: the gateway, with a Flask twin of each measured function; prints its URL."""
    import logging

    from erp_common import config, logs
    from erp_local.gateway import BackgroundServer, _load_module

    config.configure(None)
    logs.configure()  # as erp run logs: a JSON line per request (to /dev/null here)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # as erp run: no warning per queued request
    server = BackgroundServer(ROOT / "stack.yml", templates_dir=ROOT / "templates", threads=16)
    gateway = server.gateway
    template = gateway._template("python3-http-erp")
    for name in FUNCTIONS:
        handler = _load_module(f"erp_bench_{name.replace('-', '_')}", gateway.functions[name].handler / "handler.py")
        gateway.apps[f"{name}-flask"] = template.create_app(handler.handle, name)
    print(server.url, flush=True)
    sys.stdin.read()  # until the parent closes it
    server.close()


def _gateway() -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_adapter", "--serve"], cwd=ROOT,
                             env={**os.environ, "ERP_ADMIN_PASSWORD": "bench-admin-password"},
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = child.stdout.readline().strip()
    if not url.startswith("http"):
        child.kill()
        raise RuntimeError("the gateway did not start")
    return child, url


def _worker(url: str, path: str, tokens: list[str], sku_ids: list[int]):
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)

    def make(index: int):
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}", "Content-Type": "application/json"}
        rng = random.Random(index)

        def work(_i: int) -> bool:
            if path.startswith("/function/order-create"):
                a, b = rng.sample(sku_ids, 2)
                body = json.dumps({"lines": [{"sku": a, "qty": 1}, {"sku": b, "qty": 2}]})
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
                return response.status == 201
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status == 200

        conn.request("GET", "/healthz")  # connected before the clock starts
        conn.getresponse().read()
        return work

    return make


def adapters_alone(rounds: int = 6, calls: int = 3000) -> dict[str, float]:
    """Microseconds of CPU per call of each adapter with a do-nothing handler, alternating rounds."""
    import io
    import logging

    from werkzeug.test import EnvironBuilder

    from erp_local.gateway import _load_module

    index = _load_module("erp_bench_template", ROOT / "templates/python3-http-erp/index.py")
    result = {"statusCode": 200, "body": '{"id":1}',
              "headers": {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "r"}}
    apps = {"flask": index.create_app(lambda event, context: result, "bench"),
            "plain": index.create_wsgi_app(lambda event, context: result, "bench")}
    environ = EnvironBuilder(path="/function/bench/42", method="GET", query_string="page=1&page_size=20",
                             headers={"Authorization": "Bearer x", "X-Call-Id": "c"}).get_environ()
    environ.update(SCRIPT_NAME="/function/bench", PATH_INFO="/42")

    def start_response(status: str, headers: list, exc_info=None) -> None:
        return None

    spent = {name: 0.0 for name in apps}
    logging.disable(logging.INFO)  # the request line is formatted, not written
    try:
        for index_round in range(rounds):
            for name in (("flask", "plain") if index_round % 2 == 0 else ("plain", "flask")):
                app, started = apps[name], time.process_time()
                for _ in range(calls):
                    env = dict(environ)
                    env["wsgi.input"] = io.BytesIO(b"")
                    b"".join(app(env, start_response))
                spent[name] += time.process_time() - started
    finally:
        logging.disable(logging.NOTSET)
    return {name: 1e6 * seconds / (rounds * calls) for name, seconds in spent.items()}


def main() -> None:
    from tests.bench.bench_orders import _seed

    use_database("erp_bench_adapter")
    sku_ids, tokens, _ = _seed()
    rounds = int(os.environ.get("ERP_BENCH_ROUNDS", "6"))
    per_client = {"user-me": 60, "order-create": 25}
    child, url = _gateway()
    try:
        def pids() -> list[int]:
            return [child.pid]

        results: dict[tuple[str, str], tuple[list[Figures], CpuMeter]] = {}
        for name in FUNCTIONS:
            for suffix in ("", "-flask"):  # warm-up: imports, pools, caches, both ways
                run_clients("warm-up", 4, 20, _worker(url, f"/function/{name}{suffix}", tokens, sku_ids))
            for adapter in ("flask", "plain"):
                results[(name, adapter)] = ([], CpuMeter({"gateway": pids}))
            for index in range(rounds):
                order = ("flask", "plain") if index % 2 == 0 else ("plain", "flask")
                for adapter in order:
                    path = f"/function/{name}" + ("-flask" if adapter == "flask" else "")
                    figures, meter = results[(name, adapter)]
                    with meter:
                        figures.append(run_clients(f"{name} ({adapter})", CLIENTS, per_client[name],
                                                   _worker(url, path, tokens, sku_ids)))
                    time.sleep(0.2)
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    print(f"{CLIENTS} clients, {rounds} alternating rounds per adapter, gateway in a process of its own "
          f"({os.environ['DATABASE_URL'].split(':', 1)[0]})\n")
    print("| function | adapter | requests | errors | per second | p50 ms | p99 ms | gateway CPU ms/request |")
    print("|---|---|---|---|---|---|---|---|")
    for name in FUNCTIONS:
        cpu = {}
        for adapter in ("flask", "plain"):
            figures, meter = results[(name, adapter)]
            merged = Figures.merge(figures)
            cpu[adapter] = meter.per_request_ms(merged.requests)["gateway"]
            label = "Flask (create_app)" if adapter == "flask" else "Flask-free (create_wsgi_app)"
            print(f"| {name} | {label} | {merged.requests} | {merged.errors} | {merged.throughput:,.0f} | "
                  f"{merged.percentile(50):.1f} | {merged.percentile(99):.1f} | {cpu[adapter]:.3f} |")
        saved = cpu["flask"] - cpu["plain"]
        print(f"| {name} | Flask-free / Flask | | | | | | {cpu['plain'] / cpu['flask']:.2f} "
              f"({saved:.3f} ms less) |")
    alone = adapters_alone()
    print("\nThe adapters alone (in this process, no server, a handler answering a fixed result):\n")
    print("| adapter | CPU µs per call |\n|---|---|")
    print(f"| Flask (create_app) | {alone['flask']:.0f} |\n| Flask-free (create_wsgi_app) | {alone['plain']:.0f} |")
    print(f"| Flask-free / Flask | {alone['plain'] / alone['flask']:.2f} |")
    print(f"\n(measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        main()
