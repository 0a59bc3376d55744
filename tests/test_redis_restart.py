"""A Redis that restarts without its data: the web processes notice, offer their files again, serve nothing stale."""
from __future__ import annotations

import pytest
import redis
from synthetic_run import synthetic_frame, synthetic_run
from test_panels import components

from analysis.dataset import load_csv
from dashboard import ids
from dashboard.app import create_app
from dashboard.config import Config
from dashboard.store import ResultsStore

pytestmark = pytest.mark.redis


def picker_options(app) -> list[str]:
    (picker,) = [c for c in components(app.layout()) if getattr(c, "id", None) == ids.DATASET_PICKER]
    return [option["value"] for option in picker.options]


def test_after_redis_lost_its_data_a_new_page_offers_the_files_and_no_stale_run(redis_url, tmp_path, demo_csv):
    redis.Redis.from_url(redis_url).flushdb()
    config = Config.from_env({}, cache_dir=tmp_path / "cache", redis_url=redis_url)
    app = create_app(config, panels=[])
    demo_id = load_csv(demo_csv).fingerprint
    store = ResultsStore.from_config(config)
    run = synthetic_run(synthetic_frame(rows=90), ks=(2, 3))
    store.put_run(run)
    assert store.get_run(run.run_id) is not None and picker_options(app) == [demo_id]

    redis.Redis.from_url(redis_url).flushdb()  # what a restart without persistence leaves

    assert picker_options(app) == [demo_id]  # put back at once, no server restart needed
    assert store.get_run(run.run_id) is None  # this process had it unpickled; the store no longer has it
