"""The six panels in headless Chromium against a real `amc serve` on the demo data: real figures,
switching k from the elbow panel, renaming a cluster into every legend, and the artist search."""
from __future__ import annotations

import json
import re

import pytest
from browser import app_server, chromium, click, demo_run_url, downloaded, visible, wait_for  # noqa: F401 (fixtures)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.browser

HOSTILE_NAME = "<img src=x onerror=alert(1)> & co"
GRAPH_PANELS = ("elbow", "silhouette", "pca", "heatmap")


def part(panel: str, name: str, **keys) -> str:
    """CSS selector of a panel part: Dash writes dict ids as JSON with sorted keys."""
    fields = {"panel": panel, "part": name, **keys}
    text = ",".join(f'"{key}":{value if isinstance(value, int) else chr(34) + value + chr(34)}'
                    for key, value in sorted(fields.items()))
    return f"[id='{{{text}}}']"


def screenshot(driver, name: str) -> None:
    """The whole page, to look at after the run: /tmp/amc-panels-<name>.png."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(height, 12000))
    driver.save_screenshot(f"/tmp/amc-panels-{name}.png")


def card(driver, panel: str):
    return driver.find_element(By.ID, f"panel-card-{panel}")


def figures_drawn(driver) -> bool:
    return all(card(driver, panel).find_elements(By.CSS_SELECTOR, ".main-svg") for panel in GRAPH_PANELS)


def active_k(driver) -> int:
    return int(Select(driver.find_element(By.CSS_SELECTOR, part("elbow", "k"))).first_selected_option
               .get_attribute("value"))


def pca_legend(driver) -> list[str]:
    scatter = driver.find_element(By.CSS_SELECTOR, part("pca", "scatter"))
    return [item.text for item in scatter.find_elements(By.CSS_SELECTOR, ".legendtext")]


@pytest.fixture
def page(demo_run_url):
    with chromium() as driver:
        driver.get(demo_run_url)
        wait_for(driver, figures_drawn, 60, "the panels' figures were never drawn")
        yield driver


def test_every_panel_draws_real_figures_without_console_errors(page):
    k = active_k(page)
    assert card(page, "pca").find_elements(By.CSS_SELECTOR, "canvas"), "the PCA scatter is not WebGL"
    assert len(pca_legend(page)) == k
    assert len(card(page, "naming").find_elements(By.CSS_SELECTOR, "input[type=text]")) == k
    assert card(page, "artists").find_elements(By.CSS_SELECTOR, "table tbody tr")
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, part("naming", "history")).text, 30,
             "the naming history was never drawn")
    screenshot(page, "all")


def test_choosing_k_in_the_elbow_panel_redraws_every_panel(page):
    k = active_k(page)
    other = k + 1 if k < 6 else k - 1
    Select(page.find_element(By.CSS_SELECTOR, part("elbow", "k"))).select_by_value(str(other))

    wait_for(page, lambda d: f"k={other}" in d.current_url and len(pca_legend(d)) == other, 30,
             f"k={other} never became active")
    assert f"k={other}" in card(page, "heatmap").text
    assert len(card(page, "naming").find_elements(By.CSS_SELECTOR, "input[type=text]")) == other
    screenshot(page, "k")


def test_a_legend_click_isolates_one_cluster_in_the_pca(page):
    scatter = page.find_element(By.CSS_SELECTOR, part("pca", "scatter"))
    items = scatter.find_elements(By.CSS_SELECTOR, ".legend .traces .legendtoggle")
    click(page, items[1])

    shown = "return arguments[0].querySelector('.js-plotly-plot').data.filter(t => t.visible !== 'legendonly').length"
    wait_for(page, lambda d: d.execute_script(shown, scatter) == 1, 10, "the legend click did not isolate one cluster")


def test_clicking_a_point_of_the_elbow_makes_its_k_active(page):
    graph = page.find_element(By.CSS_SELECTOR, part("elbow", "graph"))
    points = graph.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace:first-child .points path")
    target = int(Select(page.find_element(By.CSS_SELECTOR, part("elbow", "k"))).options[-1].get_attribute("value"))
    page.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", graph)
    ActionChains(page).move_to_element(points[-1]).click().perform()

    wait_for(page, lambda d: f"k={target}" in d.current_url and active_k(d) == target, 30,
             f"clicking k={target} never made it active")
    assert len(pca_legend(page)) == target


def test_renaming_a_cluster_shows_the_name_literally_in_the_pca_legend(page):
    rename(page, 0, HOSTILE_NAME)

    wait_for(page, lambda d: HOSTILE_NAME in pca_legend(d), 30, "the PCA legend never showed the new name")
    assert songs_downloads(page) == 1, "a rename fetched the PCA's songs again instead of reusing them"
    assert HOSTILE_NAME in card(page, "heatmap").text
    assert not page.find_elements(By.CSS_SELECTOR, ".amc-panel img[src=x]")
    history = visible(page, part("naming", "history"))
    assert HOSTILE_NAME in history.text
    screenshot(page, "renamed")

    click(page, page.find_element(By.CSS_SELECTOR, part("naming", "history") + " button"))
    wait_for(page, lambda d: HOSTILE_NAME not in pca_legend(d), 30, "reverting never restored the old name")


def songs_downloads(driver) -> int:
    """How often the PCA scatter's songs came over the network (a browser cache hit transfers nothing)."""
    return driver.execute_script("return performance.getEntriesByType('resource')"
                                 ".filter(e => e.name.includes('pca.json') && e.transferSize > 0).length")


def rename(driver, cluster: int, name: str) -> None:
    field = driver.find_element(By.CSS_SELECTOR, part("naming", "name", cluster=cluster))
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(name)
    click(driver, driver.find_element(By.CSS_SELECTOR, part("naming", "save", cluster=cluster)))


def test_a_stale_save_shows_the_colleagues_name_and_a_second_save_wins(page, demo_run_url):
    with chromium() as colleague:
        colleague.get(page.current_url)
        wait_for(colleague, figures_drawn, 60, "the colleague's panels were never drawn")
        rename(colleague, 1, "Colleague's choice")
        wait_for(colleague, lambda d: "Colleague's choice" in pca_legend(d), 30, "the colleague's save never showed")

    rename(page, 1, "My choice")

    warning = visible(page, part("naming", "alert") + " .alert-warning")
    assert "Colleague's choice" in warning.text
    assert "My choice" not in pca_legend(page)
    click(page, page.find_element(By.CSS_SELECTOR, part("naming", "save", cluster=1)))
    wait_for(page, lambda d: "My choice" in pca_legend(d), 30, "the second save never went through")


def test_searching_an_artist_shows_where_their_songs_fall(page):
    first_artist = card(page, "artists").find_element(By.CSS_SELECTOR, "table tbody tr td:nth-child(2)").text
    query = re.split(r" \(", first_artist)[0][:5].lower()
    page.find_element(By.CSS_SELECTOR, part("artists", "search")).send_keys(query)

    found = wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, f"{part('artists', 'search-songs')} tbody tr"),
                     30, f"no songs found for {query!r}")
    assert 0 < len(found) <= 50
    assert page.find_elements(By.CSS_SELECTOR, f"{part('artists', 'search-graph')} .main-svg")
    screenshot(page, "search")


def test_the_names_file_downloads_and_an_edited_copy_uploads_back(demo_run_url, tmp_path):
    with chromium(download_dir=tmp_path) as driver:
        driver.get(demo_run_url)
        wait_for(driver, figures_drawn, 60, "the panels' figures were never drawn")
        click(driver, visible(driver, "#names-io-download"))
        names_path = downloaded(tmp_path, "names-*.json")
        names_file = json.loads(names_path.read_text(encoding="utf-8"))
        assert names_file["names"]["0"] in pca_legend(driver)

        names_file["names"]["0"] = "Uploaded name"
        edited = tmp_path / "team-names.json"
        edited.write_text(json.dumps(names_file), encoding="utf-8")
        driver.find_element(By.CSS_SELECTOR, "#names-io-upload input[type=file]").send_keys(str(edited))

        wait_for(driver, lambda d: "Uploaded name" in pca_legend(d), 30, "the uploaded name never reached the legend")
        message = visible(driver, "#names-io-message .alert-success")
        assert "team-names.json: applied 1 name(s)" in message.text

