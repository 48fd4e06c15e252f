"""Rate limits per user and per client address, by class of function (sign-in, write, read).

Unit checks of the counting, then ``erp run`` in a process of its own with small limits, called
over HTTP: 429 ``rate_limited`` with Retry-After, per user and per address, and a client cannot
pick its own address with X-Forwarded-For.
"""
from __future__ import annotations

import time

import httpx
import pytest

from erp_common import config, ratelimit
from erp_common.cache import MemoryCache
from erp_common.errors import ConfigError, TooManyRequests
from erp_common.operations import REGISTRY
from tests.conftest import ADMIN_PASSWORD, ErpRun, auth


def test_the_limits_are_read_from_the_setting():
    limits = config.parse_rate_limits("sign-in=3, read=0,address-factor=4", 10)
    assert (limits.window, limits.per_user, limits.per_address("sign-in")) == (
        10, {"sign-in": 3, "write": 600, "read": 0}, 12)
    for bad in ("reads=5", "write=five", "write=-1", "write=١٢"):
        with pytest.raises(ConfigError, match="ERP_RATE_LIMITS"):
            config.parse_rate_limits(bad, 60)


def test_each_user_and_each_address_count_in_their_window(monkeypatch):
    from erp_common.domains import load

    load()
    cache = MemoryCache()
    settings = config.get_settings()
    limits = config.parse_rate_limits("read=2,write=1,address-factor=2", 60)
    monkeypatch.setattr("erp_common.ratelimit.get_settings", lambda: type(settings)(rate_limits=limits))
    monkeypatch.setattr("erp_common.ratelimit.get_cache", lambda: cache)
    read, write, job = REGISTRY["order-list"], REGISTRY["order-create"], REGISTRY["job-relay-events"]
    assert ratelimit.function_class(read) == "read" and ratelimit.function_class(write) == "write"
    assert ratelimit.function_class(REGISTRY["user-login"]) == "sign-in" and ratelimit.function_class(job) is None
    now = 960_000.0  # a window starts here (960,000 = 16,000 x 60)
    for _ in range(2):
        ratelimit.check(read, 1, "10.0.0.1", now=now)
    with pytest.raises(TooManyRequests) as refused:
        ratelimit.check(read, 1, "10.0.0.1", now=now + 30)
    assert refused.value.details == [{"field": "user", "message": "more than 2 read requests in 60 s"}]
    assert refused.value.headers["Retry-After"] == "30"  # the seconds left in the window
    ratelimit.check(read, 2, "10.0.0.1", now=now)  # another user: the address's 4th read
    with pytest.raises(TooManyRequests) as refused:
        ratelimit.check(read, 3, "10.0.0.1", now=now)  # a third user, but the address is at its 4
    assert refused.value.details[0]["field"] == "client"
    ratelimit.check(read, 1, "10.0.0.1", now=now + 60)  # the next window starts afresh
    ratelimit.check(write, 1, "10.0.0.2", now=now)  # writes count apart from reads
    for _ in range(100):
        ratelimit.check(job, None, "10.0.0.1", now=now)  # the connectors' functions are not limited


def test_the_client_address_is_the_one_the_nearest_proxy_added():
    assert ratelimit.client_address("6.6.6.6, 10.1.2.3", "127.0.0.1") == "10.1.2.3"
    assert ratelimit.client_address(None, "127.0.0.1") == "127.0.0.1"
    assert ratelimit.client_address("", None) == "unknown"


@pytest.fixture
def limited_gateway(database, request):
    env = {"ERP_RATE_LIMITS": "sign-in=2,read=3,write=3,address-factor=2", "ERP_CACHE_PREFIX": f"rate-{id(request)}:"}
    if request.param == "sign-in":  # sign-in throttling by address, across usernames: 5 x 2 = 10 attempts
        env.update({"ERP_RATE_LIMITS": "sign-in=0", "ERP_LOGIN_ADDRESS_FACTOR": "2"})
    gateway = ErpRun(env)
    try:
        yield gateway.url
    finally:
        gateway.stop()


@pytest.mark.parametrize("limited_gateway", ["rates"], indirect=True)
def test_over_http_429_with_retry_after_per_user_and_per_address(limited_gateway, make_user):
    http = httpx.Client(base_url=limited_gateway, timeout=30)
    window_left = 60 - time.time() % 60
    if window_left < 15:  # the counts below must fall in one window
        time.sleep(window_left + 0.5)
    a, b, c = (auth(make_user("cashier")[1]) for _ in range(3))
    assert [http.get("/function/order-list", headers=a).status_code for _ in range(4)] == [200, 200, 200, 429]
    refused = http.get("/function/order-list", headers=a)
    assert refused.json()["error"]["code"] == "rate_limited" and 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["details"][0]["field"] == "user"
    # user b has reads left, but the address is at 3 x 2 = 6: the 5 of a, then one of b
    assert http.get("/function/order-list", headers=b).status_code == 200
    spoofed = {**c, "X-Forwarded-For": "203.0.113.9"}  # the gateway appends the real peer: still counted
    refused = http.get("/function/order-list", headers=spoofed)
    assert refused.status_code == 429 and refused.json()["error"]["details"][0]["field"] == "client"
    # writes and sign-ins count apart from reads; sign-in by address: 2 x 2 = 4
    logins = [http.post("/function/user-login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code
              for _ in range(5)]
    assert logins == [200, 200, 200, 200, 429]
    assert http.post("/function/job-relay-events").status_code == 200  # the connectors' functions: not limited


@pytest.mark.parametrize("limited_gateway", ["sign-in"], indirect=True)
def test_sign_ins_are_throttled_by_address_across_usernames(limited_gateway):
    """One password tried on many accounts from one address: the address is locked after its allowance,
    counted before the password is checked, whatever the usernames."""
    http = httpx.Client(base_url=limited_gateway, timeout=30)
    statuses = [http.post("/function/user-login", json={"username": f"sprayed{i}", "password": "Summer2026!"})
                .status_code for i in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    locked = http.post("/function/user-login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert locked.status_code == 429 and locked.json()["error"]["details"][0]["field"] == "client"
    assert int(locked.headers["Retry-After"]) > 0
