"""Redis is a cache: when it goes down (even under load), signed-in calls and sign-ins go on, and it
comes back alone.

``erp run`` in a process of its own, on the suite's database and a redis-server of the test's own
(``tests/redis_server.py``), which the test kills and starts again on the same port.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ErpRun, auth


@pytest.fixture
def erp_on_own_redis(database, own_redis):
    """(gateway URL, the redis-server): ``erp run`` with REDIS_URL pointing at the test's own Redis."""
    gateway = ErpRun({"REDIS_URL": own_redis.url, "ERP_CACHE_PREFIX": "down:"})
    try:
        yield gateway.url, own_redis
    finally:
        output = gateway.stop()
    assert "Traceback" not in output, output


def test_redis_down_signed_in_calls_and_sign_ins_go_on_and_it_recovers_without_restart(erp_on_own_redis,
                                                                                       make_user):
    import redis

    url, own_redis = erp_on_own_redis
    http = httpx.Client(base_url=url, timeout=30)
    raw = redis.Redis.from_url(own_redis.url)

    def sign_in(username: str, password: str) -> httpx.Response:
        return http.post("/function/user-login", json={"username": username, "password": password})

    try:
        admin = sign_in("admin", ADMIN_PASSWORD).json()["access_token"]
        user_id, user_token = make_user("cashier")
        assert http.get("/function/user-me", headers=auth(admin)).status_code == 200
        assert http.get("/function/user-me", headers=auth(user_token)).status_code == 200
        assert raw.exists(f"down:auth:user:{user_id}")  # its state is cached in Redis

        assert http.get("/user/health").json()["status"] == "ok"
        own_redis.kill()
        health = http.get("/user/health")  # the functions serve, degraded, and say why
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "degraded" and health.json()["degraded"] == ["redis"]
        me = http.get("/function/user-me", headers=auth(admin))
        assert me.status_code == 200 and me.json()["username"] == "admin"  # the state from the database
        assert http.get("/function/user-list", headers=auth(admin)).status_code == 200
        assert sign_in("admin", ADMIN_PASSWORD).status_code == 200
        assert sign_in("admin", "wrong-password").status_code == 401
        # Revocation still holds: the user is disabled while Redis is down, their token refused at once.
        assert http.patch(f"/function/user-update/{user_id}", json={"is_active": False},
                          headers=auth(admin)).status_code == 200
        assert http.get("/function/user-me", headers=auth(user_token)).status_code == 401
        # Throttling goes on in the process: 5 checks, then 429.
        statuses = [sign_in("nobody-in-particular", "guess").status_code for _ in range(7)]
        assert statuses == [401] * 5 + [429] * 2

        own_redis.start()  # on the same port, empty; the gateway is not restarted
        time.sleep(1.2)  # RedisCache.RETRY_AFTER: the next call tries Redis again
        assert http.get("/function/user-me", headers=auth(admin)).status_code == 200
        admin_id = http.get("/function/user-me", headers=auth(admin)).json()["id"]
        assert raw.exists(f"down:auth:user:{admin_id}")  # cached in Redis again: recovered
        assert http.get("/function/user-me", headers=auth(user_token)).status_code == 401
        assert sign_in("nobody-in-particular", "guess").status_code == 429  # the outage's count held
        assert sign_in("admin", ADMIN_PASSWORD).status_code == 200
        assert http.get("/user/health").json()["status"] == "ok"
    finally:
        http.close()
        raw.close()


def _erp_run_start_error(redis_url: str) -> list[str]:
    """What ``erp run`` says when it refuses to start with ``redis_url`` (it must exit 2)."""
    process = subprocess.run(
        [sys.executable, "-m", "erp_local.cli", "run", "--port", "0", "--no-migrate"],
        env={**os.environ, "REDIS_URL": redis_url}, capture_output=True, text=True, timeout=60)
    assert process.returncode == 2, process.stdout + process.stderr
    assert not process.stdout and "Traceback" not in process.stderr
    return process.stderr.strip().splitlines()


def test_an_unreachable_redis_at_start_is_one_line_and_exit_2(own_redis):
    own_redis.kill()  # a port nothing listens on
    lines = _erp_run_start_error(own_redis.url)
    assert len(lines) == 1 and lines[0].startswith("erp: REDIS_URL: "), lines
    assert f"127.0.0.1:{own_redis.port}" in lines[0]


def test_a_wrong_redis_password_at_start_is_one_line_that_does_not_show_it():
    from tests.redis_server import REDIS_SERVER, OwnRedis

    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(password="the-right-password-91c3")
    try:
        lines = _erp_run_start_error(f"redis://:not-the-password-4f2a@127.0.0.1:{server.port}/0")
        assert len(lines) == 1 and lines[0].startswith("erp: REDIS_URL: "), lines
        assert "not-the-password" not in lines[0] and "the-right-password" not in lines[0]
    finally:
        server.kill()
        server.dir.cleanup()


def test_redis_killed_under_load_no_500_and_recovery_without_restart(erp_on_own_redis, make_user, make_sku,
                                                                     put_stock):
    """Four clients ordering, reading and signing in without a pause while Redis is killed and
    started again: no answer is a 5xx, every order answered 201 is in the database, and once Redis
    is back the users' states are cached in it again (no restart)."""
    import threading

    import redis

    url, own_redis = erp_on_own_redis
    sku_id, _ = make_sku("2.00")
    put_stock(sku_id, 100_000)
    tokens = [make_user("cashier")[1] for _ in range(3)]
    statuses: list[int] = []
    created: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                if index == 3:
                    response = http.post("/function/user-login", json={"username": "admin", "password": ADMIN_PASSWORD})
                elif index == 2:
                    response = http.get("/function/order-list", headers=auth(tokens[index]))
                else:
                    response = http.post("/function/order-create", headers=auth(tokens[index]),
                                         json={"lines": [{"sku": sku_id, "qty": 1}]})
                with lock:
                    statuses.append(response.status_code)
                    if response.status_code == 201:
                        created.append(response.json()["id"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        own_redis.kill()
        time.sleep(2.0)  # requests go on with Redis down
        own_redis.start()
        time.sleep(2.0)  # and after it is back (RETRY_AFTER: 1 s)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert statuses and all(status < 500 for status in statuses), sorted(set(statuses))
    assert statuses.count(201) == len(created) > 10
    from sqlalchemy import func, select

    from erp_common.db import transaction
    from erp_common.sales.models import SalesOrder

    with transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(SalesOrder).where(SalesOrder.id.in_(created))) == \
            len(created)
    with httpx.Client(base_url=url, timeout=30) as http:
        me = http.get("/function/user-me", headers=auth(tokens[0]))
        assert me.status_code == 200
    raw = redis.Redis.from_url(own_redis.url)
    try:
        assert raw.exists(f"down:auth:user:{me.json()['id']}")  # cached in Redis again: recovered
    finally:
        raw.close()
    print(f"\nRedis killed under load: {len(statuses)} requests, by status "
          f"{ {s: statuses.count(s) for s in sorted(set(statuses))} }, {len(created)} orders all committed")
