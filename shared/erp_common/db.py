"""Database access: one engine per process, one transaction per request.

SQLite is the embedded default (WAL, foreign keys, ``BEGIN IMMEDIATE`` so concurrent writers
queue instead of failing); MySQL 8 / MariaDB 10.11 through PyMySQL in production (pre-ping,
recycle, READ COMMITTED). ``transaction()`` is the one way to open a unit of work;
``run_in_transaction()`` retries it on deadlocks and lock timeouts.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from sqlalchemy import DateTime, Numeric, create_engine, event, text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from .config import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        # MySQL's DATETIME keeps whole seconds unless asked for microseconds.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted: use UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


def Money() -> Numeric:  # noqa: N802 - reads as a column type
    """DECIMAL(18,4) for amounts and prices, always read as Decimal."""
    return Numeric(18, 4, asdecimal=True)


def Quantity() -> Numeric:  # noqa: N802
    """DECIMAL(18,4) for quantities, always read as Decimal."""
    return Numeric(18, 4, asdecimal=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


ZERO = Decimal("0")


class Base(DeclarativeBase):
    pass


_lock = threading.Lock()
_engine: Engine | None = None
_sessions: sessionmaker | None = None
_readonly_sessions: sessionmaker | None = None


def _sqlite_engine(url: str) -> Engine:
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: two deferred transactions that both later write
        # would otherwise fail with SQLITE_BUSY instead of queueing. Readers (WAL) need no lock.
        if conn.get_execution_options().get("erp_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def get_engine() -> Engine:
    global _engine, _sessions, _readonly_sessions
    if _engine is None:
        with _lock:
            if _engine is None:
                settings = get_settings()
                url = settings.database_url
                if url.startswith("sqlite"):
                    engine = _sqlite_engine(url)
                else:
                    engine = create_engine(
                        url,
                        pool_pre_ping=True,
                        pool_recycle=1800,
                        pool_size=settings.db_pool_size,
                        max_overflow=settings.db_pool_size * 2,
                        isolation_level="READ COMMITTED",
                        # Every unit of work ends its transaction (commit or rollback) before the
                        # connection goes back, so the pool's extra ROLLBACK on return would be
                        # one more round trip per request for nothing.
                        pool_reset_on_return=None,
                    )
                _sessions = sessionmaker(bind=engine, expire_on_commit=False)
                _readonly_sessions = sessionmaker(
                    bind=engine.execution_options(erp_readonly=True), expire_on_commit=False
                )
                _engine = engine
    return _engine


def dispose_engine() -> None:
    """Close every pooled connection and forget the engine (tests, settings changes)."""
    global _engine, _sessions, _readonly_sessions
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessions = None
        _readonly_sessions = None


@contextmanager
def transaction(*, readonly: bool = False) -> Iterator[Session]:
    """Open one unit of work: commit if the block succeeds, roll back if it raises.

    ``readonly`` is a promise that the block only reads: on SQLite it then takes no write lock.
    """
    get_engine()
    factory = _readonly_sessions if readonly else _sessions
    assert factory is not None
    session = factory()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


# MySQL: 1213 deadlock, 1205 lock wait timeout; SQLite: "database is locked".
_RETRYABLE_MYSQL = {1213, 1205}


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        args = getattr(orig, "args", ())
        if args and isinstance(args[0], int) and args[0] in _RETRYABLE_MYSQL:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(orig):
            return True
    return False


def run_in_transaction(work: Callable[[Session], T], *, attempts: int = 5, readonly: bool = False) -> T:
    """Run ``work`` in one transaction, retrying the whole of it on a deadlock or lock timeout."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(readonly=readonly) as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            log.warning("transaction retried after %s (attempt %d)", exc.orig, attempt)
            time.sleep(0.005 * (2 ** attempt))
    raise AssertionError("unreachable")


def ping() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
