"""Statements prepared once and run on the database driver's cursor: the hot writes' cheapest path.

An order runs nine statements (the SKUs, the active promotions, the order, its number, its lines,
the stock rows locked, updated, the ledger rows, the outbox). Run as SQLAlchemy Core, each costs
~0.1-0.2 ms of Python before the driver sees it (an execution context, the parameters processed
by name, a result object), as much again as the driver itself. A ``Prepared`` statement is a Core
statement compiled once per database (its SQL text, the order of its parameters, the conversion
of each parameter and each result column, as SQLAlchemy's types define them), then executed on
the DB-API cursor of the unit of work's own connection: the same transaction, the same
savepoints, the same rows written and read. Errors from the driver go through SQLAlchemy's own
error handling (``Connection._cursor_execute``; SQLAlchemy is pinned), so the unit of work sees
the exceptions it always has: a deadlock or lock wait timeout retried, a lost connection
invalidated and retried, a duplicate key an ``IntegrityError`` (409).

Used for the statements every write shares (the stock ledger, the outbox) and those of the order
path. ``ERP_DB_PREPARED=false`` runs the very same statements through SQLAlchemy Core instead (the
general path): tests/unit/test_prepared.py runs the same scenarios both ways and compares what
they answered and wrote.
"""
from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Insert, Select
from sqlalchemy.sql.expression import Executable

from .config import get_settings

_MISSING = object()
T = TypeVar("T")


class _Compiled:
    """A statement as one dialect runs it: SQL, where each parameter comes from, how it converts."""

    __slots__ = ("sql", "positional", "params", "row", "columns")

    def __init__(self, statement: Executable, dialect: Dialect, keys: tuple[str, ...] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if any(bind.expanding for bind in compiled.binds.values()):
            # its SQL is rendered anew for every list of values: nothing to compile once
            raise ValueError("a prepared statement takes one bound parameter per value, not an expanding IN")
        if any(bind.callable is not None for bind in compiled.binds.values()):
            # Core calls it at every execution: frozen here, its value would be the first call's
            raise ValueError("a prepared statement takes its values as parameters, not from a callable_")
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        defaults = {c.key: c.default.arg for c in getattr(compiled, "insert_prefetch", ())
                    if c.default is not None and c.default.is_scalar}
        # (name, converter, fixed value): a value the statement carries itself (a literal) is fixed.
        self.params: list[tuple[str, Callable[[Any], Any] | None, Any]] = []
        for name in names:
            bind = compiled.binds[name]
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            fixed = _MISSING
            if keys is None or name not in keys:
                if bind.value is not None:
                    fixed = bind.value
                elif name in defaults:
                    fixed = defaults[name]
            if fixed is not _MISSING and convert is not None:
                fixed, convert = convert(fixed), None
            self.params.append((name, convert, fixed))
        self.row = None
        self.columns: list[Callable[[Any], Any] | None] = []
        if isinstance(statement, Select):
            selected = list(statement.selected_columns)
            self.row = namedtuple("Row", [c.key for c in selected], rename=True)
            self.columns = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected]

    def values(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        out = []
        for name, convert, fixed in self.params:
            if fixed is not _MISSING and name not in params:
                out.append(fixed)
                continue
            value = params[name]
            out.append(convert(value) if convert is not None and value is not None else value)
        if self.positional:
            return out
        return {name: value for (name, _, _), value in zip(self.params, out, strict=True)}

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        columns, make = self.columns, self.row
        if not any(columns):
            return [make._make(r) for r in raw]
        return [make._make([c(v) if c is not None else v for c, v in zip(columns, r, strict=True)]) for r in raw]


def driver_level() -> bool:
    """Whether prepared statements run on the driver's cursor (``ERP_DB_PREPARED``, on by default)."""
    return get_settings().db_prepared


class Prepared:
    """A Core statement compiled once per database and run on the driver's cursor.

    ``rows`` reads (a list of named tuples, values converted as SQLAlchemy's types define them);
    ``insert`` writes one row and gives its new id; ``run`` writes and gives the rows matched;
    ``run_many`` writes many rows in one call (the driver sends one multi-row INSERT). Each takes
    the unit of work's ``Session`` (or a ``Connection``) and the statement's parameters by name.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._insert = isinstance(statement, Insert)
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        # An INSERT is compiled for the columns given, as Core does; other statements once.
        keys = tuple(params) if self._insert else None
        key = (dialect.name, dialect.driver, keys)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    compiled = self._compiled[key] = _Compiled(self.statement, dialect, keys)
        return compiled

    # --- the four ways to run it -----------------------------------------------------------

    def rows(self, target: Session | Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        params = params or {}
        conn = _connection(target)
        if not driver_level():
            result = conn.execute(self.statement, dict(params))
            compiled = self._for(conn.dialect, params)
            return [compiled.row._make(r) for r in result]
        return self._on_cursor(conn, params, lambda cursor, compiled: compiled.rows(cursor.fetchall()))

    def insert(self, target: Session | Connection, params: Mapping[str, Any]) -> int:
        conn = _connection(target)
        if not driver_level():
            return conn.execute(self.statement, dict(params)).inserted_primary_key[0]
        return self._on_cursor(conn, params, lambda cursor, _: cursor.lastrowid)

    def run(self, target: Session | Connection, params: Mapping[str, Any]) -> int:
        conn = _connection(target)
        if not driver_level():
            return conn.execute(self.statement, dict(params)).rowcount
        return self._on_cursor(conn, params, lambda cursor, _: cursor.rowcount)

    def _on_cursor(self, conn: Connection, params: Mapping[str, Any], answer: Callable[[Any, _Compiled], T]) -> T:
        """Execute on a cursor of the unit of work's connection; ``answer`` reads the result off it."""
        compiled = self._for(conn.dialect, params)
        cursor = conn.connection.cursor()
        try:
            _execute(conn, cursor, compiled.sql, compiled.values(params))
            return answer(cursor, compiled)
        finally:
            _close(cursor)

    def run_many(self, target: Session | Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        conn = _connection(target)
        if not driver_level():
            conn.execute(self.statement, [dict(r) for r in rows])
            return
        compiled = self._for(conn.dialect, rows[0])
        values = [compiled.values(r) for r in rows]
        cursor = conn.connection.cursor()
        events = conn._has_events or conn.engine._has_events
        try:
            sql = compiled.sql
            if events:  # the listeners every statement reaches (as ``_cursor_execute`` calls them)
                for listen in conn.dispatch.before_cursor_execute:
                    sql, values = listen(conn, cursor, sql, values, None, True)
            try:
                conn.dialect.do_executemany(cursor, sql, values, None)
            except BaseException as exc:  # mapped as every statement's error is (see the module notes)
                with _as_core_raises():
                    conn._handle_dbapi_exception(exc, sql, values, cursor, None)
            if events:
                conn.dispatch.after_cursor_execute(conn, cursor, sql, values, None, True)
        finally:
            _close(cursor)


def _connection(target: Session | Connection) -> Connection:
    """The unit of work's connection, its transaction begun; a Session's pending objects flushed
    first (what ``Session.execute`` does before any statement: rows written in the order asked)."""
    if isinstance(target, Session):
        if target.autoflush:
            target.flush()
        return target.connection()
    return target


def _close(cursor: Any) -> None:
    """Close a cursor; on a connection already lost, mysqlclient's close raises again: the error that
    matters is the one the statement raised, already on its way to the unit of work."""
    try:
        cursor.close()
    except Exception:
        pass


def _execute(conn: Connection, cursor: Any, sql: str, values: Any) -> None:
    with _as_core_raises():
        conn._cursor_execute(cursor, sql, values)


@contextmanager
def _as_core_raises() -> Iterator[None]:
    """A driver error as SQLAlchemy raises it (``DBAPIError`` and its kinds); any other error (a
    value the driver cannot send: an int beyond SQLite's, an OverflowError) as itself, which is how
    Core lets it through from an execution (without one, SQLAlchemy wraps it in StatementError)."""
    try:
        yield
    except StatementError as err:
        if isinstance(err, DBAPIError) or err.orig is None:
            raise
        raise err.orig from None
