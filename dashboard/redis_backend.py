"""The results store's backend in Redis, so any number of web servers and Celery workers share one store.

A transaction is a Redis lock (``SET NX`` with an expiry): while one process holds it, every other
process waits, and a process that dies holding it frees it when the expiry passes. Within a thread
a transaction may nest (the outer one holds the lock), as diskcache's does.
"""
from __future__ import annotations

import logging
import pickle
import secrets
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import redis
from redis.lock import Lock

from dashboard.store import StoreFull, StoreUnavailable

log = logging.getLogger(__name__)

KEY_PREFIX = "amc:"
LOCK_NAME = "transaction-lock"
# A transaction reads and writes a few small records; ten seconds is far past any honest holder.
LOCK_EXPIRY = 10.0
LOCK_WAIT = 30.0
EVICTING_POLICIES = ("allkeys-", "volatile-")
SECRET_KEY = "secret-key"


class RedisBackend:
    def __init__(self, url: str, prefix: str = KEY_PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        self._lock = Lock(self.client, prefix + LOCK_NAME, timeout=LOCK_EXPIRY, blocking_timeout=LOCK_WAIT)
        self._depth = threading.local()

    def get(self, key: str) -> bytes | None:
        return self._call(self.client.get, self.prefix + key)

    def set(self, key: str, value: bytes, expire: float | None = None) -> None:
        self._call(self.client.set, self.prefix + key, value, px=None if expire is None else int(expire * 1000))

    def put_pickled(self, key: str, value: Any) -> None:
        # Redis takes a value whole: the pickle is held once in memory on its way.
        self.set(key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def get_pickled(self, key: str) -> Any | None:
        stored = self.get(key)
        return None if stored is None else pickle.loads(stored)

    def exists(self, key: str) -> bool:
        return bool(self._call(self.client.exists, self.prefix + key))

    def delete(self, key: str) -> None:
        self._call(self.client.delete, self.prefix + key)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        depth = getattr(self._depth, "value", 0)
        if depth == 0 and not self._call(self._lock.acquire):
            raise StoreUnavailable(f"the results store at {self.where} stayed locked for {LOCK_WAIT:.0f} s; try again")
        self._depth.value = depth + 1
        try:
            yield
        finally:
            self._depth.value = depth
            if depth == 0:
                self._release()

    def _release(self) -> None:
        try:
            self._lock.release()
        except redis.exceptions.LockError:
            # The expiry passed while we held it: another process may have interleaved a write.
            log.error("a results store transaction outlived its %s s lock at %s", LOCK_EXPIRY, self.where)

    def secret_key(self) -> str:
        """Made once in Redis and shared by every web server and worker that uses it."""
        self._call(self.client.set, self.prefix + SECRET_KEY, secrets.token_hex(32), nx=True)
        return self._call(self.client.get, self.prefix + SECRET_KEY).decode()

    def eviction_warning(self) -> str | None:
        """A sentence when Redis may delete the team's runs and names to make room, else None."""
        try:
            policy = self.client.config_get("maxmemory-policy").get("maxmemory-policy", "")
        except redis.exceptions.RedisError:
            return None  # managed servers often forbid CONFIG; nothing to say then
        if policy.startswith(EVICTING_POLICIES):
            return f"Redis at {self.where} evicts keys when full (maxmemory-policy {policy}); set it to noeviction"
        return None

    @property
    def where(self) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"

    def close(self) -> None:
        self.client.close()

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            raise StoreUnavailable(f"the results store at {self.where} cannot be reached: {error}") from None
        except redis.exceptions.OutOfMemoryError:
            raise StoreFull(f"the results store at {self.where} is full: nothing more can be saved") from None

