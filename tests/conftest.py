"""Fixtures shared by every test module."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from redis_server import redis_server

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CSV = ROOT.parent / "shared" / "data" / "single_genre_artists_sample.csv"
DEMO_CSV = ROOT / "data" / "demo_songs.csv"


@pytest.fixture(scope="session")
def sample_csv() -> Path:
    """The real 651-row sample. Under CI its absence is a failure, never a skip."""
    if not SAMPLE_CSV.exists():
        message = f"real sample missing: {SAMPLE_CSV}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SAMPLE_CSV


@pytest.fixture(scope="session")
def demo_csv() -> Path:
    assert DEMO_CSV.exists(), f"bundled demo data missing: {DEMO_CSV} (run data/generate_demo.py)"
    return DEMO_CSV


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, for one test module; stopped after it."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
