"""Reads that scale out: with DATABASE_READ_URL set, the operations declared read-only (GET, with no
Idempotency-Key) read from it; every write, and the reads inside a write, stay on the primary.

The "replica" here is a second database of the suite's backend, migrated, holding a category the
primary does not: which one a request read from shows in its answer, and every statement is
counted by the engine that ran it."""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, event, text

from tests.conftest import BACKEND


def _fresh_url(tmp_path) -> tuple[str, Callable[[], None]]:
    if BACKEND == "services":
        import pymysql

        name = f"erp_replica_{os.getpid()}"

        def run(sql: str) -> None:
            conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
            with conn.cursor() as cur:
                cur.execute(sql)
            conn.close()

        run(f"DROP DATABASE IF EXISTS {name}")
        run(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return f"mysql+pymysql://root@127.0.0.1:3306/{name}", lambda: run(f"DROP DATABASE IF EXISTS {name}")
    return f"sqlite:///{tmp_path / 'replica.sqlite3'}", lambda: None


def _configure(**env: str | None) -> None:
    from erp_common import config, db

    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    config.configure(None)
    db.dispose_engine()


@pytest.fixture
def replica(tmp_path):
    """A migrated second database with one category of its own; DATABASE_READ_URL set to it."""
    from erp_common import migrate

    url, drop = _fresh_url(tmp_path)
    primary = os.environ["DATABASE_URL"]
    _configure(DATABASE_URL=url)
    migrate.upgrade()
    engine = create_engine(url)
    name = f"only-on-the-replica-{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO categories (name, parent_id, path, level, sort_order, created_at, updated_at)"
                          " VALUES (:n, NULL, '/', 1, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"), {"n": name})
    engine.dispose()
    _configure(DATABASE_URL=primary, DATABASE_READ_URL=url)
    try:
        yield SimpleNamespace(url=url, category=name)
    finally:
        _configure(DATABASE_READ_URL=None)
        drop()


def _statements() -> dict[str, int]:
    """Statements run, by engine ("primary", "replica"), from now on."""
    from erp_common import db

    counts = {"primary": 0, "replica": 0}
    for label, engine in (("primary", db.get_engine()), ("replica", db.get_read_engine())):
        event.listen(engine, "before_cursor_execute",
                     lambda *a, label=label: counts.__setitem__(label, counts[label] + 1))
    return counts


def _call(name: str, token: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None):
    from erp_common.http import dispatch
    from erp_common.operations import REGISTRY

    event_ = SimpleNamespace(method=method, path="/", body=json.dumps(body).encode() if body else b"", query={},
                             headers={"Authorization": f"Bearer {token}", **(headers or {})})
    result = dispatch(REGISTRY[name], event_)
    return result["statusCode"], json.loads(result["body"])


def _names(tree: dict) -> set[str]:
    found = set()
    for node in tree.get("items", []):
        found.add(node["name"])
        found |= _names({"items": node.get("children", [])})
    return found


def test_declared_reads_go_to_the_replica_and_writes_to_the_primary(replica, make_user):
    from erp_common import domains

    domains.load(["catalog"])
    token = make_user("admin")[1]
    counts = _statements()

    status, tree = _call("category-list", token)  # GET: declared read-only
    assert status == 200, tree
    assert replica.category in _names(tree), "category-list read the primary"
    assert counts["replica"] > 0

    counts.update(primary=0, replica=0)
    created = f"written-{uuid.uuid4().hex[:6]}"
    status, body = _call("category-create", token, method="POST", body={"name": created})
    assert status == 201, body
    assert counts["replica"] == 0 and counts["primary"] > 0, counts  # the write and its reads: primary

    engine = create_engine(replica.url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM categories WHERE name = :n"), {"n": created}).scalar() == 0
    engine.dispose()


def test_without_a_read_url_everything_reads_the_primary(make_user):
    from erp_common import db, domains

    domains.load(["catalog"])
    assert db.get_read_engine() is None
    token = make_user("admin")[1]
    status, tree = _call("category-list", token)
    assert status == 200 and not any(n.startswith("only-on-the-replica") for n in _names(tree))


def test_the_read_url_takes_the_database_password_secret(tmp_path):
    from erp_common.config import load_settings

    (tmp_path / "erp-db-password").write_text("s3cret-db-pw\n")
    settings = load_settings({"DATABASE_URL": "mysql://erp@primary:3306/erp",
                              "DATABASE_READ_URL": "mysql://erp@replica:3306/erp", "ERP_SECRETS_DIR": str(tmp_path)})
    assert settings.database_read_url == "mysql+pymysql://erp:s3cret-db-pw@replica:3306/erp?charset=utf8mb4"
    assert load_settings({"ERP_SECRETS_DIR": str(tmp_path)}).database_read_url == ""
