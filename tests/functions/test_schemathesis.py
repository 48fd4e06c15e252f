"""Property-based: every function's OpenAPI operation, fed what schemathesis derives from it.

Schemathesis reads the gateway's ``/docs/openapi.json`` and sends, per operation, a few valid
and invalid requests (bodies, query strings and paths) as an administrator; every answer must
be below 500 and a status the document declares for that operation.

It runs against a gateway of its own (``erp run`` in a subprocess, on a fresh database), not the
session's: generated requests as an administrator update and cancel whatever ids they hit (user
1 is the administrator every other test signs in as; the default warehouse moves), and no other
test must see that. Deterministic (``derandomize``, no example database), no shrinking, a few
examples per operation: about 20 s on two cores (SQLite; MariaDB about 25 s).
"""
from __future__ import annotations

import os
import socket
import tempfile

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, status_code_conformance

from tests.conftest import ADMIN_PASSWORD, BACKEND, ROOT, ErpRun

ONLY = os.environ.get("ERP_FUZZ_ONLY", "")  # a part of a path: fuzz only those operations (to dig into one)
EXAMPLES = int(os.environ.get("ERP_FUZZ_EXAMPLES", "6"))  # per operation and generation mode (valid, invalid)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> tuple[str, str | None]:
    if BACKEND != "services":
        return f"sqlite:///{tempfile.mkdtemp(prefix='erp-fuzz-')}/erp.sqlite3", None
    import pymysql

    name = f"erp_fuzz_{os.getpid()}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    base = os.environ.get("ERP_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
    return f"{base}/{name}", name


def _drop(name: str | None) -> None:
    if name is None:
        return
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
    conn.close()


@pytest.fixture(scope="module")
def fuzz_gateway(database):
    """(url, admin token) of a gateway of this module's own, on its own database."""
    url_db, name = _database_url()
    gateway = ErpRun({"DATABASE_URL": url_db, "NATS_URL": "",  # its events reach nobody else's consumers
                      "ERP_CACHE_PREFIX": f"erp-fuzz-{os.getpid()}:"}, "--stack", str(ROOT / "stack.yml"),
                     migrate=True)
    try:
        login = httpx.post(gateway.url + "/function/user-login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        yield gateway.url, login.json()["access_token"]
    finally:
        gateway.stop()
        _drop(name)


# No 5xx, and only statuses the document declares. ERP_FUZZ_STRICT=1 also asks that nothing the
# document calls invalid is accepted (it found a number taken for a time): not by default, since
# the inputs deliberately accept a little more than the document says (surrounding spaces are
# stripped before lengths are checked; a query's is_active=1 is true), which a change of seed
# (any edit of this file) may or may not hit.
CHECKS = [not_a_server_error, status_code_conformance]
if os.environ.get("ERP_FUZZ_STRICT") == "1":
    CHECKS.append(negative_data_rejection)


def _run(operation, mode: GenerationMode, url: str, token: str, failures: list[str]) -> int:
    sent = 0

    @given(operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def check(case):
        nonlocal sent
        if operation.path.startswith("/function/user-update") and str(case.path_parameters.get("user_id")) == "1":
            return  # the administrator this test signs in as: disabled, every later case would be a 401
        response = case.call(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        sent += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # every failure is collected, then reported at once
            found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            reasons = "; ".join(" ".join(str(e).split())[:300] for e in found)
            failures.append(f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]} "
                            f"-> {response.status_code} {response.text[:200]}\n  {reasons}")

    try:
        check()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
        assert mode is GenerationMode.NEGATIVE
    return sent


def test_no_5xx_and_only_documented_statuses(fuzz_gateway):
    url, token = fuzz_gateway
    schema = schemathesis.openapi.from_url(url + "/docs/openapi.json")
    failures: list[str] = []
    sent = operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if ONLY and ONLY not in operation.path:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent += _run(operation, mode, url, token, failures)
    assert (operations > 50 or ONLY) and sent > operations * EXAMPLES
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:40])
