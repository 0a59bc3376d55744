"""The Compare & history panel in headless Chromium against a real `amc serve`: a comparison of two runs of the
demo data with the right ARI and the team's names, restored from its link, and a run opened from the history
with the whole shell following."""
from __future__ import annotations

import re

import pytest
from browser import app_server, chromium, click, demo_run_url, visible, wait_for, with_panel  # noqa: F401 (fixtures)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from test_browser_panels import part

from analysis.compare import compare
from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.result import RunParams
from dashboard.app import DEMO_CSV
from dashboard.config import Config
from dashboard.store import ResultsStore

pytestmark = pytest.mark.browser

TEAM_NAME = "Sunday brunch"


@pytest.fixture(scope="module")
def store(app_server):  # noqa: F811
    return ResultsStore.open(Config.from_env({}, cache_dir=app_server.cache_dir).store_dir)


@pytest.fixture(scope="module")
def second_run(store, demo_run_url):  # noqa: F811
    """Another run of the demo songs, seed 7 and k 2–6, stored after the shell's by bob."""
    result = run_analysis(load_csv(DEMO_CSV), RunParams(k_min=2, k_max=6, seed=7))
    store.put_run(result, started_by="bob")
    return result


def shown_run(driver) -> tuple[str, int]:
    query = dict(re.findall(r"[?&]([^=&]+)=([^&]*)", driver.current_url))
    return query["run"], int(query["k"])


def ari_shown(driver) -> str:
    return wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, part("compare", "ari")).text, 60,
                    "the comparison never showed its ARI")


def sankey_labels(driver) -> list[str]:
    flow = driver.find_element(By.CSS_SELECTOR, part("compare", "flow"))
    return [label.get_attribute("textContent") for label in flow.find_elements(By.CSS_SELECTOR, ".node-label")]


def test_two_runs_compared_show_their_ari_and_names_and_the_link_brings_the_comparison_back(
        demo_run_url, store, second_run):  # noqa: F811
    run_id, k = re.search(r"run=(\w+)", demo_run_url).group(1), int(re.search(r"k=(\d+)", demo_run_url).group(1))
    first = store.get_run(run_id)
    store.rename(run_id, k, 0, TEAM_NAME, store.get_names(run_id, k).version)
    with chromium() as driver:
        driver.get(with_panel(demo_run_url, "compare"))
        default_ari = compare(first.models[k].labels, first.models[k + 1].labels).ari
        assert ari_shown(driver) == f"ARI {default_ari:.3f}"
        wait_for(driver, lambda d: TEAM_NAME in sankey_labels(d), 30, "the team's name is not in the Sankey")

        Select(driver.find_element(By.CSS_SELECTOR, part("compare", "run", side="b"))).select_by_value(
            second_run.run_id)
        Select(driver.find_element(By.CSS_SELECTOR, part("compare", "k", side="b"))).select_by_value("5")
        expected = compare(first.models[k].labels, second_run.models[5].labels).ari
        wait_for(driver, lambda d: ari_shown(d) == f"ARI {expected:.3f}", 30, "the ARI did not follow the choice")
        wait_for(driver, lambda d: "bk=5" in d.current_url, 10, "the choice never reached the link")
        link = driver.current_url
        assert f"b={second_run.run_id}" in link and "panel=compare" in link

    with chromium() as colleague:
        colleague.get(link)
        wait_for(colleague, lambda d: ari_shown(d) == f"ARI {expected:.3f}", 60, "the link lost the comparison")
        chosen = Select(colleague.find_element(By.CSS_SELECTOR, part("compare", "run", side="b")))
        assert chosen.first_selected_option.get_attribute("value") == second_run.run_id
        assert colleague.current_url == link


def test_a_run_opens_from_the_history_and_the_whole_shell_follows(demo_run_url, second_run):  # noqa: F811
    with chromium() as driver:
        driver.get(with_panel(demo_run_url, "compare"))
        history = visible(driver, part("compare", "runs"))
        assert "bob" in history.text and "seed 7" in history.text
        click(driver, driver.find_element(By.CSS_SELECTOR, part("compare", "open", run=second_run.run_id)))

        wait_for(driver, lambda d: shown_run(d) == (second_run.run_id, second_run.chosen_k), 30,
                 "the run from the history was not opened")
        wait_for(driver, lambda d: d.find_element(By.ID, "param-seed").get_attribute("value") == "7", 30,
                 "the sidebar kept the other run's parameters")
        assert driver.find_element(By.ID, "param-k-max").get_attribute("value") == "6"
        wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, part("compare", "open", run=second_run.run_id))
                 .get_attribute("disabled"), 30, "the history does not mark the opened run as shown")
        click(driver, driver.find_element(By.CSS_SELECTOR, "#panel-tabs .amc-tab-elbow"))
        elbow = visible(driver, part("elbow", "k"))
        assert Select(elbow).first_selected_option.get_attribute("value") == str(second_run.chosen_k)
        offered = [option.get_attribute("value") for option in Select(elbow).options]
        assert [k for k in offered if k] == ["2", "3", "4", "5", "6"]  # the elbow is the opened run's


def test_a_clicked_cell_of_the_comparison_becomes_the_playlist(demo_run_url, store):  # noqa: F811
    run_id, k = re.search(r"run=(\w+)", demo_run_url).group(1), int(re.search(r"k=(\d+)", demo_run_url).group(1))
    first = store.get_run(run_id)
    names_a, names_b = store.get_names(run_id, k).names, store.get_names(run_id, k + 1).names
    songs = int(compare(first.models[k].labels, first.models[k + 1].labels).table[0, 0])
    with chromium() as driver:
        driver.get(with_panel(demo_run_url, "compare"))
        ari_shown(driver)
        table = driver.find_element(By.CSS_SELECTOR, part("compare", "table"))
        cell = wait_for(driver, lambda d: table.find_elements(By.CSS_SELECTOR, ".nsewdrag"), 30)[0]
        # The top-left cell: A's cluster 0 at k, B's cluster 0 at k + 1.
        box = cell.rect
        driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", cell)
        ActionChains(driver).move_to_element_with_offset(cell, -box["width"] / 2 + box["width"] / (2 * (k + 1)),
                                                        -box["height"] / 2 + box["height"] / (2 * k)).click().perform()

        source = visible(driver, part("playlist", "source"))
        wanted = f"From a selection of {songs:,} songs: {names_a[0]} → {names_b[0]} (k={k} → k={k + 1})."
        wait_for(driver, lambda d: source.text == wanted, 30, f"the playlist's source is {source.text!r}")
