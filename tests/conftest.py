"""Fixtures shared by every test module."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

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
