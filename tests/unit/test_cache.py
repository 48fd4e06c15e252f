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
