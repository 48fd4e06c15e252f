"""Backup and restore on the suite's backend (SQLite, or MariaDB with ERP_TEST_BACKEND=services): a
snapshot taken while orders are being created restores into a fresh database where the stock checks
out and every order the manifest counts is there; restore refuses what it must."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from erp_local import backup
from tests.conftest import BACKEND, ROOT, auth

MYSQL_SERVER = "mysql+pymysql://root@127.0.0.1:3306"


@pytest.fixture
def fresh_database(tmp_path):
    """The URL of a new, empty database on the suite's backend."""
    if BACKEND == "services":
        import pymysql

        name = f"erp_restore_{os.getpid()}"
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        yield f"{MYSQL_SERVER}/{name}"
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.close()
    else:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"


def _scalar(url: str, sql: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _order_ids(url: str) -> set[int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT id FROM sales_orders")).scalars())
    finally:
        engine.dispose()


def test_a_backup_taken_while_orders_are_created_restores_whole(gateway, make_user, make_sku, put_stock,
                                                                  fresh_database, tmp_path):
    token = make_user("cashier")[1]
    skus = [make_sku("5.00")[0] for _ in range(3)]
    for sku_id in skus:
        put_stock(sku_id, 100_000)
    created: list[tuple[float, int]] = []  # (when its answer came, the order id)
    stop = threading.Event()
    failures: list[str] = []

    def take_orders(worker: int) -> None:
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            i = 0
            while not stop.is_set():
                body = {"lines": [{"sku_id": skus[(worker + i) % len(skus)], "quantity": 1 + i % 3}]}
                response = http.post("/function/order-create", json=body, headers=auth(token))
                if response.status_code == 201:
                    created.append((time.monotonic(), response.json()["id"]))
                elif response.status_code != 503:  # database_busy under load is an answer, not a fault
                    failures.append(response.text)
                i += 1

    threads = [threading.Thread(target=take_orders, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(created) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        snap = backup.backup(os.environ["DATABASE_URL"], tmp_path / "snapshots")
        count_at_end = len(created)
        time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not failures, failures[:3]
    assert count_at_end > 10, "orders were being created while the backup ran"
    before_backup = {number for at, number in created if at < started}
    manifest = snap.manifest
    assert manifest["schema_revision"] == _scalar(os.environ["DATABASE_URL"], "SELECT version_num FROM alembic_version")
    assert manifest["sha256"] and manifest["bytes"] == snap.data_path.stat().st_size
    assert manifest["tables"]["sales_orders"] >= len(before_backup)

    report = backup.restore(fresh_database, snap.data_path)
    assert report["rows"] == manifest["rows"]
    restored = _order_ids(fresh_database)
    assert len(restored) == manifest["tables"]["sales_orders"]
    assert before_backup <= restored, "an order answered before the backup began is missing"
    assert _scalar(fresh_database, "SELECT COUNT(*) FROM sales_order_lines") == manifest["tables"]["sales_order_lines"]

    env = {**os.environ, "DATABASE_URL": fresh_database}
    check = subprocess.run([sys.executable, "-m", "erp_local.cli", "check", "stock"], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 mismatches" in check.stdout

    with pytest.raises(backup.BackupError, match="holds .* rows"):
        backup.restore(fresh_database, snap.manifest_path)
    backup.restore(fresh_database, snap.manifest_path, force=True)
    assert _order_ids(fresh_database) == restored


def _copy_with(snap: backup.Snapshot, folder: Path, **changes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {**snap.manifest, **changes}
    (folder / snap.data_path.name).write_bytes(snap.data_path.read_bytes())
    path = folder / snap.manifest_path.name
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_snapshot(database, tmp_path_factory):
    return backup.backup(os.environ["DATABASE_URL"], tmp_path_factory.mktemp("snap"))


def test_restore_refuses_another_schema_revision_unless_told_to_migrate(small_snapshot, fresh_database, tmp_path):
    older = _copy_with(small_snapshot, tmp_path / "older", schema_revision="0021")
    with pytest.raises(backup.BackupError, match="--migrate"):
        backup.restore(fresh_database, older)
    newer = _copy_with(small_snapshot, tmp_path / "newer", schema_revision="9999")
    with pytest.raises(backup.BackupError, match="unknown"):
        backup.restore(fresh_database, newer, migrate=True)
    assert _scalar(fresh_database, "SELECT 1") == 1  # nothing loaded: the refusals come first


def test_restore_migrates_an_older_snapshot_when_told(fresh_database, tmp_path):
    """A database at an older revision, backed up, restored with --migrate, ends at the head."""
    from erp_common.migrate import head_revision

    source = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": source}
    subprocess.run([sys.executable, "-m", "erp_local.cli", "migrate", "0021"], check=True, env=env, cwd=ROOT,
                   capture_output=True, timeout=120)
    if BACKEND == "services":
        pytest.skip("the older database is made on SQLite; the MariaDB path is the same code after the load")
    snap = backup.backup(source, tmp_path / "snaps")
    assert snap.manifest["schema_revision"] == "0021"
    report = backup.restore(fresh_database, snap.manifest_path, migrate=True)
    assert report["migrated_to"] == head_revision()
    assert _scalar(fresh_database, "SELECT version_num FROM alembic_version") == head_revision()


def test_restore_refuses_a_damaged_snapshot_or_one_without_its_manifest(small_snapshot, fresh_database, tmp_path):
    damaged = _copy_with(small_snapshot, tmp_path / "damaged")
    data = damaged.parent / small_snapshot.data_path.name
    data.write_bytes(data.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(backup.BackupError, match="checksum"):
        backup.restore(fresh_database, damaged)
    lone = tmp_path / "lone" / small_snapshot.data_path.name
    lone.parent.mkdir()
    lone.write_bytes(small_snapshot.data_path.read_bytes())
    with pytest.raises(backup.BackupError, match="no manifest"):
        backup.restore(fresh_database, lone)


def test_retention_keeps_the_last_days_and_always_the_newest(small_snapshot, tmp_path):
    now = datetime(2026, 12, 10, 3, 0, tzinfo=timezone.utc)
    for days in (20, 9, 6, 1):
        when = now - timedelta(days=days)
        stamp = when.strftime("%Y%m%dT%H%M%S") + "000Z"
        (tmp_path / f"erp-{stamp}.sqlite3.gz").write_bytes(b"x")
        (tmp_path / f"erp-{stamp}.manifest.json").write_text(json.dumps(
            {**small_snapshot.manifest, "created_at": when.isoformat().replace("+00:00", "Z"),
             "file": f"erp-{stamp}.sqlite3.gz"}))
    removed = backup.prune(tmp_path, 7, now=now)
    assert len(removed) == 4  # the 20- and 9-day-old snapshots, data and manifest
    assert [s.manifest["created_at"][:10] for s in backup.snapshots(tmp_path)] == ["2026-12-04", "2026-12-09"]
    assert len(backup.prune(tmp_path, 0, now=now + timedelta(days=30))) == 2  # the newest stays
    assert len(backup.snapshots(tmp_path)) == 1


def test_the_cli_backs_up_with_retention_and_restores(tmp_path, fresh_database):
    env = {**os.environ}
    out = subprocess.run([sys.executable, "-m", "erp_local.cli", "backup", "--to", str(tmp_path), "--keep-days", "7"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "manifest:" in out.stdout and "kept 7 days" in out.stdout
    manifest = next(tmp_path.glob("*.manifest.json"))
    env["DATABASE_URL"] = fresh_database
    out = subprocess.run([sys.executable, "-m", "erp_local.cli", "restore", str(manifest)], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    again = subprocess.run([sys.executable, "-m", "erp_local.cli", "restore", str(manifest)], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=300)
    assert again.returncode == 2 and "--force" in again.stderr
