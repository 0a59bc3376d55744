"""A panel plug-in installed as a real distribution (entry-point group ``amc.panels``) beside a broken one,
in a real `amc serve` and headless Chromium: the plug-in's callback and route work through its host, and
the broken plug-in is a card that names it while everything else works."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from browser import RUN_TIMEOUT, chromium, serve, show_panel, visible, wait_for
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parent / "plugin_example"
BROKEN_MODULE = 'raise RuntimeError("no tempo today")\n'


def pip_install(source: Path, target: Path) -> None:
    """Build and install ``source`` into ``target`` as pip would for a user, without touching our venv."""
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(source)], check=True, capture_output=True, text=True)


def broken_distribution(folder: Path) -> Path:
    (folder / "amc_broken_panel").mkdir(parents=True)
    (folder / "amc_broken_panel" / "__init__.py").write_text(BROKEN_MODULE)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=74.1"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "amc-broken-panel"\nversion = "1.0"\n'
        '[project.entry-points."amc.panels"]\nbroken = "amc_broken_panel:PANEL"\n')
    return folder


@pytest.fixture(scope="module")
def plugin_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("plugins")
    site = work / "site"
    pip_install(shutil.copytree(EXAMPLE, work / "tempo"), site)  # a copy: the build writes beside its sources
    pip_install(broken_distribution(work / "broken"), site)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    with serve(tmp_path_factory.mktemp("plugin-cache"), PYTHONPATH=path) as server:
        yield server


def part(name: str) -> str:
    return f"[id='{{\"panel\":\"tempo\",\"part\":\"{name}\"}}']"


def test_an_installed_plugin_panel_answers_its_callback_and_serves_its_route(plugin_server):
    with chromium() as driver:
        driver.get(plugin_server.url)
        visible(driver, "#panel-card-pca")
        driver.find_element(By.ID, "run-button").click()
        wait_for(driver, lambda d: "run=" in d.current_url, RUN_TIMEOUT, "the demo run never finished")

        show_panel(driver, "tempo")
        counts = visible(driver, part("counts"))
        wait_for(driver, lambda d: "songs faster than 120 BPM" in counts.text, 30, "the plug-in never counted")
        field = driver.find_element(By.CSS_SELECTOR, part("tempo"))
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("150", Keys.ENTER)
        wait_for(driver, lambda d: "songs faster than 150 BPM" in counts.text, 30, "the callback never answered")
        fewer = int(counts.text.split()[0])

        link = driver.find_element(By.CSS_SELECTOR, part("download")).get_attribute("href")
        assert "/_amc/tempo/faster.csv?" in link
        with urllib.request.urlopen(link, timeout=30) as answer:
            lines = answer.read().decode("utf-8").splitlines()
        assert lines[0] == "id_songs,name_song,tempo" and len(lines) - 1 == fewer
        assert all(float(line.rsplit(",", 1)[1]) > 150 for line in lines[1:])

        failed = show_panel(driver, "failed-broken-amc-broken-panel-panel")
        assert "The panel plug-in broken (amc_broken_panel:PANEL) failed: RuntimeError: no tempo today" in failed.text
        show_panel(driver, "elbow")  # the built-ins still work beside both plug-ins
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#panel-card-elbow .main-svg"), 30)
