"""The results store's contract, run again with Redis behind it: the diskcache tests, one Redis database each.

``store_dir`` (a directory in test_store) becomes a Redis URL here; ``ResultsStore.open`` takes
either, so every test there, including the two-process races, runs against a real redis-server.
"""
from __future__ import annotations

import pytest
import redis
from test_store import *  # noqa: F403 - every contract test, collected here against Redis

from dashboard.redis_backend import RedisBackend
from dashboard.store import ResultsStore

# A file in the store directory: the diskcache store's way; Redis keeps its key (tested below).
del test_the_secret_key_is_made_once_and_readable_by_its_owner_only  # noqa: F821

pytestmark = pytest.mark.redis


@pytest.fixture
def store_dir(redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


def test_the_url_opens_a_redis_store(store_dir):
    assert isinstance(ResultsStore.open(store_dir).backend, RedisBackend)


def test_every_process_gets_the_same_secret_key(store_dir):
    first = ResultsStore.open(store_dir).secret_key()
    assert len(first) == 64 and ResultsStore.open(store_dir).secret_key() == first
