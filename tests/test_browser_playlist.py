"""The playlist panel in headless Chromium against a real `amc serve` on the demo data: filters, the
exported files read back from the browser's download folder, and "more like this"."""
from __future__ import annotations

import csv
import glob
import io
import re
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from browser import (  # noqa: F401 (fixtures)
    app_server,
    chromium,
    click,
    demo_run_url,
    downloaded,
    visible,
    wait_for,
    with_panel,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from analysis.export import safe_filename
from analysis.playlist import PlaylistQuery, nearest_songs
from analysis.selection import Shape, songs_in_shape
from dashboard.host import PanelHost, RunView
from dashboard.panels.playlist_files import SongTables
from dashboard.store import ResultsStore

pytestmark = pytest.mark.browser

SIZE = 12  # small enough that the grid renders every row, so the page can be read whole
PLAYLIST_NAME = "=Road trip/../night"


def part(name: str) -> str:
    return f"[id='{{\"panel\":\"playlist\",\"part\":\"{name}\"}}']"


class StoredPlaylist:
    """The run as the server stores it, to compute what the page must show."""

    def __init__(self, view: RunView, store: ResultsStore) -> None:
        self.view, self.tables = view, SongTables(store)
        self.names, self.dataset, self.model = view.names, view.dataset, view.model
        self.songs = self.tables.of(view)

    def playlist(self, query: PlaylistQuery):
        return self.tables.playlist(self.view, query)


@pytest.fixture(scope="module")
def stored(app_server, demo_run_url):
    link = parse_qs(urlparse(demo_run_url).query)
    store = ResultsStore.open(app_server.cache_dir / "store")
    host = PanelHost(None, store, "playlist")
    return StoredPlaylist(host.view({"run_id": link["run"][0], "k": int(link["k"][0])}, songs=True), store)


@pytest.fixture
def downloads(tmp_path) -> Path:
    return tmp_path


@pytest.fixture
def page(demo_run_url, downloads):
    with chromium(download_dir=downloads) as driver:
        driver.get(with_panel(demo_run_url, "playlist"))
        visible(driver, part("grid") + " .ag-row")
        yield driver


def grid_rows(driver) -> list[int]:
    """Dataset row positions of the grid's rows, top to bottom (the grid's row id is the position)."""
    rows = driver.find_elements(By.CSS_SELECTOR, f"{part('grid')} .ag-center-cols-container .ag-row")
    ordered = sorted(rows, key=lambda row: int(row.get_attribute("row-index")))
    return [int(row.get_attribute("row-id")) for row in ordered]


def count_text(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, part("count")).text


def choose(driver, dropdown: str, option_text: str) -> None:
    click(driver, driver.find_element(By.CSS_SELECTOR, part(dropdown)))
    option = wait_for(
        driver,
        lambda d: next((o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text == option_text), None),
        10,
        f"{dropdown} never offered {option_text!r}",
    )
    option.click()
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def type_into(driver, field: str, text: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, part(field))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def switch(driver, name: str) -> None:
    click(driver, driver.find_element(By.CSS_SELECTOR, part(name)))


def test_a_filtered_playlist_exports_the_rows_the_table_shows(page, stored, downloads):
    cluster_name = stored.names[0]
    choose(page, "clusters", f"0 · {cluster_name}")
    choose(page, "order", "Popularity")
    switch(page, "descending")
    type_into(page, "limit", str(SIZE))
    type_into(page, "name", PLAYLIST_NAME)

    query = PlaylistQuery(clusters=(0,), order_by="popularity", descending=True, limit=SIZE)
    expected = list(stored.playlist(query)["row"])
    wait_for(page, lambda d: grid_rows(d) == expected, 30, "the table never showed the filtered playlist")
    matching = len(stored.playlist(PlaylistQuery(clusters=(0,), limit=None)))
    assert count_text(page) == f"{SIZE} of {matching:,} songs (the size limit cuts the list)"

    click(page, page.find_element(By.CSS_SELECTOR, part("export-csv")))
    exported = downloaded(downloads, glob.escape(safe_filename(PLAYLIST_NAME, "csv")))
    with exported.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    raw = stored.dataset.raw
    assert rows[0] == [*raw.columns, "cluster", "cluster_name"]
    positions = stored.dataset.frame.index[expected]
    assert [row[:-2] for row in rows[1:]] == [list(raw.loc[p]) for p in positions]
    assert {(row[-2], row[-1]) for row in rows[1:]} == {("0", cluster_name)}

    click(page, page.find_element(By.CSS_SELECTOR, part("export-uris")))
    uris_file = downloaded(downloads, glob.escape(safe_filename(PLAYLIST_NAME, "txt")))
    uris = uris_file.read_text(encoding="utf-8").splitlines()
    assert uris == [f"spotify:track:{row[0]}" for row in rows[1:]]

    exported.unlink()
    click(page, page.find_element(By.CSS_SELECTOR, part("export-excel")))
    for_excel = downloaded(downloads, glob.escape(safe_filename(PLAYLIST_NAME, "csv"))).read_bytes()
    assert for_excel.startswith(b"\xef\xbb\xbf")  # Excel then opens non-Latin names as UTF-8
    assert list(csv.reader(io.StringIO(for_excel.decode("utf-8-sig"), newline=""))) == rows
    page.save_screenshot("/tmp/amc-playlist.png")


def test_more_like_this_lists_the_nearest_songs_of_the_picked_one(page, stored):
    type_into(page, "limit", str(SIZE))
    switch(page, "dedupe")  # every copy counts, so the list is exactly the nearest rows
    first = wait_for(page, lambda d: len(grid_rows(d)) == SIZE and grid_rows(d), 30, "no playlist shown")
    picked = first[3]
    click(page, page.find_element(By.CSS_SELECTOR, f"{part('grid')} .ag-center-cols-container .ag-row[row-id='{picked}']"))
    like = page.find_element(By.CSS_SELECTOR, part("like"))
    wait_for(page, lambda d: like.is_enabled(), 10, "picking a song never enabled 'More like this'")
    click(page, like)

    nearest = list(nearest_songs(stored.songs.matrix, picked, SIZE)["row"])
    wait_for(page, lambda d: grid_rows(d) == nearest, 30, "the table never showed the nearest songs")
    assert " like " in count_text(page)

    switch(page, "within-cluster")
    labels = stored.model.labels
    in_cluster = list(nearest_songs(stored.songs.matrix, picked, SIZE, within_labels=labels)["row"])
    wait_for(page, lambda d: grid_rows(d) == in_cluster, 30, "the table never kept to the song's cluster")
    assert set(labels[in_cluster]) == {labels[picked]}
    page.save_screenshot("/tmp/amc-playlist-like.png")


def scatter_drawn(driver) -> bool:
    return driver.execute_script(
        "const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return !!(gd && gd.data && gd.data.length);", pca_part("scatter"))


def pca_part(name: str) -> str:
    return f"[id='{{\"panel\":\"pca\",\"part\":\"{name}\"}}']"


def draw_lasso(driver) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Choose the lasso in the scatter's modebar and draw a star around the middle of the plot, as a hand
    would; returns the (trace, point) pairs plotly itself selected and the lasso's vertices (n × 2)."""
    plot = pca_part("scatter")
    driver.execute_script(
        "const gd = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "window.amcLassoed = null;"
        "gd.on('plotly_selected', (event) => { window.amcLassoed = event ? {points: event.points.map("
        "(p) => [p.curveNumber, p.pointIndex]), x: event.lassoPoints.x, y: event.lassoPoints.y} : null; });", plot)
    click(driver, driver.find_element(By.CSS_SELECTOR, f"{plot} .modebar-btn[data-val='lasso']"))
    area = driver.find_element(By.CSS_SELECTOR, f"{plot} .nsewdrag")
    width, height = area.size["width"], area.size["height"]
    # Offsets from the drag area's centre: a lopsided star, so the lasso is not a plain box.
    star = [(0.0, -0.35), (0.1, -0.1), (0.35, -0.05), (0.12, 0.08), (0.2, 0.35), (0.0, 0.15), (-0.22, 0.3),
            (-0.12, 0.05), (-0.3, -0.12), (-0.08, -0.12), (0.0, -0.35)]
    hand = ActionChains(driver, duration=20)
    hand.move_to_element_with_offset(area, int(star[0][0] * width), int(star[0][1] * height)).click_and_hold()
    for (x0, y0), (x1, y1) in zip(star, star[1:]):
        for step in range(1, 6):  # plotly draws a lasso from the mouse's path: several moves per edge
            t = step / 5
            hand.move_to_element_with_offset(area, int((x0 + (x1 - x0) * t) * width), int((y0 + (y1 - y0) * t) * height))
    hand.release().perform()
    lassoed = wait_for(driver, lambda d: d.execute_script("return window.amcLassoed;"), 10,
                       "plotly never reported the lasso's points")
    return [tuple(p) for p in lassoed["points"]], np.column_stack([lassoed["x"], lassoed["y"]])


def on_the_edge(points: np.ndarray, polygon: np.ndarray, span: float) -> np.ndarray:
    """Which points lie within a ten-thousandth of the plot's span (a tenth of a pixel) of the polygon's edges:
    plotly tests them in pixels and the server in the plane's units, and on the edge the two may disagree."""
    starts, ends = polygon, np.roll(polygon, -1, axis=0)
    edge = ends - starts
    along = np.clip(((points[:, None, :] - starts) * edge).sum(-1) / np.maximum((edge ** 2).sum(-1), 1e-300), 0, 1)
    nearest = starts + along[..., None] * edge
    return np.linalg.norm(points[:, None, :] - nearest, axis=-1).min(axis=1) < 1e-4 * span


def test_a_lasso_on_the_scatter_becomes_the_playlist_and_its_exports(demo_run_url, stored, downloads):
    labels = stored.model.labels
    with chromium(download_dir=downloads) as driver:
        driver.set_window_size(1366, 900)
        driver.get(with_panel(demo_run_url, "pca"))
        wait_for(driver, scatter_drawn, 30, "the scatter was never drawn")
        lassoed, polygon = draw_lasso(driver)
        # Each trace holds one cluster's songs in dataset order: a point's index picks its row.
        members = {cluster: np.flatnonzero(labels == cluster) for cluster in range(stored.view.k)}
        in_plotly = {int(members[trace][point]) for trace, point in lassoed}
        assert 0 < len(in_plotly) < len(labels), "the lasso should catch some songs, not all"
        said = wait_for(driver, lambda d: re.match(r"([\d,]+) songs in the lasso",
                                                    d.find_element(By.CSS_SELECTOR, pca_part("selected")).text),
                        30, "the panel never said how many songs the lasso holds")
        count = int(said.group(1).replace(",", ""))
        coords = stored.view.result.pca.coords.astype(np.float32).astype(np.float64)[:, :2]
        inside = songs_in_shape(coords, labels, None, Shape("lasso", tuple(polygon[:, 0]), tuple(polygon[:, 1])))
        assert count == len(inside)
        disagree = sorted(set(inside.tolist()) ^ in_plotly)
        span = float(np.ptp(coords, axis=0).max())
        assert on_the_edge(coords[disagree], polygon, span).all(), "the server and plotly disagree off the edge"

        click(driver, driver.find_element(By.CSS_SELECTOR, pca_part("to-playlist")))
        wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, part("source")).text
                 == f"From a selection of {count:,} songs: lasso on the PCA scatter at k={stored.view.k}.",
                 30, "the playlist builder never took the lasso as its source")
        type_into(driver, "limit", str(len(labels)))
        switch(driver, "dedupe")  # every song inside, copies too
        wait_for(driver, lambda d: count_text(d).startswith(f"{count:,} song"), 30,
                 "the playlist never held every song of the lasso")
        type_into(driver, "name", "Lassoed")
        # The links follow the typed name a server answer later.
        wait_for(driver, lambda d: all("name=Lassoed" in d.find_element(By.CSS_SELECTOR, part(link)).get_attribute("href")
                                       for link in ("export-csv", "export-uris")),
                 30, "the export links never took the playlist's name")
        assert not list(downloads.iterdir()), "a file was downloaded before any export was asked for"

        click(driver, driver.find_element(By.CSS_SELECTOR, part("export-csv")))
        with downloaded(downloads, "Lassoed.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        frame = stored.dataset.frame
        assert Counter(row[0] for row in rows[1:]) == Counter(frame["id_songs"].iloc[inside])
        click(driver, driver.find_element(By.CSS_SELECTOR, part("export-uris")))
        uris = downloaded(downloads, "Lassoed.txt").read_text(encoding="utf-8").splitlines()
        assert Counter(uris) == Counter(f"spotify:track:{song}" for song in frame["id_songs"].iloc[inside])
        driver.save_screenshot("/tmp/amc-lasso-playlist.png")

        click(driver, driver.find_element(By.CSS_SELECTOR, part("every-song")))
        wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, part("source")).text
                 == "From every song of the run.", 30, "the playlist never went back to every song")
