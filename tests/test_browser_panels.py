"""The six panels in headless Chromium against a real `amc serve` on the demo data: real figures on every tab,
switching k from the elbow panel without redrawing what does not depend on k, renaming a cluster into every
legend without fetching the songs again, and the artist search."""
from __future__ import annotations

import html
import json
import re
import time

import pytest
from browser import (  # noqa: F401 (fixtures)
    app_server,
    chromium,
    click,
    demo_run_url,
    downloaded,
    file_input,
    show_panel,
    visible,
    wait_for,
    with_panel,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from analysis.figures import shown_label

pytestmark = pytest.mark.browser

HOSTILE_NAME = "<img src=x onerror=alert(1)> & co"
HOSTILE_SHOWN = html.unescape(shown_label(HOSTILE_NAME))  # legends and axes cut a long name with "…"
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


def figures_drawn(driver, panel: str = "pca") -> bool:
    return bool(card(driver, panel).find_elements(By.CSS_SELECTOR, ".main-svg"))


def name_fields(driver) -> list:
    return card(driver, "naming").find_elements(By.CSS_SELECTOR, "input[id*='\"part\":\"name\"']")


def scatter_ready(driver) -> bool:
    script = "const g = arguments[0].querySelector('.js-plotly-plot'); return !!(g && g.data && g.data.length);"
    return driver.execute_script(script, driver.find_element(By.CSS_SELECTOR, part("pca", "scatter")))


def active_k(driver) -> int:
    return int(re.search(r"[?&]k=(\d+)", driver.current_url).group(1))


def pca_legend(driver) -> list[str]:
    scatter = driver.find_element(By.CSS_SELECTOR, part("pca", "scatter"))
    return [item.get_attribute("textContent") for item in scatter.find_elements(By.CSS_SELECTOR, ".legendtext")]


@pytest.fixture
def page(demo_run_url):
    with chromium() as driver:
        driver.get(demo_run_url)
        wait_for(driver, scatter_ready, 60, "the songs' map was never drawn")
        yield driver


def test_only_the_panel_on_screen_is_drawn_and_each_tab_draws_its_own(page):
    k = active_k(page)
    assert card(page, "pca").find_elements(By.CSS_SELECTOR, "canvas"), "the PCA scatter is not WebGL"
    assert len(pca_legend(page)) == k
    for panel in ("elbow", "silhouette", "heatmap", "naming", "artists"):
        assert card(page, panel).find_elements(By.CSS_SELECTOR, ".amc-placeholder"), f"{panel} was drawn off screen"
    for panel in GRAPH_PANELS:
        show_panel(page, panel)
        wait_for(page, lambda d: figures_drawn(d, panel), 30, f"{panel} never drew its figures")
        assert panel == "pca" or not card(page, "pca").is_displayed()
        screenshot(page, panel)
    show_panel(page, "naming")
    wait_for(page, lambda d: len(name_fields(d)) == k, 30)
    wait_for(page, lambda d: d.find_element(By.CSS_SELECTOR, part("naming", "history")).text, 30,
             "the naming history was never drawn")
    show_panel(page, "artists")
    wait_for(page, lambda d: card(d, "artists").find_elements(By.CSS_SELECTOR, "table tbody tr"), 30)
    assert "panel=artists" in page.current_url  # a link opens the panel it was copied from


ELBOW_GRAPH = "arguments[0].querySelector('.js-plotly-plot')"


def test_a_k_switch_moves_the_elbows_marker_and_redraws_only_what_depends_on_k(page):
    k = active_k(page)
    other = k + 1 if k < 6 else k - 1
    show_panel(page, "elbow")
    wait_for(page, lambda d: figures_drawn(d, "elbow"), 30)
    graph = page.find_element(By.CSS_SELECTOR, part("elbow", "graph"))
    # Remember the graph element and its inertia trace: a redrawn figure would be new objects.
    page.execute_script(f"window.__elbow = {ELBOW_GRAPH}; window.__inertia = window.__elbow.data[0];", graph)
    Select(page.find_element(By.CSS_SELECTOR, part("elbow", "k"))).select_by_value(str(other))

    marker = f"const g = {ELBOW_GRAPH}; return g.data[g.data.length - 1].x[0];"
    wait_for(page, lambda d: f"k={other}" in d.current_url and d.execute_script(marker, graph) == other, 30,
             f"k={other} never became active")
    untouched = f"const g = {ELBOW_GRAPH}; return g === window.__elbow && g.data[0] === window.__inertia;"
    assert page.execute_script(untouched, graph), "the k switch rebuilt the elbow figure"
    assert page.switch_to.active_element == page.find_element(By.CSS_SELECTOR, part("elbow", "k")), \
        "the k switch took the focus away from the picker"
    show_panel(page, "pca")
    wait_for(page, lambda d: len(pca_legend(d)) == other, 30, "the songs' map never showed the new k")
    show_panel(page, "heatmap")
    wait_for(page, lambda d: f"k={other}" in card(d, "heatmap").text, 30, "the heatmap never showed the new k")
    show_panel(page, "naming")
    wait_for(page, lambda d: len(name_fields(d)) == other, 30)
    screenshot(page, "k")


def test_a_legend_click_isolates_one_cluster_in_the_pca(page):
    wait_for(page, lambda d: len(pca_legend(d)) > 1, 30)
    scatter = page.find_element(By.CSS_SELECTOR, part("pca", "scatter"))
    items = scatter.find_elements(By.CSS_SELECTOR, ".legend .traces .legendtoggle")
    click(page, items[1])

    shown = "return arguments[0].querySelector('.js-plotly-plot').data.filter(t => t.visible !== 'legendonly').length"
    wait_for(page, lambda d: d.execute_script(shown, scatter) == 1, 10, "the legend click did not isolate one cluster")


def test_clicking_a_point_of_the_elbow_makes_its_k_active(page):
    show_panel(page, "elbow")
    wait_for(page, lambda d: figures_drawn(d, "elbow"), 30)
    graph = page.find_element(By.CSS_SELECTOR, part("elbow", "graph"))
    points = graph.find_elements(By.CSS_SELECTOR, ".scatterlayer .trace:first-child .points path")
    target = int(Select(page.find_element(By.CSS_SELECTOR, part("elbow", "k"))).options[-1].get_attribute("value"))
    page.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", graph)
    ActionChains(page).move_to_element(points[-1]).click().perform()

    wait_for(page, lambda d: f"k={target}" in d.current_url, 30, f"clicking k={target} never made it active")
    # The address is written in the browser at once; the panel's own picker follows when its view arrives.
    wait_for(page, lambda d: Select(d.find_element(By.CSS_SELECTOR, part("elbow", "k"))).first_selected_option
             .get_attribute("value") == str(target), 30, f"the elbow's picker never showed k={target}")
    show_panel(page, "pca")
    wait_for(page, lambda d: len(pca_legend(d)) == target, 30)


def test_renaming_a_cluster_patches_the_name_into_every_panel_and_fetches_no_songs(page):
    show_panel(page, "heatmap")
    wait_for(page, lambda d: figures_drawn(d, "heatmap"), 30)
    fetched = songs_requests(page)
    show_panel(page, "naming")
    rename(page, 0, HOSTILE_NAME)

    history = visible(page, part("naming", "history"))
    wait_for(page, lambda d: HOSTILE_NAME in history.text, 30, "the history never showed the new name")
    show_panel(page, "pca")
    wait_for(page, lambda d: HOSTILE_SHOWN in pca_legend(d), 30, "the PCA legend never showed the new name")
    full_on_hover = "return arguments[0].querySelector('.js-plotly-plot').data[0].meta"
    assert html.unescape(page.execute_script(full_on_hover, card(page, "pca"))) == HOSTILE_NAME
    show_panel(page, "heatmap")
    wait_for(page, lambda d: HOSTILE_SHOWN in card(d, "heatmap").text, 30, "the heatmap never showed the new name")
    assert songs_requests(page) == fetched, "a rename asked for the PCA's songs again"
    assert not page.find_elements(By.CSS_SELECTOR, ".amc-panel img[src=x]")
    screenshot(page, "renamed")

    show_panel(page, "naming")
    click(page, page.find_element(By.CSS_SELECTOR, part("naming", "history") + " button"))
    show_panel(page, "pca")
    wait_for(page, lambda d: HOSTILE_SHOWN not in pca_legend(d), 30, "reverting never restored the old name")


def songs_requests(driver) -> int:
    """How often the page asked for the PCA scatter's songs, from the network or its cache."""
    return driver.execute_script("return performance.getEntriesByType('resource')"
                                 ".filter(e => e.name.includes('pca.json')).length")


def rename(driver, cluster: int, name: str) -> None:
    field = visible(driver, part("naming", "name", cluster=cluster))  # the panel may still be drawing
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(name)
    click(driver, driver.find_element(By.CSS_SELECTOR, part("naming", "save", cluster=cluster)))


def test_a_colleagues_rename_arrives_live_and_typed_text_survives_it_and_another_save(page, demo_run_url):
    show_panel(page, "naming")
    field = visible(page, part("naming", "name", cluster=1))
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("My choice")  # typed, not saved
    with chromium() as colleague:
        colleague.get(with_panel(page.current_url, "naming"))
        author = visible(colleague, "#naming-author")
        author.send_keys("Colleague")
        rename(colleague, 1, "Colleague's choice")
        rename(colleague, 2, "Colleague's other choice")
        history = visible(colleague, part("naming", "history"))
        wait_for(colleague, lambda d: "Colleague's other choice" in history.text, 30, "the colleague's saves never showed")

    # Within 5 s, without a reload: the untouched field takes the new name, the typed one keeps its text.
    other = page.find_element(By.CSS_SELECTOR, part("naming", "name", cluster=2))
    wait_for(page, lambda d: other.get_attribute("value") == "Colleague's other choice", 5, "no live rename")
    assert field.get_attribute("value") == "My choice"
    assert "renamed by Colleague" in page.find_element(By.CSS_SELECTOR, part("naming", "history")).text
    assert "cluster 1 is now \"Colleague's choice\"" in visible(page, part("naming", "alert") + " .alert-warning").text

    click(page, page.find_element(By.CSS_SELECTOR, part("naming", "save", cluster=1)))
    warning = visible(page, part("naming", "alert") + " .alert-warning")
    wait_for(page, lambda d: "your name was not saved" in warning.text, 10, "saving over an unseen name did not conflict")
    click(page, page.find_element(By.CSS_SELECTOR, part("naming", "save", cluster=1)))
    show_panel(page, "pca")
    wait_for(page, lambda d: "My choice" in pca_legend(d), 30, "the second save never went through")


def test_saving_one_name_keeps_what_is_typed_in_the_others(page):
    show_panel(page, "naming")
    for cluster, text in ((0, "Typed zero"), (1, "Typed one"), (2, "Typed two")):
        field = visible(page, part("naming", "name", cluster=cluster))
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(text)
    click(page, page.find_element(By.CSS_SELECTOR, part("naming", "save", cluster=0)))
    history = page.find_element(By.CSS_SELECTOR, part("naming", "history"))
    wait_for(page, lambda d: "Typed zero" in history.text, 30, "the save never showed")
    assert page.switch_to.active_element == page.find_element(By.CSS_SELECTOR, part("naming", "save", cluster=0))
    time.sleep(2.5)  # one more beat of the names poll
    values = [page.find_element(By.CSS_SELECTOR, part("naming", "name", cluster=c)).get_attribute("value")
              for c in (0, 1, 2)]
    assert values == ["Typed zero", "Typed one", "Typed two"]


def test_searching_an_artist_shows_where_their_songs_fall(page):
    show_panel(page, "artists")
    wait_for(page, lambda d: card(d, "artists").find_elements(By.CSS_SELECTOR, "table tbody tr"), 30)
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
        wait_for(driver, scatter_ready, 60, "the songs' map was never drawn")
        show_panel(driver, "naming")
        click(driver, visible(driver, "#names-io-download"))
        names_path = downloaded(tmp_path, "names-*.json")
        names_file = json.loads(names_path.read_text(encoding="utf-8"))
        assert names_file["names"]["0"] in pca_legend(driver)

        names_file["names"]["0"] = "Uploaded name"
        edited = tmp_path / "team-names.json"
        edited.write_text(json.dumps(names_file), encoding="utf-8")
        file_input(driver, "#names-io-upload").send_keys(str(edited))

        message = visible(driver, "#names-io-message .alert-success")
        assert "team-names.json: applied 1 name(s)" in message.text
        show_panel(driver, "pca")
        wait_for(driver, lambda d: "Uploaded name" in pca_legend(d), 30, "the uploaded name never reached the legend")



def test_switching_k_with_unsaved_names_asks_first(page):
    k = active_k(page)
    other = k + 1 if k < 6 else k - 1
    show_panel(page, "naming")
    field = visible(page, part("naming", "name", cluster=0))
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("Not saved yet")
    show_panel(page, "elbow")
    picker = Select(visible(page, part("elbow", "k")))

    picker.select_by_value(str(other))
    question = wait_for(page, lambda d: d.switch_to.alert, 10, "no question before losing unsaved names")
    assert "1 cluster name(s) you typed are not saved" in question.text
    question.dismiss()
    wait_for(page, lambda d: picker.first_selected_option.get_attribute("value") == str(k), 10)
    assert f"k={k}" in page.current_url
    show_panel(page, "naming")
    assert page.find_element(By.CSS_SELECTOR, part("naming", "name", cluster=0)).get_attribute("value") == "Not saved yet"

    show_panel(page, "elbow")
    picker.select_by_value(str(other))
    wait_for(page, lambda d: d.switch_to.alert, 10, "no question before losing unsaved names").accept()
    wait_for(page, lambda d: f"k={other}" in d.current_url, 30, "accepting the question did not switch k")
    show_panel(page, "naming")
    wait_for(page, lambda d: len(name_fields(d)) == other, 30, "the naming panel never showed the new k")
    assert page.execute_script("return window.amcUnsavedNames") == 0  # the new k's fields start clean
