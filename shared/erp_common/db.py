"""Database access: one engine per process, one transaction per request.

SQLite is the embedded default (WAL, foreign keys, ``BEGIN IMMEDIATE`` so concurrent writers
queue instead of failing); MySQL 8 / MariaDB 10.11 in production (pre-ping after idleness,
recycle, READ COMMITTED). ``transaction()`` opens one database transaction;
business code opens it through the unit of work (``erp_common.uow``), which retries it on
deadlocks and lock timeouts, and on a lost connection before its commit was sent.

Pre-ping: a connection idle in the pool for more than ``PING_AFTER_IDLE`` seconds is pinged
when it is checked out, and replaced if the ping fails (the pessimistic recipe of
``pool_pre_ping``, which pings at every checkout: one round trip more per request). A
connection used less than that ago that the server has dropped meanwhile (a restart) fails on
its first statement; SQLAlchemy then invalidates the whole pool, and ``uow.run``
runs the unit of work again on a fresh connection, since nothing of it can have committed.

MySQL drivers: ``DATABASE_URL`` names PyMySQL (``mysql+pymysql://``, as the seed's URLs are
normalised), but the engine connects through mysqlclient, the C driver (``mysql+mysqldb``),
wherever it is installed (``make install`` and the image build it where the MariaDB client
headers are; 10-15 % less gateway CPU per order, docs/benchmarks.md), and through PyMySQL
otherwise. ``ERP_DB_DRIVER`` (``auto``, ``mysqlclient``, ``pymysql``) overrides the choice. What
differs between them is kept here: the connection arguments (TLS only when the URL asks for it,
``mysql_engine_args``), the ping, and the errors one driver classes differently from the other
(``_classify_as_pymysql``); everything above the engine sees the same rows, types and errors.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from sqlalchemy import DateTime, Numeric, String, UniqueConstraint, create_engine, event, make_url, text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from .config import DB_DRIVERS, get_settings, truthy
from .errors import ConfigError

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


def CaseInsensitive(length: int):  # noqa: N802 - reads as the column type it returns
    """A unique code or name compared without regard to case, on every backend.

    Usernames, SKU codes and barcodes, warehouse and supplier codes and category names are told
    apart case-insensitively: ``Alice`` and ``alice`` are one user. MariaDB/MySQL do so by the
    database's ``*_ci`` collation; SQLite columns are declared ``COLLATE NOCASE`` (migration
    0030), so ``=``, ``IN`` and the unique index agree there too. NOCASE folds ASCII only, which
    is all a code may hold; category names are also compared casefolded by the catalog's own check.
    """
    return String(length).with_variant(String(length, collation="NOCASE"), "sqlite")


def code_key(value: str) -> str:
    """How the database tells two codes apart (see ``CaseInsensitive``), for checks made in Python."""
    return value.lower()


class Base(DeclarativeBase):
    pass


_lock = threading.Lock()
_engine: Engine | None = None
_sessions: sessionmaker | None = None
_readonly_sessions: sessionmaker | None = None
_read_engine: Engine | None = None  # DATABASE_READ_URL: a replica for declared read-only operations
_replica_sessions: sessionmaker | None = None


def _sqlite_engine(url: str, lock_wait: int) -> Engine:
    path = url.split("sqlite:///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": lock_wait},
                           hide_parameters=True)  # (an error's text must not carry a password hash or phone)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={lock_wait * 1000}")  # a writer waits this long for the write lock
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


# Seconds a pooled connection may sit unused before a checkout pings it (see the module notes).
PING_AFTER_IDLE = 5.0
_IDLE_SINCE = "erp_idle_since"


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        if dbapi_connection is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return  # a new connection, or one that answered a moment ago
        try:
            # The dialect pings as its driver wants it (PyMySQL's ping(reconnect) differs from mysqlclient's).
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another one.
            raise DisconnectionError(f"a pooled connection idle for {time.monotonic() - idle_since:.0f}s "
                                     f"is gone: {exc}") from exc


# ERP_DB_DRIVER's names for the MySQL drivers, and SQLAlchemy's dialect for each.
MYSQL_DIALECTS = {"mysqlclient": "mysql+mysqldb", "pymysql": "mysql+pymysql"}


def mysqlclient_installed() -> bool:
    """True where mysqlclient imports (it is built where the MariaDB client headers were found)."""
    try:
        import MySQLdb  # noqa: F401
    except ImportError:  # not built here, or its client library (libmariadb) is missing
        return False
    return True


def mysql_driver(choice: str | None = None) -> str:
    """The MySQL driver to connect with: ``ERP_DB_DRIVER`` (or ``choice``), where ``auto`` means
    mysqlclient where it is installed and PyMySQL otherwise."""
    choice = choice or get_settings().db_driver
    if choice not in DB_DRIVERS:
        raise ConfigError(f"ERP_DB_DRIVER={choice!r} is not one of {', '.join(DB_DRIVERS)}")
    if choice == "pymysql":
        return "pymysql"
    if mysqlclient_installed():
        return "mysqlclient"
    if choice == "mysqlclient":
        raise ConfigError("ERP_DB_DRIVER=mysqlclient, but mysqlclient is not installed here (`make install` "
                          "builds it where libmariadb-dev and a C compiler are): use auto or pymysql")
    return "pymysql"


# TLS options a DATABASE_URL may carry (PyMySQL's names); they become each driver's own arguments.
_TLS_OPTIONS = ("ssl_ca", "ssl_cert", "ssl_key", "ssl_verify_cert", "ssl_verify_identity", "ssl_disabled")


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else truthy(value)


def mysql_tls_args(options: dict[str, str], driver: str) -> dict[str, object]:
    """The driver's TLS arguments for the URL's TLS ``options``: none unless the URL asks for TLS.

    Without options, no TLS is tried: PyMySQL would otherwise "prefer" it and build an SSL
    context for every new connection (~48 ms of CPU holding the GIL), even against a server with
    TLS off; mysqlclient is told ``ssl_mode=DISABLED``. A URL naming a CA (``ssl_ca``) gets TLS
    with the server's certificate verified against it and its host name checked (as PyMySQL did
    with a CA alone); ``ssl_verify_identity=false`` skips the name (PyMySQL only: MariaDB's client
    library checks the name whenever it verifies); ``ssl_cert``/``ssl_key`` send a client
    certificate; ``ssl_verify_cert=false`` encrypts without verifying; ``ssl_disabled=true`` turns
    TLS off whatever else is given.
    """
    ca, cert, key = options.get("ssl_ca"), options.get("ssl_cert"), options.get("ssl_key")
    verify = _flag(options.get("ssl_verify_cert"), bool(ca))
    identity = _flag(options.get("ssl_verify_identity"), verify)
    verify = verify or identity
    wanted = bool(ca or cert or key or verify) and not _flag(options.get("ssl_disabled"), False)
    if driver == "pymysql":
        if not wanted:
            return {"ssl_disabled": True}
        args = {"ssl_ca": ca, "ssl_cert": cert, "ssl_key": key}
        # PyMySQL verifies nothing unless told to, even with a CA: say it in both cases.
        return {**{k: v for k, v in args.items() if v}, "ssl_verify_cert": verify, "ssl_verify_identity": identity}
    if not wanted:
        return {"ssl_mode": "DISABLED"}
    ssl = {name: value for name, value in (("ca", ca), ("cert", cert), ("key", key)) if value}
    mode = "VERIFY_IDENTITY" if identity else "VERIFY_CA" if verify else "REQUIRED"
    return {"ssl_mode": mode, **({"ssl": ssl} if ssl else {})}


def mysql_engine_args(url: str | URL, driver: str | None = None) -> tuple[URL, dict[str, object]]:
    """The URL to create a MySQL engine with (the chosen driver's dialect, the TLS options taken out
    of its query) and the driver's connection arguments (``mysql_tls_args``). A URL of another
    database is left as it is (SQLAlchemy then names what it cannot load)."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("mysql", "mariadb"):
        return parsed, {}
    driver = driver or mysql_driver()
    options = {name: parsed.query[name] for name in _TLS_OPTIONS if name in parsed.query}
    options = {name: value[-1] if isinstance(value, tuple) else value for name, value in options.items()}
    target = parsed.difference_update_query(_TLS_OPTIONS).set(drivername=MYSQL_DIALECTS[driver])
    return target, mysql_tls_args(options, driver)


# MySQL errors that mysqlclient raises as OperationalError where PyMySQL raises DataError (1366 an
# incorrect value for the column, 1367 an illegal value for its type): a value the column cannot hold.
_DATA_ERRORS = {1366, 1367}


def mysql_error_code(exc: BaseException) -> int | None:
    """The MySQL error number of a driver's error (or of SQLAlchemy's wrapping of it), else None.
    Both drivers put it first in the error's ``args``."""
    args = getattr(getattr(exc, "orig", exc), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _classify_as_pymysql(engine: Engine) -> None:
    """Raise the errors whose class the drivers disagree on as PyMySQL classes them, so the HTTP
    layer answers the same status under either driver (a value out of range is 422, not 503)."""

    @event.listens_for(engine, "handle_error")
    def _reclassify(context):
        error = context.sqlalchemy_exception
        if isinstance(error, OperationalError) and mysql_error_code(context.original_exception) in _DATA_ERRORS:
            raise DataError(error.statement, error.params, context.original_exception,
                            hide_parameters=error.hide_parameters) from context.original_exception


def _bound_lock_waits(engine: Engine, seconds: int) -> None:
    """Every MySQL connection waits at most ``seconds`` for a row lock (the server's default is 50 s:
    one held lock would hold request threads far past a function's exec timeout)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:  # both drivers' cursors close on leaving the block
            cursor.execute(f"SET SESSION innodb_lock_wait_timeout = {int(seconds)}")


_request_threads = 0  # the request threads of the server in this process (``serve_threads``)


def serve_threads(threads: int) -> None:
    """Say how many request threads this process serves with: its pool then keeps at least one
    connection more than that (the background publisher and the schedules use one too), whatever
    ``ERP_DB_POOL_SIZE`` says, so no request waits to reuse a connection or pays for opening one.
    Called by the servers before the first request (an engine made earlier is made again)."""
    global _request_threads
    if threads != _request_threads:
        _request_threads = threads
        if _engine is not None and _engine.dialect.name != "sqlite" and _engine.pool.size() < pool_size():
            dispose_engine()


def pool_size() -> int:
    return max(get_settings().db_pool_size, _request_threads + 1)


def lock_wait_seconds() -> int:
    return get_settings().db_lock_wait_seconds


def _create_engine(url: str) -> Engine:
    settings = get_settings()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings.db_lock_wait_seconds)
    target, connect_args = mysql_engine_args(url)
    engine = create_engine(
        target,
        connect_args=connect_args,
        pool_pre_ping=False,  # pinged after PING_AFTER_IDLE instead (module notes)
        pool_recycle=1800,
        # At least as many pooled connections as request threads: a connection beyond
        # the pool is closed when returned, and opening one costs a handshake.
        pool_size=pool_size(),
        max_overflow=10,
        isolation_level="READ COMMITTED",
        # Every unit of work ends its transaction (commit or rollback) before the
        # connection goes back, so the pool's extra ROLLBACK on return would be
        # one more round trip per request for nothing.
        pool_reset_on_return=None,
        # Errors logged must not quote the values written (hashes, phones, e-mails).
        hide_parameters=True,
    )
    _ping_after_idle(engine)
    _bound_lock_waits(engine, settings.db_lock_wait_seconds)
    _classify_as_pymysql(engine)
    return engine


def get_engine() -> Engine:
    global _engine, _sessions, _readonly_sessions
    if _engine is None:
        with _lock:
            if _engine is None:
                engine = _create_engine(get_settings().database_url)
                _sessions = sessionmaker(bind=engine, expire_on_commit=False)
                _readonly_sessions = sessionmaker(
                    bind=engine.execution_options(erp_readonly=True), expire_on_commit=False
                )
                _engine = engine
    return _engine


def get_read_engine() -> Engine | None:
    """The replica's engine (``DATABASE_READ_URL``), or None when reads stay on the primary."""
    global _read_engine, _replica_sessions
    if _read_engine is None and get_settings().database_read_url:
        with _lock:
            if _read_engine is None:
                engine = _create_engine(get_settings().database_read_url)
                _replica_sessions = sessionmaker(bind=engine.execution_options(erp_readonly=True),
                                                 expire_on_commit=False)
                _read_engine = engine
    return _read_engine


def dispose_engine() -> None:
    """Close every pooled connection and forget the engines (tests, settings changes)."""
    global _engine, _sessions, _readonly_sessions, _read_engine, _replica_sessions
    with _lock:
        for engine in (_engine, _read_engine):
            if engine is not None:
                engine.dispose()
        _engine = _read_engine = None
        _sessions = _readonly_sessions = _replica_sessions = None


@contextmanager
def transaction(*, readonly: bool = False, replica: bool = False) -> Iterator[Session]:
    """Open one unit of work: commit if the block succeeds, roll back if it raises.

    ``readonly`` is a promise that the block only reads: on SQLite it then takes no write lock.
    ``replica`` (with ``readonly``) lets the block read from ``DATABASE_READ_URL`` when it is set:
    a replica may lag the primary by a moment, so only work that can read a moment-old state asks.
    """
    get_engine()
    factory = _readonly_sessions if readonly else _sessions
    if readonly and replica and get_read_engine() is not None:
        factory = _replica_sessions
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
    """A deadlock or lock wait timeout (MySQL's code, whichever driver raised it; SQLite's message)."""
    if isinstance(exc, DBAPIError):
        if mysql_error_code(exc) in _RETRYABLE_MYSQL:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


_MYSQL_DUPLICATE = re.compile(r"Duplicate entry .* for key '(?:\w+\.)?(\w+)'")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")


def unique_key_field(exc: BaseException) -> str | None:
    """The field a refused write clashed on, when the database refused it for a unique key.

    Read from the message (MySQL/MariaDB 1062 names the key, which for a one-column key is the
    column; SQLite names the columns); a constraint's ``info["field"]`` says which input field it
    stands for when that is not its last column.
    """
    text = str(getattr(exc, "orig", exc))
    if match := _MYSQL_DUPLICATE.search(text):
        name = match.group(1)
        found = [c for t in Base.metadata.tables.values() for c in t.constraints if c.name == name]
        columns = [col.name for col in found[0].columns] if found else [name]  # as SQLite names them
    elif match := _SQLITE_UNIQUE.search(text):
        parts = [p.rsplit(".", 1) for p in match.group(1).split(", ")]
        table, columns = Base.metadata.tables.get(parts[0][0]), [column for _, column in parts]
        found = [c for c in (table.constraints if table is not None else ())
                 if isinstance(c, UniqueConstraint) and [col.name for col in c.columns] == columns]
    else:
        return None
    return found[0].info.get("field", columns[-1]) if found else columns[-1]


def ping() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
