"""The report page's plots offer local actions only: nothing sends a chart, or the songs in it, to a cloud."""
from __future__ import annotations

import base64
import json
import re

import pytest
from browser import chromium
from selenium.webdriver.common.by import By

from analysis import report
from analysis.report import render_report, write_report
from synthetic_run import pipeline_run  # noqa: F401 (fixture)

CLOUD_WORDS = re.compile(r"share|cloud|chart studio|publish|plot\.ly", re.IGNORECASE)


def plot_calls(page: str) -> list[tuple[dict, dict]]:
    """(layout, config) of every ``Plotly.newPlot`` call, read as the JSON the page passes it."""
    return [(layout, config) for _, layout, config in plots(page)]


def plots(page: str) -> list[tuple[list, dict, dict]]:
    """(data, layout, config) of every ``Plotly.newPlot`` call."""
    calls = []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"figure-\d+",', page):
        data, at = _next_json(page, call.end())
        layout, at = _next_json(page, at)
        config, _ = _next_json(page, at)
        calls.append((data, layout, config))
    return calls


def points(trace: dict) -> int:
    x = trace["x"]
    return len(base64.b64decode(x["bdata"])) // 4 if isinstance(x, dict) else len(x)


def _next_json(text: str, at: int) -> tuple[object, int]:
    """The JSON value after ``at``, past any spaces and one comma, and where it ends."""
    at = len(text) - len(text[at:].lstrip().removeprefix(",").lstrip())
    return json.JSONDecoder().raw_decode(text, at)


@pytest.fixture(scope="module")
def page(pipeline_run) -> str:
    result, dataset = pipeline_run
    return render_report(result, dataset, {0: "A cluster with a long name that will not fit"})


def test_every_plot_is_configured_without_cloud_actions(page):
    calls = plot_calls(page)
    assert len(calls) >= 6
    for _, config in calls:
        assert config["displaylogo"] is False and config["showSendToCloud"] is False
        assert not any(value for key, value in config.items() if CLOUD_WORDS.search(key) or CLOUD_WORDS.search(str(value)))
        assert "modeBarButtonsToAdd" not in config and "plotlyServerURL" not in config


def test_the_reports_own_text_links_to_no_cloud(page):
    """Everything but plotly.js itself, which carries its cloud button's code whether used or not, and
    the switch that turns that button off."""
    own_text = re.sub(r'"showSendToCloud":\s*false', "", re.sub(r"<script>.*?</script>", "", page, count=1, flags=re.DOTALL))
    assert not re.search(r"plot\.ly|chart-studio|chart studio|cloud", own_text, re.IGNORECASE)


def scatter_of(page: str) -> list[dict]:
    return next(data for data, layout, _ in plots(page) if "PCA plane" in layout["title"]["text"])


def test_the_scatter_carries_every_song_up_to_its_limit(page, pipeline_run):
    result, _ = pipeline_run
    assert sum(points(trace) for trace in scatter_of(page)) == result.n_rows
    assert "The scatter shows" not in page


def test_a_larger_run_shows_a_sample_and_says_so(pipeline_run, monkeypatch):
    result, dataset = pipeline_run
    monkeypatch.setattr(report, "SCATTER_SONGS", 200)
    page = render_report(result, dataset, {})
    assert sum(points(trace) for trace in scatter_of(page)) == 200
    assert f"The scatter shows 200 of the {result.n_rows:,} songs" in page


@pytest.mark.browser
def test_no_modebar_button_offers_to_share(pipeline_run, tmp_path):
    result, dataset = pipeline_run
    path = tmp_path / "report.html"
    write_report(result, dataset, path, {})
    with chromium() as driver:
        driver.get(path.as_uri())
        # Every figure is drawn from its compact JSON (typed arrays included).
        figures = len(driver.find_elements(By.CSS_SELECTOR, ".plotly-graph-div"))
        assert figures >= 6
        assert len(driver.find_elements(By.CSS_SELECTOR, ".plotly-graph-div .main-svg")) >= figures
        titles = [button.get_attribute("data-title") for button in driver.find_elements(By.CSS_SELECTOR, ".modebar-btn")]
    assert "Download plot as a PNG" in titles
    assert not [title for title in titles if CLOUD_WORDS.search(title or "")]
