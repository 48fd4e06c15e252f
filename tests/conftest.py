"""Test set-up shared by every suite: the backend, a migrated database, a running gateway.

``ERP_TEST_BACKEND=embedded`` (the default) runs on a fresh SQLite file with the in-process
cache and event bus. ``ERP_TEST_BACKEND=services`` runs the same tests on MariaDB (a fresh
database ``erp_test_<pid>`` on 127.0.0.1:3306 as root), Redis (db 15) and NATS (4222); the
``ERP_TEST_*_URL`` variables point them elsewhere.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.stock_fixtures", "tests.redis_server", "tests.nats_server"]
BACKEND = os.environ.get("ERP_TEST_BACKEND", "embedded")
ADMIN_PASSWORD = "admin-test-password"
TEST_JWT_SECRET = "test-secret-" + "x" * 40


def _configure_environment() -> dict[str, str]:
    env = {
        "ERP_ENV": "test",
        # The suite sends thousands of requests a minute from one address as a few users: limits far
        # above that (tests/functions/test_rate_limits.py sets low ones to test them).
        "ERP_RATE_LIMITS": "sign-in=100000,write=100000,read=100000",
        "ERP_LOGIN_ADDRESS_FACTOR": "100000",
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        "ERP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ERP_SECRETS_DIR": tempfile.mkdtemp(prefix="erp-secrets-"),
        "REDIS_URL": "",
        "NATS_URL": "",
    }
    if BACKEND == "services":
        import pymysql

        db_url = os.environ.get("ERP_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
        name = f"erp_test_{os.getpid()}"
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
        env["DATABASE_URL"] = f"{db_url}/{name}"
        env["ERP_TEST_DATABASE"] = name
        env["REDIS_URL"] = os.environ.get("ERP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        env["NATS_URL"] = os.environ.get("ERP_TEST_NATS_URL", "nats://127.0.0.1:4222")
        # Keys of this run only (they expire by themselves): two runs can share one Redis.
        env["ERP_CACHE_PREFIX"] = f"erp-test-{os.getpid()}:"
    elif BACKEND == "embedded":
        env["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='erp-test-')}/erp.sqlite3"
    else:
        raise pytest.UsageError(f"ERP_TEST_BACKEND must be embedded or services, not {BACKEND!r}")
    os.environ.update(env)
    return env


ENV = _configure_environment()


# Every log record of the run, formatted as the functions write them, and checked at the end
# (pytest_sessionfinish): no password, token or secret of the suite, no phone number or e-mail.
RUN_LOG = Path(tempfile.mkdtemp(prefix="erp-run-log-")) / "run.log"
KNOWN_SECRETS = [ADMIN_PASSWORD, TEST_JWT_SECRET, "password-123", "s3cret-pass", "a-long-password", "another-pass",
                 "new-password-1"]
LEAKS = re.compile(r"(?<![\w.-])1[3-9]\d{9}(?![\w.-])|[\w.+-]+@example\.(?:com|org)|\beyJ[\w-]+\.[\w-]+\.")


def pytest_configure(config):
    from erp_common.logs import JsonFormatter

    handler = logging.FileHandler(RUN_LOG, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)


def pytest_sessionfinish(session, exitstatus):
    logging.shutdown()
    text = RUN_LOG.read_text(encoding="utf-8") if RUN_LOG.exists() else ""
    found = [s for s in KNOWN_SECRETS if s in text] + sorted(set(LEAKS.findall(text)))[:10]
    if found:
        print(f"\nthe logs of this run ({RUN_LOG}) hold what must never be logged: {found}")
        session.exitstatus = 1


def pytest_report_header(config):
    from erp_common.db import mysql_driver

    database = "sqlite" if BACKEND == "embedded" else \
        f"mysql through {mysql_driver((os.environ.get('ERP_DB_DRIVER') or 'auto').strip().lower())}"
    return f"ERP backend: {BACKEND} ({database}, " \
           f"cache={'redis' if os.environ['REDIS_URL'] else 'memory'}, " \
           f"events={'nats' if os.environ['NATS_URL'] else 'in-process'})"


@pytest.fixture(scope="session", autouse=True)
def database():
    from erp_common import config, migrate
    from erp_common.cache import reset_cache
    from erp_common.db import dispose_engine
    from erp_common.events import reset_publisher
    from erp_common.identity.services import ensure_admin

    config.configure(None)
    migrate.upgrade()
    ensure_admin("admin", ADMIN_PASSWORD)
    yield
    reset_publisher()
    dispose_engine()
    reset_cache()
    if BACKEND == "services":
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {ENV['ERP_TEST_DATABASE']}")
        conn.close()


def RunningGateway(stack: Path):  # noqa: N802 - reads as the class it returns
    """The local gateway for ``stack`` on a free port (``.url``, ``.gateway``, ``.close()``)."""
    from erp_local.gateway import BackgroundServer

    return BackgroundServer(stack, templates_dir=ROOT / "templates")


@pytest.fixture(scope="session")
def gateway(database):
    running = RunningGateway(ROOT / "stack.yml")
    yield running
    running.close()


@pytest.fixture(scope="session")
def client(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def admin_token(client) -> str:
    response = client.post("/function/user-login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def make_user(database):
    """Create a user with the given roles straight through the service; return (user_id, token)."""
    from erp_common import auth as erp_auth
    from erp_common.db import transaction, utcnow
    from erp_common.identity.models import User, UserRole

    password_hash = erp_auth.hash_password("password-123")

    def make(*roles: str, username: str | None = None) -> tuple[int, str]:
        username = username or f"u{uuid.uuid4().hex[:12]}"
        with transaction() as session:
            now = utcnow()
            user = User(username=username, password_hash=password_hash, full_name=username, is_active=True,
                        token_version=1, created_at=now, updated_at=now,
                        role_rows=[UserRole(role=r) for r in roles])
            session.add(user)
            session.flush()
            user_id = user.id
        return user_id, erp_auth.issue_token(user_id, username, list(roles), 1).token

    return make


def unique(prefix: str = "x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class ErpRun:
    """``erp run`` in a process of its own on a free port (``.url``), started with ``env`` over the
    suite's environment, for tests that need a gateway of their own settings or one they can kill."""

    def __init__(self, env: dict[str, str] | None = None, *args: str, migrate: bool = False) -> None:
        import socket
        import subprocess
        import sys
        import time

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "erp_local.cli", "run", "--port", str(self.port), "--threads", "8", *args]
        if not migrate:
            command.append("--no-migrate")
        # Its output goes to a file, not a pipe: it logs a line per request, and a pipe nobody reads
        # fills up and stops the server mid-request.
        self.output = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=self.output,
                                        stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, self.printed()
            assert time.monotonic() < deadline, "erp run did not start"
            time.sleep(0.1)

    def printed(self) -> str:
        self.output.seek(0)
        return self.output.read()

    def stop(self) -> str:
        """SIGTERM; what it printed."""
        self.process.terminate()
        self.process.wait(timeout=60)
        return self.printed()

    def crash(self) -> str:
        """SIGKILL, as a crash would; what it printed."""
        self.process.kill()
        self.process.wait(timeout=30)
        return self.printed()
