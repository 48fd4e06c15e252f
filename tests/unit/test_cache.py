"""The cache: the same behaviour in-process and on Redis."""
from __future__ import annotations

import os
import time
import uuid

import pytest

from erp_common.cache import MemoryCache, RedisCache

BACKENDS = ["memory"] + (["redis"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture(params=BACKENDS)
def cache(request):
    if request.param == "memory":
        return MemoryCache()
    return RedisCache(os.environ["REDIS_URL"], os.environ["ERP_CACHE_PREFIX"])


def test_set_get_delete(cache):
    key = uuid.uuid4().hex
    assert cache.get(key) is None
    cache.set(key, "值", ttl=30)
    assert cache.get(key) == "值"
    cache.delete(key)
    assert cache.get(key) is None


def test_counter_keeps_its_first_expiry(cache):
    key = uuid.uuid4().hex
    assert [cache.incr(key, ttl=30) for _ in range(3)] == [1, 2, 3]
    assert 0 < cache.ttl(key) <= 30


def test_values_expire(cache):
    key = uuid.uuid4().hex
    cache.set(key, "x", ttl=1)
    time.sleep(1.2)
    assert cache.get(key) is None and cache.ttl(key) == 0


def test_memory_cache_stays_bounded():
    cache = MemoryCache(max_entries=10)
    for i in range(50):
        cache.set(f"k{i}", "v", ttl=60)
    assert cache.get("k49") == "v"
    assert sum(cache.get(f"k{i}") is not None for i in range(50)) <= 10


# --- the tracked copy of the users' states (Redis only) ----------------------------------

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (ERP_TEST_BACKEND=services)")


@pytest.fixture
def two_processes():
    """Two caches on one Redis, as two processes (replicas) have; closed afterwards."""
    caches = [RedisCache(os.environ["REDIS_URL"], os.environ["ERP_CACHE_PREFIX"]) for _ in range(2)]
    yield caches
    for cache in caches:
        cache.close()


def _served_locally(cache: RedisCache, key: str) -> bool:
    full = os.environ["ERP_CACHE_PREFIX"] + key
    return full in cache._tracked._values


@needs_redis
def test_a_tracked_read_is_kept_in_process_and_a_change_elsewhere_reaches_it_at_once(two_processes):
    reader, writer = two_processes
    key = f"auth:user:{uuid.uuid4().hex}"
    writer.set(key, "v1", ttl=60)
    assert reader.get(key) == "v1"
    assert _served_locally(reader, key)
    assert reader.get(key) == "v1"  # from memory
    writer.set(key, "v2", ttl=60)  # another process changes it: the very next read sees it
    assert reader.get(key) == "v2"
    writer.delete(key)
    assert reader.get(key) is None
    reader.get(key)
    writer.set(key, "v3", ttl=60)  # a cached miss is invalidated too
    assert reader.get(key) == "v3"


@needs_redis
def test_a_tracked_value_that_expires_in_redis_is_not_served(two_processes):
    reader, writer = two_processes
    key = f"auth:user:{uuid.uuid4().hex}"
    writer.set(key, "v", ttl=1)
    assert reader.get(key) == "v"
    time.sleep(1.5)
    assert reader.get(key) is None


@needs_redis
def test_keys_outside_the_tracked_prefixes_are_always_read_from_redis(two_processes):
    reader, writer = two_processes
    key = f"sku:{uuid.uuid4().hex}"
    writer.set(key, "v", ttl=60)
    assert reader.get(key) == "v"
    assert not _served_locally(reader, key)


@needs_redis
def test_a_lost_tracking_connection_drops_the_copy_and_reads_go_to_redis(two_processes):
    import redis

    reader, writer = two_processes
    key = f"auth:user:{uuid.uuid4().hex}"
    writer.set(key, "v1", ttl=60)
    assert reader.get(key) == "v1" and _served_locally(reader, key)
    # Cut the tracking connection as a Redis restart would: its invalidations can no longer arrive.
    port = reader._tracked._conn._sock.getsockname()[1]
    redis.Redis.from_url(os.environ["REDIS_URL"]).client_kill(f"127.0.0.1:{port}")
    writer.set(key, "v2", ttl=60)
    assert reader.get(key) == "v2"  # the cut is noticed: the copy is dropped and Redis answers
    assert not _served_locally(reader, key)


# --- Redis failing: a cache, not a dependency (each test on a redis-server of its own) ----

def _failing_cache(own_redis) -> RedisCache:
    cache = RedisCache(own_redis.url, "t:", timeout=0.3)
    cache.RETRY_AFTER = 0.2
    return cache


def test_while_redis_is_down_reads_miss_writes_drop_and_counters_count_in_process(own_redis):
    cache = _failing_cache(own_redis)
    try:
        cache.set("k", "v", ttl=60)
        assert cache.get("k") == "v" and cache.incr("n", ttl=60) == 1
        own_redis.kill()
        assert cache.get("k") is None and cache.get("auth:user:1") is None  # callers read the database
        cache.set("k", "w", ttl=60)  # dropped
        cache.delete("k")  # kept for later
        assert [cache.incr("n", ttl=60) for _ in range(3)] == [1, 2, 3]  # in this process
        assert 0 < cache.ttl("n") <= 60
        own_redis.start()  # empty, on the same port
        time.sleep(cache.RETRY_AFTER)
        cache.set("k", "x", ttl=60)
        assert cache.get("k") == "x"  # back without a restart
        assert cache.incr("n", ttl=60) == 4  # the outage's 3 attempts were carried over, not forgotten
        assert cache.incr("n", ttl=60) == 5 and 0 < cache.ttl("n") <= 60
    finally:
        cache.close()


def test_a_deletion_redis_missed_is_made_before_this_process_reads_again(own_redis):
    import redis

    cache = _failing_cache(own_redis)
    raw = redis.Redis.from_url(own_redis.url)
    try:
        cache.set("auth:user:7", "active", ttl=60)
        assert cache.get("auth:user:7") == "active"
        raw.save()  # a snapshot that still holds the state
        own_redis.kill()
        cache.delete("auth:user:7")  # the user is disabled while Redis is down: the deletion fails
        own_redis.start()  # from the snapshot
        assert raw.get("t:auth:user:7") == b"active"  # a revoked user's state, back in Redis
        time.sleep(cache.RETRY_AFTER)
        assert cache.get("auth:user:7") is None  # the deletion went first, then the read
        assert raw.get("t:auth:user:7") is None
    finally:
        cache.close()
        raw.close()


def test_a_hung_redis_costs_one_timeout_per_retry_interval_not_one_per_call(own_redis):
    cache = _failing_cache(own_redis)
    try:
        cache.set("k", "v", ttl=60)
        own_redis.freeze()
        started = time.monotonic()
        assert all(cache.get("k") is None for _ in range(200))
        assert time.monotonic() - started < 1.0  # one 0.3 s timeout, then no call waits for Redis
        own_redis.thaw()
    finally:
        cache.close()


def test_a_failure_drops_the_tracked_copy_whose_invalidations_may_have_been_lost(own_redis):
    cache = _failing_cache(own_redis)
    try:
        cache.set("auth:user:1", "v1", ttl=60)
        assert cache.get("auth:user:1") == "v1" and "t:auth:user:1" in cache._tracked._values
        own_redis.freeze()
        cache.get("sku:1")  # any call that finds Redis failing
        own_redis.thaw()
        assert "t:auth:user:1" not in cache._tracked._values
    finally:
        cache.close()


def test_memory_counters_stay_bounded():
    cache = MemoryCache(max_entries=10)
    for i in range(50):
        cache.incr(f"login:failures:made-up-{i}", ttl=60)
    assert len(cache._data) <= 10
