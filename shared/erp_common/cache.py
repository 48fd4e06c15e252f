"""Cache: Redis when REDIS_URL is set, in-process otherwise.

Used for hot reads, rate limits, login throttling and token revocation. It is never the source
of truth: every value can be rebuilt from the database, and losing the cache loses no data.
Values are strings (callers store JSON); every Redis key is prefixed with ``ERP_CACHE_PREFIX``
(``erp:``), so several installations or test runs can share one Redis.

Because it is only a cache, Redis failing does not fail a request: while it does not answer,
reads miss (callers read the database), writes are dropped, deletions are retried once it
answers again, and counters count in the process's memory (``RedisCache``).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Protocol
from urllib.parse import urlsplit

from .config import get_settings
from .errors import ConfigError

log = logging.getLogger(__name__)

PREFIX = "erp:"


class Cache(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: int) -> None: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str, ttl: int) -> int: ...
    def incr_many(self, keys: list[str], ttl: int) -> list[int]: ...
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

    def health(self) -> str:
        return "in-process"

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key, time.monotonic())
            return item[0] if item else None

    def _make_room(self, key: str) -> None:
        """Keep at most ``max_entries``: expired entries go first, then the oldest (under the lock)."""
        if key in self._data or len(self._data) < self._max:
            return
        now = time.monotonic()
        for k in [k for k, (_, exp) in self._data.items() if exp <= now]:
            del self._data[k]
        if len(self._data) >= self._max:
            self._data.pop(next(iter(self._data)))

    def set(self, key: str, value: str, ttl: int) -> None:
        with self._lock:
            self._make_room(key)
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
            if item is None:  # counters of made-up usernames must not grow the dict without bound
                self._make_room(key)
            self._data[key] = (str(value), expires)
            return value

    def incr_many(self, keys: list[str], ttl: int) -> list[int]:
        return [self.incr(key, ttl) for key in keys]

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

    def reset(self) -> None:
        """Forget every value and the tracking connection: Redis failed, so invalidations may have
        been lost on the way (a connection cut without the socket noticing keeps looking alive)."""
        with self._lock:
            self._drop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._drop()


class RedisCache:
    """The same interface on Redis (redis-py's client is thread-safe and pools connections).

    Keys under ``TRACKED`` (the users' states, read by every authenticated request) are read
    through a ``TrackedCopy``: no round trip to Redis while they do not change.

    Redis failing (down, unreachable, timing out, refusing) is not the request's failure, since
    every value here can be rebuilt: ``get`` misses, so callers read the database; ``set`` is
    dropped; ``delete`` keeps the keys and deletes them before this process next uses Redis (a
    value that outlived a change would be stale until its TTL: a user's revoked token honoured);
    ``incr``/``ttl`` count in this process's memory, and a count taken there is added to Redis's at
    the key's next ``incr`` once it is back, so the end of an outage does not reset a lock. After a
    failure Redis is left alone for ``RETRY_AFTER`` seconds, so requests do not each wait for a
    timeout; then one call tries it again, and that is how the process recovers, without a restart.
    """

    TRACKED = ("auth:", "promotions:")  # read on every request: kept in the process, true by Redis
    RETRY_AFTER = 1.0  # seconds between attempts while Redis fails
    MAX_PENDING = 10_000  # deletions kept for retry; beyond that the keys' TTLs bound the staleness

    def __init__(self, url: str, prefix: str = PREFIX, *, timeout: float = 2.0) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._prefix = prefix
        self._errors = redis.RedisError
        self._redis = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout,
            health_check_interval=30,
            protocol=3,  # the tracking connection needs RESP3 pushes (Redis 6 and later)
            # One immediate retry on a connection error: a pooled connection that a Redis restart
            # closed. No backoff and no retry on timeouts: a Redis that hangs must cost a request
            # one timeout, then RETRY_AFTER spares the next ones.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        )
        self._tracked = TrackedCopy(self._redis, tuple(prefix + p for p in self.TRACKED))
        self._local = MemoryCache()  # the counters while Redis fails
        self._state = threading.Lock()
        self._down = False
        self._retry_at = 0.0
        self._pending: set[str] = set()

    # --- Redis failing and coming back ------------------------------------------------------

    def _usable(self) -> bool:
        """Whether to try Redis now: always while it works; once a RETRY_AFTER while it fails."""
        if not self._down:
            return True
        with self._state:
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + self.RETRY_AFTER  # this call tries; concurrent ones keep skipping
            return True

    def _failed(self, exc: Exception) -> None:
        with self._state:
            first = not self._down
            self._down = True
            self._retry_at = time.monotonic() + self.RETRY_AFTER
        if first:
            log.warning("Redis failed (%s: %s): reading from the database and counting sign-ins in this "
                        "process until it answers", exc.__class__.__name__, exc)
        self._tracked.reset()

    def _call(self, action, fallback):
        """``action()`` on Redis, or ``fallback()`` while Redis fails."""
        if not self._usable():
            return fallback()
        try:
            if self._pending:
                self._delete_pending()
            result = action()
        except self._errors as exc:
            self._failed(exc)
            return fallback()
        if self._down:
            with self._state:
                self._down = False
            log.warning("Redis answers again")
        return result

    def _delete_pending(self) -> None:
        with self._state:
            keys = list(self._pending)
        for start in range(0, len(keys), 500):
            self._redis.delete(*keys[start:start + 500])
        with self._state:
            self._pending.difference_update(keys)

    def _keep_pending(self, keys: list[str]) -> None:
        with self._state:
            room = max(0, self.MAX_PENDING - len(self._pending))
            self._pending.update(keys[:room])
        if len(keys) > room:
            log.warning("Redis failed: %d cache deletions dropped (their keys expire by themselves)", len(keys) - room)

    # --- the interface ----------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        key = self._prefix + key
        if self._tracked.covers(key):
            return self._call(lambda: self._tracked.get(key), lambda: None)
        return self._call(lambda: self._redis.get(key), lambda: None)

    def set(self, key: str, value: str, ttl: int) -> None:
        self._call(lambda: self._redis.set(self._prefix + key, value, ex=ttl), lambda: None)

    def delete(self, *keys: str) -> None:
        if not keys:
            return
        self._local.delete(*keys)
        full = [self._prefix + k for k in keys]
        self._call(lambda: self._redis.delete(*full), lambda: self._keep_pending(full))

    def incr(self, key: str, ttl: int) -> int:
        """Add one, atomically; the expiry is set when the counter is created and not extended."""
        def on_redis() -> int:
            carried = int(self._local.get(key) or 0)  # counted here while Redis failed: still counts
            pipe = self._redis.pipeline()  # MULTI/EXEC: both or neither, and no other client between
            pipe.set(self._prefix + key, 0, ex=ttl, nx=True)  # (works on every Redis, unlike EXPIRE NX)
            pipe.incrby(self._prefix + key, 1 + carried)
            value = int(pipe.execute()[1])
            if carried:
                self._local.delete(key)
            return value

        return self._call(on_redis, lambda: self._local.incr(key, ttl))

    def incr_many(self, keys: list[str], ttl: int) -> list[int]:
        """Add one to each counter in one round trip (counters that live one window: rate limits).
        Each key's expiry is set to ``ttl`` at every count; the window is in its name."""
        def on_redis() -> list[int]:
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.incr(self._prefix + key)
                pipe.expire(self._prefix + key, ttl)
            return [int(v) for v in pipe.execute()[::2]]

        return self._call(on_redis, lambda: self._local.incr_many(keys, ttl))

    def ttl(self, key: str) -> int:
        def on_redis() -> int:
            return max(0, int(self._redis.ttl(self._prefix + key)), self._local.ttl(key))

        return self._call(on_redis, lambda: self._local.ttl(key))

    def ping(self) -> None:
        """Raise if Redis does not answer (start-up checks; never degraded)."""
        self._redis.ping()

    def health(self) -> str:
        """``ok``, or ``down`` while Redis fails (the functions go on: see the class notes)."""
        return self._call(lambda: "ok" if self._redis.ping() else "down", lambda: "down")

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


def check_reachable(redis_url: str) -> None:
    """Refuse to start (ConfigError, one line) when ``redis_url`` is set and Redis does not answer.

    At start-up an unreachable Redis is far more often a wrong URL or password than an outage,
    and serving on without it would hide the mistake until the first outage is investigated.
    """
    if not redis_url:
        return
    import redis

    parts = urlsplit(redis_url)
    where = parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}{parts.path}"
    client = None
    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # the password is in the URL: only the location is shown
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        raise ConfigError(f"REDIS_URL: cannot use Redis at {where} ({reason}): check the URL and the "
                          "password, or unset REDIS_URL for the in-process cache") from None
    finally:
        if client is not None:
            client.close()


def reset_cache() -> None:
    global _cache
    with _lock:
        if isinstance(_cache, RedisCache):
            _cache.close()
        _cache = None
