"""Server settings from environment variables."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard.config import Config, ConfigError


def test_defaults_without_any_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({})

    assert config.cache_dir == tmp_path / ".amc-cache"
    assert (config.max_upload_mb, config.job_time_limit) == (50, 600)
    assert config.max_upload_bytes == 50 * 1024 * 1024
    assert config.max_concurrent_runs == (os.cpu_count() or 1)
    assert config.data_path is config.redis_url is config.secret_key is None
    assert config.jobs_dir == config.cache_dir / "jobs" and config.store_dir == config.cache_dir / "store"


def test_every_variable_is_read(tmp_path):
    config = Config.from_env({
        "AMC_CACHE_DIR": str(tmp_path / "c"), "AMC_MAX_UPLOAD_MB": "5", "AMC_JOB_TIME_LIMIT": "30",
        "AMC_DATA": "songs.csv", "AMC_REDIS_URL": "redis://localhost:6379/0", "AMC_MAX_CONCURRENT_RUNS": "3",
        "AMC_SECRET_KEY": "s3cret",
    })

    assert config.cache_dir == tmp_path / "c"
    assert (config.max_upload_mb, config.job_time_limit, config.max_concurrent_runs) == (5, 30, 3)
    assert config.data_path == Path("songs.csv").resolve()
    assert (config.redis_url, config.secret_key) == ("redis://localhost:6379/0", "s3cret")


def test_overrides_win_over_the_environment(tmp_path):
    config = Config.from_env({"AMC_MAX_UPLOAD_MB": "5"}, max_upload_mb=7, cache_dir=tmp_path)
    assert config.max_upload_mb == 7 and config.cache_dir == tmp_path


@pytest.mark.parametrize(("value", "problem"), [("lots", "not a whole number"), ("0", "at least 1"), ("-3", "at least 1")])
def test_a_bad_number_names_the_variable(value, problem):
    with pytest.raises(ConfigError, match=f"AMC_JOB_TIME_LIMIT='{value}' .*{problem}"):
        Config.from_env({"AMC_JOB_TIME_LIMIT": value})


def test_a_config_built_directly_runs_as_many_jobs_as_from_the_environment(tmp_path):
    assert Config(cache_dir=tmp_path).max_concurrent_runs == Config.from_env({}, cache_dir=tmp_path).max_concurrent_runs
