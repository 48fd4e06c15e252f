"""``erp backup`` and ``erp restore``: consistent snapshots of the database, taken while it serves.

A snapshot is two files in the backup folder: the data (``erp-<time>.sql.gz``, written by
``mariadb-dump``/``mysqldump --single-transaction``, one consistent read of every InnoDB table
without locking the writers; or ``erp-<time>.sqlite3.gz``, a copy made by SQLite's online
backup API) and its manifest (``erp-<time>.manifest.json``: when, the backend, the schema
revision, the rows of every table, the data file's size and SHA-256). The row counts and the
revision are read from the snapshot itself (the dump's INSERT statements, the copy's tables),
not from the live database a moment later, so they are exactly what a restore brings back.

``restore`` checks the checksum, refuses a snapshot of another schema revision unless told to
migrate it after loading (and always one newer than this code), refuses to overwrite a database
that holds rows unless forced, and checks the restored row counts against the manifest.
``prune`` keeps the snapshots of the last N days (for a scheduled run).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Engine, make_url

FORMAT = 1
PREFIX = "erp-"
MANIFEST_SUFFIX = ".manifest.json"
CHUNK = 1 << 20
_NAME = re.compile(r"^erp-(\d{8}T\d{6}(?:\d{3})?Z)\.manifest\.json$")


class BackupError(Exception):
    """A backup or restore that cannot be done (the message says why and what to do)."""


@dataclass
class Snapshot:
    manifest_path: Path
    manifest: dict[str, Any]

    @property
    def data_path(self) -> Path:
        return self.manifest_path.parent / self.manifest["file"]


def _backend(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return "sqlite"
    if url.get_backend_name() in ("mysql", "mariadb"):
        return "mysql"
    raise BackupError(f"no backup for {url.get_backend_name()} databases")


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- MySQL / MariaDB: the client tools ---------------------------------------------------

def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise BackupError(f"none of {', '.join(names)} is installed (the MariaDB or MySQL client tools)")


@contextmanager
def _client_options(url: URL) -> Iterator[list[str]]:
    """Connection options for the client tools; the password in a file only this user can read,
    not on the command line where ``ps`` shows it to everyone."""
    with tempfile.NamedTemporaryFile("w", prefix="erp-client-", suffix=".cnf", delete=False) as f:
        os.chmod(f.name, 0o600)
        f.write("[client]\n")
        if url.password:
            f.write(f"password={url.password}\n")
    try:
        options = [f"--defaults-extra-file={f.name}", f"--host={url.host or '127.0.0.1'}",
                   f"--port={url.port or 3306}", f"--user={url.username or 'root'}"]
        yield options
    finally:
        os.unlink(f.name)


_INSERT = re.compile(r"^INSERT INTO `([^`]+)` VALUES\s*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")


class RowCounter:
    """Counts the rows of a dump's INSERT statements as its lines go by, in either layout: MySQL's
    (a statement on one line) or MariaDB's (a row per line). A dump escapes newlines inside strings,
    and with --hex-blob no value outside a string holds a parenthesis: once the strings are removed,
    each "(" begins a row."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.revision: str | None = None
        self._table: str | None = None

    def feed(self, raw: bytes) -> None:
        if self._table is None:
            if raw.startswith(b"CREATE TABLE `"):  # an empty table has no INSERT: counted 0 from here
                self.counts.setdefault(raw.split(b"`")[1].decode(), 0)
                return
            if not raw.startswith(b"INSERT INTO `"):
                return
            line = raw.decode("utf-8", errors="replace")
            match = _INSERT.match(line)
            if match is None:
                return
            self._table, rest = match.group(1), line[match.end():]
        else:
            rest = raw.decode("utf-8", errors="replace")
        if self._table == "alembic_version" and self.revision is None:
            found = re.search(r"'([^']+)'", rest)
            self.revision = found.group(1) if found else None
        values = _STRING.sub("''", rest).rstrip()
        self.counts[self._table] = self.counts.get(self._table, 0) + values.count("(")
        if values.endswith(";"):
            self._table = None


def _dump_mysql(url: URL, out: Path) -> tuple[dict[str, int], str | None, str]:
    dump = _tool("mariadb-dump", "mysqldump")
    counter = RowCounter()
    with _client_options(url) as options:
        command = [dump, *options, "--single-transaction", "--quick", "--skip-lock-tables", "--no-tablespaces",
                   "--hex-blob", "--default-character-set=utf8mb4", "--routines", "--triggers", url.database or ""]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc, \
                gzip.open(out, "wb", compresslevel=1) as gz:
            assert proc.stdout is not None
            for raw in proc.stdout:
                gz.write(raw)
                counter.feed(raw)
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.returncode != 0:
            raise BackupError(f"{Path(dump).name} failed (exit {proc.returncode}): {stderr.strip()[:500]}")
    version = subprocess.run([dump, "--version"], capture_output=True, text=True).stdout.strip()
    return counter.counts, counter.revision, f"{version} --single-transaction"


# --- SQLite: the online backup API -------------------------------------------------------

def _copy_sqlite(url: URL, out: Path) -> tuple[dict[str, int], str | None, str]:
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"no SQLite database at {source_path}")
    with tempfile.TemporaryDirectory(prefix="erp-backup-", dir=out.parent) as tmp:
        copy_path = Path(tmp) / "copy.sqlite3"
        source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(copy_path)
        try:
            # One step copies every page under one read transaction: a consistent snapshot, while
            # writers (in WAL mode) go on; in smaller steps a write would restart the copy.
            source.backup(copy, pages=-1)
        finally:
            source.close()
        try:
            counts, revision = _sqlite_counts(copy)
        finally:
            copy.close()
        with copy_path.open("rb") as f, gzip.open(out, "wb", compresslevel=1) as gz:
            shutil.copyfileobj(f, gz, CHUNK)
    return counts, revision, f"sqlite3 {sqlite3.sqlite_version} online backup API"


def _sqlite_counts(conn: sqlite3.Connection) -> tuple[dict[str, int], str | None]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    revision = None
    if "alembic_version" in tables:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    return counts, revision


# --- backup ------------------------------------------------------------------------------

def backup(database_url: str, to_dir: Path) -> Snapshot:
    """Write a snapshot of the database at ``database_url`` into ``to_dir``; return it."""
    url = make_url(database_url)
    backend = _backend(url)
    to_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(timezone.utc)
    stamp = started_at.strftime("%Y%m%dT%H%M%S") + f"{started_at.microsecond // 1000:03d}Z"
    data_name = f"{PREFIX}{stamp}.{'sql' if backend == 'mysql' else 'sqlite3'}.gz"
    partial = to_dir / (data_name + ".partial")
    started = time.monotonic()
    try:
        if backend == "mysql":
            counts, revision, tool = _dump_mysql(url, partial)
        else:
            counts, revision, tool = _copy_sqlite(url, partial)
        partial.rename(to_dir / data_name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    data_path = to_dir / data_name
    manifest = {
        "format": FORMAT,
        "created_at": started_at.isoformat().replace("+00:00", "Z"),
        "backend": backend,
        "database": url.database if backend == "mysql" else _sqlite_path(url).name,
        "schema_revision": revision,
        "tool": tool,
        "file": data_name,
        "bytes": data_path.stat().st_size,
        "sha256": _sha256(data_path),
        "seconds": round(time.monotonic() - started, 3),
        "tables": dict(sorted(counts.items())),
        "rows": sum(counts.values()),
    }
    manifest_path = to_dir / f"{PREFIX}{stamp}{MANIFEST_SUFFIX}"
    # The manifest last, and atomically: a snapshot without one is incomplete, and prune ignores it.
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.rename(manifest_path)
    return Snapshot(manifest_path, manifest)


def snapshots(folder: Path) -> list[Snapshot]:
    """The complete snapshots in ``folder``, oldest first."""
    found = []
    for path in sorted(folder.glob(f"{PREFIX}*{MANIFEST_SUFFIX}")):
        if _NAME.match(path.name):
            found.append(Snapshot(path, json.loads(path.read_text(encoding="utf-8"))))
    return found


def prune(folder: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Delete the snapshots older than ``keep_days`` days, never the newest one; return what went."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=keep_days)
    existing = snapshots(folder)
    removed: list[Path] = []
    for snap in existing[:-1]:
        created = datetime.fromisoformat(snap.manifest["created_at"].replace("Z", "+00:00"))
        if created < cutoff:
            for path in (snap.data_path, snap.manifest_path):
                if path.exists():
                    path.unlink()
                    removed.append(path)
    return removed


# --- restore -----------------------------------------------------------------------------

def load_snapshot(path: Path) -> Snapshot:
    """The snapshot that ``path`` (its manifest or its data file) belongs to."""
    if path.name.endswith(MANIFEST_SUFFIX):
        manifest_path = path
    else:
        stem = path.name.split(".", 1)[0]
        manifest_path = path.parent / f"{stem}{MANIFEST_SUFFIX}"
    if not manifest_path.exists():
        raise BackupError(f"no manifest {manifest_path.name} beside {path.name}: not a complete snapshot")
    snap = Snapshot(manifest_path, json.loads(manifest_path.read_text(encoding="utf-8")))
    if snap.manifest.get("format") != FORMAT:
        raise BackupError(f"{manifest_path.name} is of format {snap.manifest.get('format')}, not {FORMAT}")
    return snap


def _known_revisions() -> tuple[str | None, set[str]]:
    from alembic.script import ScriptDirectory

    from erp_common.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    return scripts.get_current_head(), {rev.revision for rev in scripts.walk_revisions()}


def _engine(url: URL) -> Engine:
    """An engine on ``url`` that connects as the functions do (MySQL: the same driver, TLS only if asked)."""
    if url.get_backend_name() == "sqlite":
        return create_engine(url)
    from erp_common.db import mysql_engine_args

    target, connect_args = mysql_engine_args(url)
    return create_engine(target, connect_args=connect_args)


def _rows_in(url: URL) -> dict[str, int]:
    """Rows per table of the target database (alembic_version aside)."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            names = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            quote = conn.dialect.identifier_preparer.quote
            return {t: conn.execute(text(f"SELECT COUNT(*) FROM {quote(t)}")).scalar_one() for t in names}
    finally:
        engine.dispose()


def restore(database_url: str, path: Path, *, force: bool = False, migrate: bool = False) -> dict[str, Any]:
    """Load the snapshot at ``path`` into the database at ``database_url``; return a report."""
    url = make_url(database_url)
    backend = _backend(url)
    snap = load_snapshot(path)
    manifest = snap.manifest
    if manifest["backend"] != backend:
        raise BackupError(f"the snapshot is of a {manifest['backend']} database; this one is {backend}")
    if not snap.data_path.exists():
        raise BackupError(f"{snap.data_path.name}, the snapshot's data, is missing")
    if _sha256(snap.data_path) != manifest["sha256"]:
        raise BackupError(f"{snap.data_path.name} does not match its manifest's checksum: damaged or altered")
    head, known = _known_revisions()
    revision = manifest["schema_revision"]
    if revision != head:
        if revision not in known:
            raise BackupError(f"the snapshot's schema revision {revision} is unknown to this version of the ERP "
                              f"(newer?): restore it with the version that made it")
        if not migrate:
            raise BackupError(f"the snapshot is at schema revision {revision}, this version's is {head}: pass "
                              "--migrate to restore it and then migrate it")
    held = {t: n for t, n in _rows_in(url).items() if n}
    if held and not force:
        raise BackupError(f"the database holds {sum(held.values())} rows in {len(held)} tables: restore into an "
                          "empty database, or pass --force to replace everything in it")
    started = time.monotonic()
    if backend == "mysql":
        _load_mysql(url, snap.data_path)
    else:
        _load_sqlite(url, snap.data_path)
    seconds = time.monotonic() - started
    restored = _rows_in(url)
    differ = {t: (n, restored.get(t)) for t, n in manifest["tables"].items()
              if t != "alembic_version" and restored.get(t) != n}
    if differ:
        raise BackupError(f"restored, but the rows differ from the manifest (table: expected, found): {differ}")
    migrated_to = None
    if revision != head:
        migrated_to = _migrate(database_url)
    return {"snapshot": snap.manifest_path.name, "created_at": manifest["created_at"], "rows": manifest["rows"],
            "tables": len(manifest["tables"]), "seconds": round(seconds, 3), "schema_revision": revision,
            "migrated_to": migrated_to}


def _migrate(database_url: str) -> str | None:
    from erp_common import config, db, migrate

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    try:
        config.configure(None)
        db.dispose_engine()
        migrate.upgrade()
        return migrate.current_revision()
    finally:
        db.dispose_engine()
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        config.configure(None)


def _drop_all_mysql(url: URL) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for table in inspect(conn).get_table_names():
                conn.execute(text(f"DROP TABLE `{table}`"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    finally:
        engine.dispose()


def _load_mysql(url: URL, data: Path) -> None:
    # Every table goes, not only those in the dump (its DROP TABLE IF EXISTS would leave the others).
    _drop_all_mysql(url)
    client = _tool("mariadb", "mysql")
    with _client_options(url) as options:
        command = [client, *options, "--default-character-set=utf8mb4", "--max-allowed-packet=256M",
                   url.database or ""]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc, \
                gzip.open(data, "rb") as gz:
            assert proc.stdin is not None
            try:
                shutil.copyfileobj(gz, proc.stdin, CHUNK)
            except BrokenPipeError:
                pass
            finally:
                proc.stdin.close()
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.returncode != 0:
            raise BackupError(f"{Path(client).name} failed (exit {proc.returncode}): {stderr.strip()[:500]}")


def _load_sqlite(url: URL, data: Path) -> None:
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="erp-restore-", dir=target_path.parent) as tmp:
        copy_path = Path(tmp) / "snapshot.sqlite3"
        with gzip.open(data, "rb") as gz, copy_path.open("wb") as f:
            shutil.copyfileobj(gz, f, CHUNK)
        source = sqlite3.connect(copy_path)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target)  # page by page into the live file, under its lock: WAL and readers stay sane
        finally:
            target.close()
            source.close()


def describe(stream: IO[str], manifest: dict[str, Any]) -> None:
    stream.write(f"{manifest['file']}: {manifest['rows']} rows in {len(manifest['tables'])} tables, schema "
                 f"{manifest['schema_revision']}, {manifest['bytes'] / 1e6:.1f} MB, {manifest['seconds']:.1f} s\n")
