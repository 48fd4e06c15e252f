"""The README's examples run, in order, as written, against a fresh ``erp run`` on an empty database.

Every ```bash block of README.md is one step of a new user's first session (```sh blocks are the
commands that start things: ``make run``, faas-cli, a cluster): they run in one bash process with
``set -euo pipefail``, ``curl`` failing on any 4xx/5xx answer, against a gateway on a free port
whose database is new, so an example that assumes data it never created fails here.
"""
from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import BACKEND, ROOT, ErpRun

pytestmark = pytest.mark.skipif(BACKEND != "embedded", reason="the README's quick start is the embedded default")


def readme_examples() -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M)


def test_the_readme_examples_run_in_order_from_an_empty_database(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'erp.sqlite3'}", "ERP_ADMIN_PASSWORD": "admin123",
           "ERP_ENV": "development", "REDIS_URL": "", "NATS_URL": ""}
    gateway = ErpRun(env, migrate=True)  # a new database: migrated and given its admin, as `make run` does
    try:
        blocks = readme_examples()
        assert len(blocks) >= 10
        script = ["set -euo pipefail",
                  # every call must succeed; its answer is printed, as for the reader
                  'curl() { command curl --fail-with-body "$@"; echo; }']
        for number, block in enumerate(blocks, 1):
            script.append(f"echo '### README example {number}' >&2")
            script.append(block.replace("http://127.0.0.1:8080", gateway.url)
                          .replace(".venv/bin/", f"{ROOT}/.venv/bin/"))
        result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env={**os.environ, **env},
                                capture_output=True, text=True, timeout=240)
        reached = [ln for ln in result.stderr.strip().splitlines() if ln.startswith("###")][-1:]
        assert result.returncode == 0, f"stopped after {reached}:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    finally:
        gateway.stop()
