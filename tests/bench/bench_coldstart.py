"""Cold start and memory of every function, started the way its image starts it, beside a baseline.

Each function's build context is laid out as ``faas-cli build --shrinkwrap`` does (the template,
the handler folder over ``function/``, ``shared/`` under it), byte-compiled as the Dockerfile
does, and ``python index.py`` is started in a
fresh interpreter with the image's environment (``PYTHONPATH=function/shared``, ``upstream_url``),
as of-watchdog starts it. Timed: launch -> the first 200 from ``/_/ready`` (the readiness probe,
which reaches the database), and -> the first answer to a real, signed-in call of the function.
Read from ``/proc``: the resident memory after that call (VmRSS) and the peak (VmHWM).
The baseline, started by the same launcher in the same run: a bare python3-http "hello"
function (Flask + waitress, the upstream template's shape, no shared layer).

``ERP_BENCH_COLDSTART_ONLY=item-get,user-login`` measures only those functions.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.unit.test_image_layout import ROOT, shrinkwrap

BASELINE_INDEX = '''\
import os
from flask import Flask, request
from waitress import serve
from function import handler

app = Flask(__name__)

class Event:
    def __init__(self):
        self.body, self.headers, self.method = request.get_data(), request.headers, request.method
        self.query, self.path = request.args, request.path

@app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@app.route("/<path:path>", methods=["GET", "POST"])
def call(path):
    result = handler.handle(Event(), None)
    return result["body"], result["statusCode"]

serve(app, host="127.0.0.1", port=int(os.environ["upstream_url"].rsplit(":", 1)[1]), threads=4)
'''
BASELINE_HANDLER = 'def handle(event, context):\n    return {"statusCode": 200, "body": "hello"}\n'
REPEATS = int(os.environ.get("ERP_BENCH_COLDSTART_REPEATS", "2"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_kb(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> int:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def _start(context: Path, env: dict[str, str], call: tuple[str, str, bytes | None, dict]) -> dict[str, float]:
    """Launch ``python index.py`` in ``context``; time readiness and the first call; read its memory."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "index.py"], cwd=context, env={**env, "upstream_url": base},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = None
        while ready is None:
            if process.poll() is not None:
                raise RuntimeError(f"{context.name} exited: {process.stderr.read().decode()[-2000:]}")
            try:
                if _request(base + "/_/ready") == 200:
                    ready = time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.01)
            if time.perf_counter() - started > 60:
                raise TimeoutError(f"{context.name} was not ready within 60 s")
        method, path, body, headers = call
        status = _request(base + path, method, body, headers)
        if status >= 500:
            raise RuntimeError(f"{context.name}: the first call answered {status}")
        first = time.perf_counter() - started
        rss, peak = _memory_kb(process.pid)
        return {"ready": ready * 1000, "first": first * 1000, "rss": rss / 1024, "peak": peak / 1024}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _real_call(name: str, token: str) -> tuple[str, str, bytes | None, dict]:
    """A signed-in call of the function that reaches its service (reads answer 200 or 404; writes
    with an empty body answer 422 after authentication and validation; user-login signs in)."""
    from erp_common.operations import REGISTRY

    op = REGISTRY[name]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "X-Connector": "bench"}
    if name == "user-login":
        return "POST", "/", json.dumps({"username": "admin", "password": "bench-admin-password"}).encode(), headers
    if op.schedule or op.topic:
        return "POST", "/", b"" if op.schedule else json.dumps({"id": "none"}).encode(), headers
    path = "/1" if op.path else "/"
    if "GET" in op.methods:
        return "GET", path, None, headers
    return op.methods[0], path, b"{}", headers


def main() -> None:
    from erp_common import auth, config, domains, migrate
    from erp_common.identity.api import ensure_admin

    work = Path(tempfile.mkdtemp(prefix="erp-coldstart-"))
    env = {
        "PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{work / 'erp.sqlite3'}", "ERP_SECRETS_DIR": str(work),
        "JWT_SECRET_KEY": "coldstart-" + "k" * 40, "write_timeout": "10s", "healthcheck_interval": "0s",
        "ERP_SERVER_THREADS": "4", "HOME": str(work),
    }
    os.environ.update({k: v for k, v in env.items() if k not in ("PATH", "HOME")})
    config.configure(None)
    migrate.upgrade()
    ensure_admin("admin", "bench-admin-password")
    token = auth.issue_token(1, "admin", ["admin"], 1).token
    domains.load()
    stack = yaml.safe_load((ROOT / "stack.yml").read_text())
    only = [n for n in os.environ.get("ERP_BENCH_COLDSTART_ONLY", "").split(",") if n]
    names = only or list(stack["functions"])

    baseline_context = work / "baseline"
    (baseline_context / "function").mkdir(parents=True)
    (baseline_context / "index.py").write_text(BASELINE_INDEX)
    (baseline_context / "function" / "__init__.py").touch()
    (baseline_context / "function" / "handler.py").write_text(BASELINE_HANDLER)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "."], cwd=baseline_context, check=True)

    rows = []
    baselines = []
    for name in names:
        context = shrinkwrap("stack.yml", name, work)
        (context / "function" / "__init__.py").touch()
        subprocess.run([sys.executable, "-m", "compileall", "-q", "index.py", "function"], cwd=context,
                       check=True)  # as the Dockerfile does at build time
        runs = []
        for _ in range(REPEATS):  # each function's runs alternate with the baseline's
            baselines.append(_start(baseline_context, env, ("GET", "/", None, {})))
            runs.append(_start(context, {**env, "PYTHONPATH": str(context / "function" / "shared"),
                                         "OPENFAAS_NAME": name}, _real_call(name, token)))
        shutil.rmtree(context)
        rows.append((name, {k: statistics.median(r[k] for r in runs) for k in runs[0]}))
    base = {k: statistics.median(b[k] for b in baselines) for k in baselines[0]}
    print(f"{len(names)} functions, {REPEATS} starts each, alternating with the baseline's "
          f"({len(baselines)} starts); medians\n")
    print("| function | ready ms | x baseline | first call ms | x baseline | RSS after the call MB | peak MB |")
    print("|---|---|---|---|---|---|---|")
    print(f"| baseline: python3-http hello (Flask + waitress) | {base['ready']:.0f} | 1.00 | {base['first']:.0f} | "
          f"1.00 | {base['rss']:.1f} | {base['peak']:.1f} |")
    for name, r in rows:
        print(f"| `{name}` | {r['ready']:.0f} | {r['ready'] / base['ready']:.2f} | {r['first']:.0f} | "
              f"{r['first'] / base['first']:.2f} | {r['rss']:.1f} | {r['peak']:.1f} |")
    ready = [r["ready"] / base["ready"] for _, r in rows]
    print(f"\nready x baseline: median {statistics.median(ready):.2f}, worst {max(ready):.2f}; "
          f"RSS after the first call: largest {max(r['rss'] for _, r in rows):.1f} MB; "
          f"peak: largest {max(r['peak'] for _, r in rows):.1f} MB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
