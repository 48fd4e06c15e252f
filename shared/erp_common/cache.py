"""Cache: Redis when REDIS_URL is set, in-process otherwise.

Used for hot reads, rate limits, login throttling and token revocation. It is never the source
of truth: every value can be rebuilt from the database, and losing the cache loses no data.
Values are strings (callers store JSON); every Redis key is prefixed with ``ERP_CACHE_PREFIX``
(``erp:``), so several installations or test runs can share one Redis.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from .config import get_settings

log = logging.getLogger(__name__)

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


class TrackedCopy:
    """This process's copy of Redis keys under some prefixes, kept true by Redis itself.

    One connection of its own asks Redis for ``CLIENT TRACKING ON BCAST PREFIX ...`` (RESP3): from
    then on Redis pushes on it the name of every key under those prefixes that anyone sets,
    deletes, or that expires. ``get`` first drains what has been pushed so far (a non-blocking poll
    of that socket), then answers from memory or, on a miss, from Redis, and keeps the value only if
    no invalidation arrived while it was being read. So a value changed in Redis is not served
    from here once Redis has told this process, which it does as it performs the change, before
    it answers the writer. If the tracking connection fails, the copy is dropped and every read
    goes to Redis until it is back. (redis-py's own client-side cache does this too, but needs
    Redis 7.4; this works from Redis 6.)
    """

    # Seconds a value is kept even if nothing changes: not the mechanism, a bound on the damage
    # should the tracking connection be cut without the socket noticing (no FIN reaches it).
    MAX_AGE = 10.0
    MAX_ENTRIES = 10_000
    RETRY_AFTER = 5.0  # seconds between attempts to set tracking up again after a failure

    def __init__(self, client, prefixes: tuple[str, ...]) -> None:
        self._client = client
        self._prefixes = prefixes
        self._lock = threading.Lock()
        self._conn = None
        self._retry_at = 0.0
        self._values: dict[str, tuple[str | None, float]] = {}
        self._generation = 0  # counts invalidations: a read keeps its value only if it did not move
        self._drainer: threading.Thread | None = None
        self._closed = False

    def covers(self, key: str) -> bool:
        return key.startswith(self._prefixes)

    def get(self, key: str) -> str | None:
        with self._lock:
            tracking = self._drain()
            if tracking:
                item = self._values.get(key)
                if item is not None and item[1] > time.monotonic():
                    return item[0]
            generation = self._generation
        value = self._client.get(key)
        if tracking:
            with self._lock:
                if self._drain() and self._generation == generation:
                    if len(self._values) >= self.MAX_ENTRIES:
                        self._values.pop(next(iter(self._values)))
                    self._values[key] = (value, time.monotonic() + self.MAX_AGE)
        return value

    # --- the tracking connection (always under self._lock) ---------------------------------

    def _drain(self) -> bool:
        """Apply every invalidation Redis has sent; False if there is no working tracking connection."""
        conn = self._conn or self._connect()
        if conn is None:
            return False
        try:
            while conn.can_read(0):
                conn.read_response(push_request=True)
        except Exception as exc:
            log.warning("client-side cache: the tracking connection failed (%s); reading from Redis", exc)
            self._drop()
            return False
        return True

    def _connect(self):
        if self._closed or time.monotonic() < self._retry_at:
            return None
        conn = None
        try:
            conn = self._client.connection_pool.make_connection()
            conn.connect()
            # redis-py hands pushed invalidations to this handler (its own client-side cache uses it).
            conn._parser.set_invalidation_push_handler(self._invalidate)
            conn.send_command("CLIENT", "TRACKING", "ON", "BCAST",
                              *(arg for prefix in self._prefixes for arg in ("PREFIX", prefix)))
            if conn.read_response() not in ("OK", b"OK"):
                raise RuntimeError("CLIENT TRACKING was refused")
        except Exception as exc:
            log.warning("client-side cache unavailable (%s): reading from Redis", exc)
            if conn is not None:
                conn.disconnect()
            self._retry_at = time.monotonic() + self.RETRY_AFTER
            return None
        self._conn = conn
        if self._drainer is None:  # drains the pushes of a process that is not being asked anything
            self._drainer = threading.Thread(target=self._drain_idle, name="cache-tracking", daemon=True)
            self._drainer.start()
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.disconnect()
            except Exception:
                pass
        self._conn = None
        self._values.clear()
        self._generation += 1
        self._retry_at = time.monotonic() + self.RETRY_AFTER

    def _invalidate(self, message) -> None:
        keys = message[1] if len(message) > 1 else None
        self._generation += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._values.clear()
            return
        for key in keys:
            self._values.pop(key.decode() if isinstance(key, bytes) else key, None)

    def _drain_idle(self) -> None:
        while not self._closed:
            time.sleep(1.0)
            with self._lock:
                if self._conn is not None:
                    self._drain()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()


class RedisCache:
    """The same interface on Redis (redis-py's client is thread-safe and pools connections).

    Keys under ``TRACKED`` (the users' states, read by every authenticated request) are read
    through a ``TrackedCopy``: no round trip to Redis while they do not change.
    """

    TRACKED = ("auth:",)

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        import redis

        self._prefix = prefix
        self._redis = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30,
            protocol=3,  # the tracking connection needs RESP3 pushes (Redis 6 and later)
        )
        self._tracked = TrackedCopy(self._redis, tuple(prefix + p for p in self.TRACKED))

    def get(self, key: str) -> str | None:
        key = self._prefix + key
        if self._tracked.covers(key):
            return self._tracked.get(key)
        return self._redis.get(key)

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

    def close(self) -> None:
        self._tracked.close()


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
        if isinstance(_cache, RedisCache):
            _cache.close()
        _cache = None
