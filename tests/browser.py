"""Real-browser test tools: the app as a real `amc serve` process and headless Chromium driven by Selenium.

Import the fixtures into a test module (``from browser import app_server, browser, demo_run_url``)
and mark the tests ``@pytest.mark.browser``. Every browser fixture fails its test on any SEVERE
console entry.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SERVER_START_TIMEOUT = 60
RUN_TIMEOUT = 180
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)


@dataclass
class AppServer:
    url: str
    cache_dir: Path
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(cache_dir: Path, *args: str, **env: str) -> Iterator[AppServer]:
    """`amc serve` on a free port over ``cache_dir``; the server and its job processes die at the end."""
    port = free_port()
    log_path = cache_dir / "server.log"
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).with_name("amc")), "serve", "--port", str(port), *args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            # The code of this checkout, not the one the shared virtualenv's editable install points at.
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH")))),
                 "AMC_CACHE_DIR": str(cache_dir), **env},
        )
    server = AppServer(f"http://127.0.0.1:{port}", cache_dir, process, log_path)
    try:
        _wait_until_up(server)
        yield server
    finally:
        _stop(process)


def _wait_until_up(server: AppServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"amc serve exited with {server.process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"amc serve did not answer within {SERVER_START_TIMEOUT} s:\n{server.log()}")


def _stop(process: subprocess.Popen) -> None:
    # The session holds the server and every job process it forked.
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def chromium(download_dir: Path | None = None) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile; fails the test on any SEVERE console entry."""
    profile = tempfile.mkdtemp(prefix="amc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if download_dir is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                                  "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
        assert_no_severe_logs(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def assert_no_severe_logs(driver: webdriver.Chrome) -> None:
    severe = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, "browser console errors:\n" + "\n".join(severe)


def wait_for(driver, condition: Callable, timeout: float = 30, message: str = ""):
    """Wait until ``condition(driver)`` is truthy and return its value."""
    # The page redraws while it is watched: an element found a moment ago may be gone; look again.
    waiting = WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,))
    return waiting.until(condition, message)


def click(driver, element: WebElement) -> None:
    """Scroll the element to the middle of the window and click it, again while the page still moves.

    The scroll is instant: Bootstrap makes scrolling smooth, and a click during the glide misses.
    """

    def attempt(d) -> bool:
        try:
            d.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)
            element.click()
            return True
        except ElementClickInterceptedException:
            return False

    wait_for(driver, attempt, 10, f"{element.get_attribute('id')} could not be clicked")


def downloaded(folder: Path, pattern: str, timeout: float = 30) -> Path:
    """The one finished file matching the glob ``pattern`` in the browser's download folder."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(folder.glob(pattern))
        if len(found) == 1 and not list(folder.glob("*.crdownload")):
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {pattern} arrived; the folder holds {sorted(p.name for p in folder.iterdir())}")


def visible(driver, selector: str, timeout: float = 30) -> WebElement:
    return wait_for(driver, lambda d: _shown(d, selector), timeout, f"{selector} never became visible")


def file_input(driver, upload: str, timeout: float = 30) -> WebElement:
    """The hidden file input of the dcc.Upload at the CSS selector ``upload``, once its code (loaded apart
    from the page's) has drawn it: the upload's panel can be on screen before it is."""
    selector = f"{upload} input[type=file]"
    return wait_for(driver, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, selector)), None), timeout,
                    f"{selector} never appeared")


def _shown(driver, selector: str) -> WebElement | None:
    found = [e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]
    return found[0] if found else None


def with_panel(url: str, panel: str) -> str:
    """The same link opened on another panel's tab."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "panel"] + [("panel", panel)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def show_panel(driver, panel: str) -> WebElement:
    """Click the panel's tab, as a user would, and return its card once it is on screen."""
    click(driver, driver.find_element(By.CSS_SELECTOR, f"#panel-tabs .amc-tab-{panel}"))

    def alone_on_screen(d):
        shown = [c for c in d.find_elements(By.CSS_SELECTOR, ".amc-panel") if c.is_displayed()]
        return len(shown) == 1 and shown[0].get_attribute("id") == f"panel-card-{panel}" and shown[0]

    return wait_for(driver, alone_on_screen, 30, f"the {panel} panel never came on screen alone")


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    """One real server per test module, over its own temporary cache directory."""
    with serve(tmp_path_factory.mktemp("amc-cache")) as server:
        yield server


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def demo_run_url(app_server) -> str:
    """The demo data run once through the shell with the default parameters; each test opens its link."""
    with chromium() as driver:
        driver.get(app_server.url)
        visible(driver, "#panel-card-pca")
        driver.find_element(By.ID, "run-button").click()
        wait_for(driver, lambda d: "run=" in d.current_url, RUN_TIMEOUT, "the demo run never finished")
        return driver.current_url
