"""The HTTP server alone: granian (the template's ``GracefulServer``) against waitress (the upstream
python3-http template's server), server CPU per request.

Two applications, each served by both servers in processes of their own, on one port each:
- ``bare``: a WSGI callable that answers 200 "ok" (the server and nothing else);
- ``flask``: the template's Flask app (``create_app``) around a handler returning ``{"ok": true}``,
  with the JSON request lines a function writes (``logs.configure()``, output discarded).
16 keep-alive clients (``http.client``, threads of this process) send ``GET /`` as fast as they are
answered. The four servers run side by side and the rounds alternate between them, so each pair is
measured under the same load from the rest of the (shared, noisy) machine; the ratios are the figures
to read. ``ERP_BENCH_ROUNDS`` (default 5) rounds of ``ERP_BENCH_REQUESTS`` (default 4000) requests each.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.bench.common import ROOT, CpuMeter, Figures, run_clients

CLIENTS = 16
THREADS = 4  # the template's default (ERP_SERVER_THREADS)
SERVERS = ("waitress", "granian")
APPS = ("bare", "flask")


def bare(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def template():
    import importlib.util

    spec = importlib.util.spec_from_file_location("erp_template_index", ROOT / "templates/python3-http-erp/index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(server: str, app_name: str, port: int) -> None:
    """The server process: ``python -m tests.bench.bench_server serve SERVER APP PORT``."""
    index = template()
    if app_name == "flask":
        from erp_common import logs

        logs.configure()
        app = index.create_app(lambda event, context: {"statusCode": 200, "body": {"ok": True}}, "bench")
    else:
        app = bare
    if server == "waitress":
        import logging

        from waitress import create_server

        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        create_server(app, host="127.0.0.1", port=port, threads=THREADS).run()
    else:
        gracefully = index.GracefulServer(app, host="127.0.0.1", port=port, threads=THREADS)
        gracefully.handle_signals()
        gracefully.run()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(server: str, app_name: str) -> tuple[subprocess.Popen, int]:
    import http.client

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_server", "serve", server, app_name, str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/")
            if conn.getresponse().read():
                conn.close()
                return process, port
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{server}/{app_name} did not start")
        time.sleep(0.1)


def load(label: str, port: int, per_client: int) -> Figures:
    import http.client

    def make_worker(_index: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/")  # connected before the clock starts
        conn.getresponse().read()

        def work(_i: int) -> bool:
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            return response.status == 200

        return work

    return run_clients(label, CLIENTS, per_client, make_worker)


def main() -> None:
    rounds = int(os.environ.get("ERP_BENCH_ROUNDS", "5"))
    per_client = int(os.environ.get("ERP_BENCH_REQUESTS", "4000")) // CLIENTS
    processes = {(s, a): start(s, a) for a in APPS for s in SERVERS}
    runs: dict[tuple[str, str], list[Figures]] = {key: [] for key in processes}
    cpu: dict[tuple[str, str], float] = dict.fromkeys(processes, 0.0)
    try:
        for _ in range(rounds):
            for key, (process, port) in processes.items():
                meter = CpuMeter({"server": lambda pid=process.pid: [pid]})
                with meter:
                    runs[key].append(load(f"{key[0]}, {key[1]}", port, per_client))
                cpu[key] += meter.spent["server"]
    finally:
        for process, _ in processes.values():
            process.terminate()
        for process, _ in processes.values():
            process.wait(30)
    print(f"{CLIENTS} keep-alive clients, {THREADS} server threads, {rounds} alternating rounds\n")
    print("| server, app | requests | errors | per second | p50 ms | p99 ms | server CPU ms/request |")
    print("|---|---|---|---|---|---|---|")
    per_request = {}
    for key, figures in runs.items():
        merged = Figures.merge(figures)
        per_request[key] = 1000 * cpu[key] / merged.requests
        print(f"| {merged.label} | {merged.requests} | {merged.errors} | {merged.throughput:,.0f} | "
              f"{merged.percentile(50):.2f} | {merged.percentile(99):.2f} | {per_request[key]:.3f} |")
    print()
    for app_name in APPS:
        new, old = ("granian", app_name), ("waitress", app_name)
        speed = Figures.merge(runs[new]).throughput / Figures.merge(runs[old]).throughput
        print(f"granian / waitress, {app_name}: CPU per request {per_request[new] / per_request[old]:.2f}, "
              f"throughput {speed:.2f}")
    print(f"\n(measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
