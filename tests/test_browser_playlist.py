"""The playlist panel in headless Chromium against a real `amc serve` on the demo data: filters, the
exported files read back from the browser's download folder, and "more like this"."""
from __future__ import annotations

import csv
import glob
import io
from pathlib import Path
from urllib.parse import parse_qs, urlparse

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
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from analysis.export import safe_filename
from analysis.playlist import PlaylistQuery, nearest_songs
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

    def __init__(self, view: RunView) -> None:
        self.view, self.tables = view, SongTables()
        self.names, self.dataset, self.model = view.names, view.dataset, view.model
        self.songs = self.tables.of(view)

    def playlist(self, query: PlaylistQuery):
        return self.tables.playlist(self.view, query)


@pytest.fixture(scope="module")
def stored(app_server, demo_run_url):
    link = parse_qs(urlparse(demo_run_url).query)
    store = ResultsStore.open(app_server.cache_dir / "store")
    host = PanelHost(None, store, "playlist")
    return StoredPlaylist(host.view({"run_id": link["run"][0], "k": int(link["k"][0])}, songs=True))


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
