"""One default everywhere: the same file with untouched defaults is the same run in `amc cluster` and the dashboard."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dash_client import dash_call
from test_panels import components

from dashboard import ids
from dashboard.app import FORM_PARTS, create_app
from dashboard.config import Config

AMC = Path(sys.executable).parent / "amc"


def dashboard_run_request(sample_csv: Path, tmp_path: Path) -> dict:
    """Run clicked on a fresh dashboard whose start-up file is the sample, every form field as the page has it."""
    app = create_app(Config.from_env({"AMC_DATA": str(sample_csv)}, cache_dir=tmp_path / "cache"), panels=[])
    wanted = {ids.DATASET_PICKER, *FORM_PARTS}
    form = {f"{c.id}.value": c.value for c in components(app.layout()) if getattr(c, "id", None) in wanted}
    assert set(form) == {f"{part}.value" for part in wanted}
    form[f"{ids.RUN_BUTTON}.n_clicks"] = 1
    answer = dash_call(app, f"{ids.RUN_REQUEST}.data", f"{ids.RUN_BUTTON}.n_clicks", form)
    return answer[ids.RUN_REQUEST]["data"]


def test_cli_and_dashboard_defaults_make_the_same_run(sample_csv, tmp_path):
    out = tmp_path / "out"
    finished = subprocess.run([str(AMC), "cluster", str(sample_csv), "--out", str(out)],
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))

    request = dashboard_run_request(sample_csv, tmp_path)

    assert request["run_id"] == summary["run_id"]
    assert request["params"] == summary["params"]
    # The transform both state: log1p of the heavy-tailed features, not a silent difference.
    assert summary["transform"]["log_features"] == ["duration_ms", "followers"]
    assert "log1p" in (out / "report.html").read_text(encoding="utf-8")
