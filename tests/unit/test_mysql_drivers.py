"""The two MySQL drivers, mysqlclient (C) and PyMySQL: which one the engine uses, the connection
arguments each gets, and, on MariaDB (ERP_TEST_BACKEND=services), the same scenarios run through
each: the values read back (money, microseconds, 4-byte characters, big integers), keys generated
by single and multi-row inserts, locking reads, savepoints, streamed results, and the errors the
platform classifies (deadlock, lock wait, duplicate key, a value the column cannot hold, a killed
connection), so that nothing above the engine can tell which driver it runs on."""
from __future__ import annotations

import dataclasses
import sys
import threading
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from erp_common import config, db, uow
from erp_common.errors import ConfigError
from tests.conftest import BACKEND
from tests.unit.test_db_connections import _kill_pooled_connections

DRIVERS = ("pymysql", "mysqlclient")
CALLER = uow.system_caller("test")
services = pytest.mark.skipif(BACKEND != "services", reason="needs MariaDB (ERP_TEST_BACKEND=services)")

metadata = MetaData()
checks = Table(
    "driver_checks", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("code", String(40), unique=True, nullable=False),
    Column("amount", db.Money()),
    Column("at", db.UTCDateTime()),
    Column("label", String(100)),
    Column("big", BigInteger),
    Column("flag", Boolean),
    mysql_charset="utf8mb4",
)


# --- which driver, with which arguments (no server needed) --------------------------------------

def test_auto_uses_mysqlclient_where_it_imports_and_pymysql_otherwise(monkeypatch):
    assert db.mysql_driver("pymysql") == "pymysql"
    monkeypatch.setitem(sys.modules, "MySQLdb", None)  # import MySQLdb now raises ImportError
    assert not db.mysqlclient_installed()
    assert db.mysql_driver("auto") == "pymysql"
    with pytest.raises(ConfigError, match="ERP_DB_DRIVER=mysqlclient, but mysqlclient is not installed"):
        db.mysql_driver("mysqlclient")
    monkeypatch.delitem(sys.modules, "MySQLdb")
    if db.mysqlclient_installed():
        assert db.mysql_driver("auto") == db.mysql_driver("mysqlclient") == "mysqlclient"


def test_the_driver_setting_is_auto_unless_it_names_one_of_the_drivers():
    assert config.load_settings({}).db_driver == "auto"
    assert config.load_settings({"ERP_DB_DRIVER": " PyMySQL "}).db_driver == "pymysql"
    with pytest.raises(ConfigError, match="ERP_DB_DRIVER='mysqldb' is not one of auto, mysqlclient, pymysql"):
        config.load_settings({"ERP_DB_DRIVER": "mysqldb"})


def test_the_url_keeps_naming_pymysql_and_the_engine_gets_the_chosen_dialect():
    url = "mysql+pymysql://erp:pw@db:3306/erp?charset=utf8mb4"
    for driver, dialect in (("pymysql", "mysql+pymysql"), ("mysqlclient", "mysql+mysqldb")):
        target, _ = db.mysql_engine_args(url, driver)
        assert target.drivername == dialect
        assert (target.host, target.database, target.password, dict(target.query)) == \
            ("db", "erp", "pw", {"charset": "utf8mb4"})
    assert db.mysql_engine_args("oracle+nosuchdriver://erp@db/erp")[0].drivername == "oracle+nosuchdriver"


@pytest.mark.parametrize("query, pymysql, mysqlclient", [
    ("", {"ssl_disabled": True}, {"ssl_mode": "DISABLED"}),
    ("&ssl_ca=/ca.pem", {"ssl_ca": "/ca.pem", "ssl_verify_cert": True, "ssl_verify_identity": True},
     {"ssl_mode": "VERIFY_IDENTITY", "ssl": {"ca": "/ca.pem"}}),
    ("&ssl_ca=/ca.pem&ssl_verify_identity=false",
     {"ssl_ca": "/ca.pem", "ssl_verify_cert": True, "ssl_verify_identity": False},
     {"ssl_mode": "VERIFY_CA", "ssl": {"ca": "/ca.pem"}}),
    ("&ssl_cert=/c.pem&ssl_key=/k.pem&ssl_verify_cert=false",
     {"ssl_cert": "/c.pem", "ssl_key": "/k.pem", "ssl_verify_cert": False, "ssl_verify_identity": False},
     {"ssl_mode": "REQUIRED", "ssl": {"cert": "/c.pem", "key": "/k.pem"}}),
    ("&ssl_ca=/ca.pem&ssl_disabled=true", {"ssl_disabled": True}, {"ssl_mode": "DISABLED"}),
], ids=["none", "ca", "ca-without-host-name", "client-certificate", "disabled"])
def test_tls_only_when_the_url_asks_for_it_and_verified_when_it_names_a_ca(query, pymysql, mysqlclient):
    """Without TLS options PyMySQL would "prefer" TLS and build an SSL context for every new
    connection; the options leave the URL (PyMySQL, given them there by SQLAlchemy, lost the CA
    and checked no host name when ``ssl_verify_identity=true`` came with it) and become each
    driver's own arguments."""
    url = "mysql+pymysql://erp@db:3306/erp?charset=utf8mb4" + query
    for driver, expected in (("pymysql", pymysql), ("mysqlclient", mysqlclient)):
        target, connect_args = db.mysql_engine_args(url, driver)
        assert connect_args == expected, driver
        assert dict(target.query) == {"charset": "utf8mb4"}, driver


def test_pymysql_gets_a_verifying_context_from_the_urls_ca_and_none_without_tls():
    import ssl

    import pymysql

    ca = Path(ssl.get_default_verify_paths().openssl_cafile)
    if not ca.is_file():
        pytest.skip(f"no CA bundle at {ca} to load")
    _, with_ca = db.mysql_engine_args(f"mysql+pymysql://erp@db/erp?ssl_ca={ca}", "pymysql")
    verified = pymysql.connections.Connection(host="db", defer_connect=True, **with_ca)
    assert verified.ctx.verify_mode == ssl.CERT_REQUIRED and verified.ctx.check_hostname and verified._ssl_required
    _, plain = db.mysql_engine_args("mysql+pymysql://erp@db/erp", "pymysql")
    assert pymysql.connections.Connection(host="db", defer_connect=True, **plain).ssl is False


# --- the same scenarios through each driver, on MariaDB -----------------------------------------

@pytest.fixture(params=DRIVERS)
def driver(request):
    """The process's engine on one driver, with the scenarios' table; the suite's settings after."""
    if request.param == "mysqlclient" and not db.mysqlclient_installed():
        pytest.skip("mysqlclient is not installed here (make install builds it where libmariadb-dev is)")
    settings = config.get_settings()
    db.dispose_engine()
    config.configure(dataclasses.replace(settings, db_driver=request.param))
    engine = db.get_engine()
    assert engine.dialect.driver == {"pymysql": "pymysql", "mysqlclient": "mysqldb"}[request.param]
    metadata.create_all(engine)
    try:
        yield request.param
    finally:
        metadata.drop_all(db.get_engine())
        db.dispose_engine()
        config.configure(settings)


ROWS = [
    {"code": "max", "amount": Decimal("99999999999999.9999"), "big": 2**63 - 1, "flag": True,
     "at": datetime(2026, 12, 2, 4, 5, 6, 123456, tzinfo=timezone.utc), "label": "emoji 😀 and 𠀀, 中文, ünï"},
    {"code": "min", "amount": Decimal("-0.0001"), "big": -(2**63), "flag": False,
     "at": datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc), "label": ""},
    {"code": "nulls", "amount": None, "big": None, "flag": None, "at": None, "label": None},
]


@services
def test_values_read_back_as_written_with_their_types(driver):
    with db.transaction() as session:
        session.execute(insert(checks), ROWS)  # executemany
    with db.transaction(readonly=True) as session:
        rows = [row._asdict() for row in session.execute(select(checks).order_by(checks.c.id))]
        raw = session.execute(text("SELECT SUM(amount), COUNT(*), MAX(big), CAST(1.5 AS DECIMAL(18,4)), "
                                   "MAX(at), MAX(label) FROM driver_checks")).one()
    assert [{k: v for k, v in row.items() if k != "id"} for row in rows] == ROWS
    for row, written in zip(rows, ROWS, strict=True):
        for name, value in written.items():
            assert type(row[name]) is type(value), (driver, name, row[name])
    assert rows[0]["amount"].as_tuple().exponent == -4
    assert tuple(raw) == (Decimal("99999999999999.9998"), 3, 2**63 - 1, Decimal("1.5000"),
                          datetime(2026, 12, 2, 4, 5, 6, 123456), "emoji 😀 and 𠀀, 中文, ünï")
    assert [type(v) for v in raw] == [Decimal, int, int, Decimal, datetime, str]


@services
def test_generated_keys_of_single_and_multi_row_inserts(driver):
    with db.transaction() as session:
        first = session.execute(insert(checks).values(code="one")).inserted_primary_key[0]
        many = session.execute(insert(checks).returning(checks.c.id, checks.c.code, sort_by_parameter_order=True),
                               [{"code": f"many-{i}"} for i in range(5)]).all()
        last = session.execute(text("SELECT LAST_INSERT_ID()")).scalar_one()
        plain = session.execute(insert(checks), [{"code": f"plain-{i}"} for i in range(3)])
    assert isinstance(first, int) and first > 0
    assert [code for _, code in many] == [f"many-{i}" for i in range(5)]
    assert [key for key, _ in many] == sorted(key for key, _ in many) and many[0][0] > first
    assert last >= first and plain.rowcount == 3


@services
def test_savepoints_and_locking_reads(driver):
    with db.transaction() as session:
        session.execute(insert(checks).values(code="kept"))
        nested = session.begin_nested()
        session.execute(insert(checks).values(code="undone"))
        nested.rollback()
        locked = session.execute(select(checks.c.code).where(checks.c.code == "kept").with_for_update()).scalar()
    assert locked == "kept"
    with db.transaction(readonly=True) as session:
        assert session.scalars(select(checks.c.code)).all() == ["kept"]


@services
def test_streamed_results_read_every_row(driver):
    with db.transaction() as session:
        session.execute(insert(checks), [{"code": f"s{i:05d}", "big": i} for i in range(2500)])
    with db.transaction(readonly=True) as session:
        streamed = session.execute(select(checks.c.big).order_by(checks.c.id).execution_options(yield_per=1000))
        assert [row.big for row in streamed] == list(range(2500))


@services
def test_a_duplicate_key_names_its_field(driver):
    with db.transaction() as session:
        session.execute(insert(checks).values(code="taken"))
    with pytest.raises(IntegrityError) as refused, db.transaction() as session:
        session.execute(insert(checks).values(code="taken"))
    assert db.mysql_error_code(refused.value) == 1062
    assert db.unique_key_field(refused.value) == "code"
    assert not db.is_retryable(refused.value)


@services
@pytest.mark.parametrize("value, code", [("abc", 1366), (Decimal("1e15"), 1264)], ids=["not-a-number", "too-large"])
def test_a_value_the_column_cannot_hold_is_a_data_error(driver, value, code):
    """PyMySQL raises 1366 as DataError, mysqlclient as OperationalError: the engine raises it as
    PyMySQL does, so the HTTP layer answers 422 out_of_range, not 503, under either driver."""
    with pytest.raises(DataError) as refused, db.transaction() as session:
        session.execute(text("INSERT INTO driver_checks (code, amount) VALUES ('x', :amount)"), {"amount": value})
    assert db.mysql_error_code(refused.value) == code
    assert "SQL parameters hidden" in str(refused.value)  # as the engine hides them from every error


@services
def test_a_lock_wait_timeout_is_retryable(driver):
    with db.transaction() as session:
        session.execute(insert(checks).values(code="held"))
    holder = Session(db.get_engine())
    try:
        holder.execute(select(checks).where(checks.c.code == "held").with_for_update())
        with pytest.raises(OperationalError) as waited, db.transaction() as session:
            session.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
            session.execute(select(checks).where(checks.c.code == "held").with_for_update())
    finally:
        holder.rollback()
        holder.close()
    assert db.mysql_error_code(waited.value) == 1205 and db.is_retryable(waited.value)


@services
def test_a_deadlock_is_retryable(driver):
    with db.transaction() as session:
        session.execute(insert(checks), [{"code": "a"}, {"code": "b"}])
    lock = select(checks.c.id).with_for_update()
    first, second = Session(db.get_engine()), Session(db.get_engine())
    errors: list[BaseException] = []
    both_hold_one = threading.Barrier(2, timeout=10)

    def take(session: Session, mine: str, theirs: str) -> None:
        try:
            session.execute(text("SET SESSION innodb_lock_wait_timeout = 10"))
            session.execute(lock.where(checks.c.code == mine))
            both_hold_one.wait()
            session.execute(lock.where(checks.c.code == theirs))
        except OperationalError as exc:
            errors.append(exc)
        finally:
            session.rollback()  # the victim's rollback lets the other one through
            session.close()

    threads = [threading.Thread(target=take, args=(first, "a", "b")),
               threading.Thread(target=take, args=(second, "b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(errors) == 1, errors
    assert db.mysql_error_code(errors[0]) == 1213 and db.is_retryable(errors[0])


@services
@pytest.mark.parametrize("ping_after_idle", [0.0, 3600.0], ids=["pinged-after-idleness", "retried"])
def test_a_killed_connection_is_replaced_or_the_unit_of_work_retried(driver, monkeypatch, ping_after_idle):
    monkeypatch.setattr(db, "PING_AFTER_IDLE", ping_after_idle)
    monkeypatch.setattr(uow.time, "sleep", lambda s: None)
    uow.run(lambda ctx: ctx.session.execute(text("SELECT 1")), CALLER)
    assert _kill_pooled_connections() >= 1
    calls = []

    def work(ctx):
        calls.append(1)
        return ctx.session.scalar(text("SELECT 1"))

    assert uow.run(work, CALLER) == 1
    assert len(calls) == (1 if ping_after_idle == 0.0 else 2)
    db.get_engine().dispose()


@services
def test_no_tls_and_the_session_settings_on_every_new_connection(driver):
    with db.get_engine().connect() as conn:
        assert conn.exec_driver_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").one()[1] == ""
        assert conn.exec_driver_sql("SELECT @@SESSION.innodb_lock_wait_timeout").scalar() == \
            config.get_settings().db_lock_wait_seconds
        assert conn.get_isolation_level() == "READ COMMITTED"
        assert conn.exec_driver_sql("SELECT @@character_set_client").scalar() == "utf8mb4"
