"""Cache: Redis when REDIS_URL is set, in-process otherwise.

Used for hot reads, rate limits, login throttling and token revocation. It is never the source
of truth: every value can be rebuilt from the database, and losing the cache loses no data.
Values are strings (callers store JSON); every Redis key is prefixed with ``ERP_CACHE_PREFIX``
(``erp:``), so several installations or test runs can share one Redis.
"""
from __future__ import annotations

import threading
import time
from typing import Protocol

from .config import get_settings

PREFIX = "erp:"


class Cache(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: int) -> None: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str, ttl: int) -> int: ...
    def ttl(self, key: str) -> int: ...
    def ping(self) -> None: ...


class MemoryCache:
    """A thread-safe dict with expiry, for one process."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def _live(self, key: str, now: float) -> tuple[str, float] | None:
        item = self._data.get(key)
        if item is not None and item[1] <= now:
            del self._data[key]
            return None
        return item

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key, time.monotonic())
            return item[0] if item else None

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            if len(self._data) >= self._max:
                now = time.monotonic()
                for k in [k for k, (_, exp) in self._data.items() if exp <= now]:
                    del self._data[k]
                if len(self._data) >= self._max:
                    self._data.pop(next(iter(self._data)))
            self._data[key] = (value, time.monotonic() + ttl)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def incr(self, key: str, ttl: int) -> int:
        """Add one; the expiry is set when the counter is created and not extended."""
        with self._lock:
            now = time.monotonic()
            item = self._live(key, now)
            value = int(item[0]) + 1 if item else 1
            expires = item[1] if item else now + ttl
            self._data[key] = (str(value), expires)
            return value

    def ttl(self, key: str) -> int:
        with self._lock:
            item = self._live(key, time.monotonic())
            return max(0, int(item[1] - time.monotonic() + 0.999)) if item else 0

    def ping(self) -> None:
        return None

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisCache:
    """The same interface on Redis (redis-py's client is thread-safe and pools connections)."""

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        import redis

        self._prefix = prefix
        self._redis = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )

    def get(self, key: str) -> str | None:
        return self._redis.get(self._prefix + key)

    def set(self, key: str, value: str, ttl: int) -> None:
        self._redis.set(self._prefix + key, value, ex=ttl)

    def delete(self, *keys: str) -> None:
        if keys:
            self._redis.delete(*(self._prefix + k for k in keys))

    def incr(self, key: str, ttl: int) -> int:
        pipe = self._redis.pipeline()
        pipe.incr(self._prefix + key)
        pipe.expire(self._prefix + key, ttl, nx=True)
        value, _ = pipe.execute()
        return int(value)

    def ttl(self, key: str) -> int:
        return max(0, int(self._redis.ttl(self._prefix + key)))

    def ping(self) -> None:
        self._redis.ping()


_lock = threading.Lock()
_cache: Cache | None = None


def get_cache() -> Cache:
    global _cache
    if _cache is None:
        with _lock:
            if _cache is None:
                settings = get_settings()
                _cache = RedisCache(settings.redis_url, settings.cache_prefix) if settings.redis_url else MemoryCache()
    return _cache


def reset_cache() -> None:
    global _cache
    with _lock:
        _cache = None
