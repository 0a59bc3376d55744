"""The "Add new songs" panel in headless Chromium against a real `amc serve`: a CSV of new songs uploaded
through the page lands in the demo run's named clusters, and the page's link reopens the same batch."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from broken_sample import csv_of, sample_table
from browser import app_server, chromium, demo_run_url, file_input, visible, wait_for, with_panel  # noqa: F401 (fixtures)
from selenium.webdriver.common.by import By
from test_browser_access import axe_violations

from analysis.assign import assign, centres_of
from analysis.dataset import load_csv
from dashboard.host import PanelHost
from dashboard.panels.new_songs import NAME
from dashboard.store import ResultsStore

pytestmark = pytest.mark.browser

NEW_SONGS = 30


def part(name: str) -> str:
    return f"[id='{{\"panel\":\"{NAME}\",\"part\":\"{name}\"}}']"


@pytest.fixture(scope="module")
def new_songs_csv(demo_csv, tmp_path_factory):
    """Thirty songs of the demo file, the first made unlike any song of the run."""
    header, rows = sample_table(demo_csv)
    rows = rows[:NEW_SONGS]
    for column, value in {"tempo": "249", "loudness": "-59", "duration_ms": "4900000", "speechiness": "0.6",
                          "liveness": "1", "followers": "90000000"}.items():
        rows[0][header.index(column)] = value
    path = tmp_path_factory.mktemp("new") / "this-week.csv"
    path.write_bytes(csv_of(header, rows))
    return path


def expected_counts(app_server, run_url: str, new_songs_csv) -> dict[str, int]:
    """Songs per cluster name, as the stored run places the file."""
    link = parse_qs(urlparse(run_url).query)
    store = ResultsStore.open(app_server.cache_dir / "store")
    view = PanelHost(None, store, NAME).view({"run_id": link["run"][0], "k": int(link["k"][0])}, songs=True)
    assignment = assign(centres_of(view.result, view.frame, view.names, view.k), load_csv(new_songs_csv))
    counts = np.bincount(assignment.labels, minlength=view.k)
    return {view.names[cluster]: int(counts[cluster]) for cluster in range(view.k)}


def shown_counts(driver) -> dict[str, int]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"{part('counts-table')} tbody tr")
    cells = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    return {cell[1]: int(cell[2].replace(",", "")) for cell in cells}


def test_an_uploaded_file_lands_in_the_named_clusters_and_its_link_reopens_it(app_server, demo_run_url,
                                                                                new_songs_csv):
    with chromium() as driver:
        driver.get(with_panel(demo_run_url, NAME))
        visible(driver, f"#panel-card-{NAME} {part('upload')}")
        file_input(driver, part('upload')).send_keys(str(new_songs_csv))

        visible(driver, part("counts-table"), 60)
        counts = shown_counts(driver)
        assert counts == expected_counts(app_server, demo_run_url, new_songs_csv)
        assert sum(counts.values()) == NEW_SONGS
        assert "this-week.csv: 30 new songs placed" in driver.find_element(By.CSS_SELECTOR, part("summary")).text
        flagged = driver.find_element(By.CSS_SELECTOR, part("flagged-list")).text
        header, rows = sample_table(new_songs_csv)
        assert rows[0][header.index("name_song")] in flagged
        link = wait_for(driver, lambda d: "batch=" in d.current_url and d.current_url, 10, "the link never named the batch")
        # With its map, counts and list drawn, the panel is as usable with a screen reader as the others.
        driver.set_script_timeout(60)
        assert axe_violations(driver) == []

    with chromium() as colleague:
        colleague.get(link)
        visible(colleague, part("counts-table"), 60)
        assert shown_counts(colleague) == counts
