"""The Redis backend against a real redis-server: exclusion across processes, nesting, a dead holder, a full server."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest
from redis_server import free_port, redis_server

from dashboard import redis_backend
from dashboard.health import probe_store
from dashboard.redis_backend import RedisBackend, StoreFull, StoreUnavailable

pytestmark = pytest.mark.redis


@pytest.fixture
def backend(redis_url):
    backend = RedisBackend(redis_url)
    backend.client.flushdb()
    yield backend
    backend.close()


def test_values_round_trip_under_a_prefix(backend):
    backend.set("run:1", b"\x00payload")

    assert backend.get("run:1") == b"\x00payload" and backend.exists("run:1")
    assert backend.client.get("amc:run:1") == b"\x00payload"
    assert backend.get("missing") is None and not backend.exists("missing")
    backend.delete("run:1")
    assert not backend.exists("run:1")


def test_a_value_set_to_expire_goes(backend):
    backend.set("ledger:a", b"x", expire=0.2)
    assert backend.exists("ledger:a")
    time.sleep(0.4)
    assert not backend.exists("ledger:a")


def test_transactions_nest_within_a_thread(backend):
    with backend.transaction():
        with backend.transaction():
            backend.set("k", b"inner")
        assert backend.client.exists("amc:" + redis_backend.LOCK_NAME)
    assert not backend.client.exists("amc:" + redis_backend.LOCK_NAME)


def _add_one_many_times(url, times, start):
    backend = RedisBackend(url)
    start.wait()
    for _ in range(times):
        with backend.transaction():
            count = int(backend.get("counter") or b"0")
            backend.set("counter", str(count + 1).encode())


def test_transactions_exclude_other_processes(backend, redis_url):
    context = multiprocessing.get_context("fork")
    start = context.Barrier(3)
    workers = [context.Process(target=_add_one_many_times, args=(redis_url, 200, start)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert backend.get("counter") == b"600"


def _hold_the_lock_forever(url, held):
    backend = RedisBackend(url)
    with backend.transaction():
        held.set()
        time.sleep(600)


def test_a_process_killed_inside_a_transaction_frees_the_lock(backend, redis_url, monkeypatch):
    monkeypatch.setattr(redis_backend, "LOCK_EXPIRY", 1.0)
    context = multiprocessing.get_context("fork")
    held = context.Event()
    holder = context.Process(target=_hold_the_lock_forever, args=(redis_url, held))
    holder.start()
    assert held.wait(timeout=10)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()

    started = time.monotonic()
    with backend.transaction():
        backend.set("after", b"yes")
    assert time.monotonic() - started < 3


def test_a_full_server_refuses_writes_with_a_message_and_keeps_what_it_had(tmp_path):
    with redis_server(tmp_path / "small", "--maxmemory", "2mb", "--maxmemory-policy", "noeviction") as url:
        backend = RedisBackend(url)
        backend.set("names:run:3", b"the team's names")
        assert backend.eviction_warning() is None
        with pytest.raises(StoreFull, match="is full"):
            for i in range(100):
                backend.set(f"run:{i}", os.urandom(256 * 1024))
        assert backend.get("names:run:3") == b"the team's names"


def test_an_evicting_server_is_named_and_an_unreachable_one_is_a_message(backend):
    backend.client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        assert "noeviction" in backend.eviction_warning()
        assert "noeviction" in probe_store(backend)["warning"]
    finally:
        backend.client.config_set("maxmemory-policy", "noeviction")

    nobody = RedisBackend(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        nobody.get("anything")
