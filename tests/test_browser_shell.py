"""The shell in headless Chromium against a real `amc serve`: run, progress, panels, upload, cancel, links."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser import app_server, browser, chromium, file_input, serve, visible, wait_for, with_panel  # noqa: F401 (fixtures)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/amc-shell.png"
RUN_TIMEOUT = 180
DEMO_K_MAX = 16  # enough steps to watch at the browser's polling pace


@dataclass
class FinishedRun:
    url: str
    run_id: str
    progress_seen: list[tuple[int, str]]


def progress(driver) -> tuple[int, str]:
    bar = driver.find_element(By.CSS_SELECTOR, "#run-progress .progress-bar")
    return int(float(bar.get_attribute("aria-valuenow") or 0)), driver.find_element(By.ID, "run-progress-words").text


def set_number(driver, element_id: str, value: int) -> None:
    field = driver.find_element(By.ID, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(value))


def press_run_and_watch(driver, timeout: float = RUN_TIMEOUT) -> list[tuple[int, str]]:
    """Click Run and record every distinct progress state until the job settles."""
    driver.find_element(By.ID, "run-button").click()
    seen: list[tuple[int, str]] = []

    def settled(d):
        state = progress(d)
        if not seen or seen[-1] != state:
            seen.append(state)
        return state[1].startswith(("Finished", "Failed", "Stopped", "Cancelled"))

    wait_for(driver, settled, timeout, f"the run never settled; progress seen: {seen}")
    return seen


def songs_drawn(driver) -> bool:
    """The panel on screen after a run, the songs' map, holds its figures."""
    card = driver.find_element(By.ID, "panel-card-pca")
    return card.is_displayed() and len(card.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= 2


@pytest.fixture(scope="module")
def demo_run(app_server) -> FinishedRun:
    """The demo data run once through the browser; later tests reuse its link."""
    with chromium() as driver:
        driver.get(app_server.url)
        visible(driver, "#panel-card-pca .amc-placeholder")
        assert driver.find_element(By.ID, "run-button").is_enabled()
        set_number(driver, "param-k-max", DEMO_K_MAX)
        seen = press_run_and_watch(driver)
        wait_for(driver, lambda d: "run=" in d.current_url, 30, "the URL never carried the run")
        wait_for(driver, songs_drawn, 60, "the songs' map was never drawn")
        driver.save_screenshot(SCREENSHOT)
        run_id = re.search(r"run=(\w+)", driver.current_url).group(1)
        return FinishedRun(driver.current_url, run_id, seen)


def test_a_run_on_the_demo_data_advances_and_draws_every_panel(demo_run):
    values = [value for value, _ in demo_run.progress_seen]
    words = [text for _, text in demo_run.progress_seen]

    assert words[-1].startswith("Finished"), demo_run.progress_seen
    steps = [v for v in values if 0 < v < 100]
    assert steps and steps == sorted(steps), f"progress never advanced step by step: {demo_run.progress_seen}"
    assert any(re.search(r"\bk\s*=?\s*\d", text) for text in words), f"no per-k words: {words}"


def test_the_runs_link_opens_the_same_run_for_a_colleague(demo_run, browser):
    browser.get(demo_run.url)

    facts = visible(browser, "#run-facts")
    assert "demo_songs.csv" in facts.text
    facts.find_element(By.TAG_NAME, "summary").click()  # the parameters are folded away
    wait_for(browser, lambda d: demo_run.run_id in d.find_element(By.ID, "run-facts").text, 30)
    assert "Features" in facts.text
    wait_for(browser, songs_drawn, 60, "the colleague's panels were never drawn")
    assert browser.find_element(By.ID, "run-button").is_enabled()


def test_running_a_stored_run_again_answers_at_once(demo_run, browser):
    browser.get(demo_run.url.split("?")[0])
    visible(browser, "#panel-card-pca .amc-placeholder")
    set_number(browser, "param-k-max", DEMO_K_MAX)

    browser.find_element(By.ID, "run-button").click()

    wait_for(browser, lambda d: demo_run.run_id in d.current_url, 10, "the stored run was not shown at once")
    assert progress(browser)[1] == "Ready"  # no job was started


def test_a_bad_csv_upload_shows_the_loaders_message_and_the_app_goes_on(app_server, browser, tmp_path):
    bad = tmp_path / "semicolons.csv"
    bad.write_text("id_songs;name_song\nabc;A song\n")
    browser.get(app_server.url)
    visible(browser, "#panel-card-pca")

    file_input(browser, "#upload").send_keys(str(bad))

    alert = visible(browser, "#upload-refusal")
    assert "semicolons.csv" in alert.text and "semicolon" in alert.text.split(":", 1)[1]
    alert.find_element(By.CSS_SELECTOR, ".btn-close").click()
    wait_for(browser, lambda d: not d.find_elements(By.ID, "upload-refusal"), 10, "the alert did not go away")
    options = [o.text for o in Select(browser.find_element(By.ID, "dataset-picker")).options]
    assert options and all("semicolons.csv" not in text for text in options)


def test_a_running_job_can_be_cancelled(app_server, browser):
    browser.get(app_server.url)
    visible(browser, "#panel-card-pca")
    set_number(browser, "param-k-min", 2)
    set_number(browser, "param-k-max", 50)
    set_number(browser, "param-seed", 7)

    browser.find_element(By.ID, "run-button").click()
    wait_for(browser, lambda d: 0 < progress(d)[0] < 100, RUN_TIMEOUT, "the long run never reported progress")
    assert not browser.find_element(By.ID, "run-button").is_enabled()
    browser.find_element(By.ID, "cancel-button").click()

    wait_for(browser, lambda d: progress(d)[1].startswith("Cancelled"), 30, f"not cancelled: {progress(browser)}")
    wait_for(browser, lambda d: d.find_element(By.ID, "run-button").is_enabled(), 10, "Run stayed disabled")
    assert not browser.find_element(By.ID, "cancel-button").is_enabled()
    assert not browser.find_elements(By.CSS_SELECTOR, "#job-alert .alert")
    assert "run=" not in browser.current_url


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """A server with tight limits: 2 s per run, 1 MB per upload."""
    with serve(tmp_path_factory.mktemp("strict-cache"), AMC_JOB_TIME_LIMIT="2", AMC_MAX_UPLOAD_MB="1") as server:
        yield server


def test_a_run_over_the_time_limit_ends_in_an_alert(strict_server, browser):
    browser.get(strict_server.url)
    visible(browser, "#panel-card-pca")
    set_number(browser, "param-k-max", 50)

    seen = press_run_and_watch(browser)

    assert seen[-1][1] == "Failed"
    alert = visible(browser, "#job-alert .alert-danger")
    assert "time limit of 2 s" in alert.text
    assert browser.find_element(By.ID, "run-button").is_enabled()


def test_the_browser_refuses_a_file_over_the_limit_and_a_good_one_is_chosen(strict_server, browser, tmp_path,
                                                                             sample_csv):
    huge = tmp_path / "huge.csv"
    huge.write_bytes(sample_csv.read_bytes() + b" " * 2**20)
    browser.get(strict_server.url)
    visible(browser, "#panel-card-pca")
    upload_field = file_input(browser, "#upload")

    upload_field.send_keys(str(huge))
    size = huge.stat().st_size / 2**20
    refusal = f"huge.csv: {size:.1f} MB is more than the upload limit of 1 MB; it was not sent"
    assert refusal in visible(browser, "#upload-refusal").text

    upload_field.send_keys(str(sample_csv))
    picker = Select(browser.find_element(By.ID, "dataset-picker"))
    wait_for(browser, lambda d: picker.first_selected_option.text == f"{sample_csv.name} · 651 songs · Uploaded", 30,
             "the uploaded file was not chosen")
    assert "Loaded" in visible(browser, "#upload-alert .alert-success").text


def test_an_upload_of_more_than_a_callbacks_megabyte_goes_through(app_server, browser, tmp_path):
    # The demo file as a data URL is 1.3 MB: over the 1 MB every other callback is held to.
    demo = Path(__file__).resolve().parents[1] / "data" / "demo_songs.csv"
    bigger = tmp_path / "more_songs.csv"
    bigger.write_bytes(demo.read_bytes() + b"\n")
    browser.get(app_server.url)
    visible(browser, "#panel-card-pca")
    file_input(browser, "#upload").send_keys(str(bigger))
    picker = Select(browser.find_element(By.ID, "dataset-picker"))
    wait_for(browser, lambda d: picker.first_selected_option.text.startswith("more_songs.csv · 5,000 songs"), 60,
             "the upload was not chosen")


def test_every_feature_checkbox_and_its_name_sit_inside_the_sidebar(app_server, browser):
    browser.get(app_server.url)
    visible(browser, "#param-features")
    outside = browser.execute_script("""
        const sidebar = document.querySelector('.amc-controls .card-body').getBoundingClientRect();
        return [...document.querySelectorAll('#param-features input, #param-features label')]
            .map((element) => [element.textContent || element.value, element.getBoundingClientRect()])
            .filter(([, box]) => box.width === 0 || box.left < sidebar.left || box.right > sidebar.right)
            .map(([name]) => name);""")
    assert outside == []


def test_two_users_starting_the_same_run_at_once_both_get_it(app_server):
    with chromium() as alice, chromium() as bob:
        for driver in (alice, bob):
            driver.get(app_server.url)
            visible(driver, "#panel-card-pca")
            set_number(driver, "param-k-max", 9)
            set_number(driver, "param-seed", 11)

        alice.find_element(By.ID, "run-button").click()
        bob.find_element(By.ID, "run-button").click()

        for driver in (alice, bob):
            wait_for(driver, lambda d: "run=" in d.current_url, RUN_TIMEOUT, f"no result: {progress(driver)}")
        assert alice.current_url.split("?")[1] == bob.current_url.split("?")[1]
        for driver in (alice, bob):
            wait_for(driver, songs_drawn, 60, "the panels were never drawn")


IN_VIEW = """const box = document.getElementById(arguments[0]).getBoundingClientRect();
return box.top >= 0 && box.bottom <= window.innerHeight && box.left >= 0 && box.right <= window.innerWidth
       && box.width > 0;"""


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_run_progress_and_status_stay_in_sight_with_any_panel_scrolled(demo_run, size):
    with chromium() as driver:
        driver.set_window_size(*size)
        driver.get(with_panel(demo_run.url, "playlist"))
        visible(driver, "#panel-card-playlist .ag-row")
        page_height = driver.execute_script("return document.documentElement.scrollHeight")
        assert page_height < 3 * 1080, f"the page is one long column again ({page_height} px)"
        driver.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
        for part in ("run-button", "cancel-button", "run-progress", "run-progress-words"):
            assert driver.execute_script(IN_VIEW, part), f"{part} left the screen at {size}"
        tabs = driver.find_elements(By.CSS_SELECTOR, "#panel-tabs .nav-link")
        assert len(tabs) >= 7  # every panel one click away
        driver.save_screenshot(f"/tmp/amc-shell-{size[0]}x{size[1]}.png")


def test_an_upload_is_removed_after_a_confirmation_and_its_run_says_its_songs_are_gone(app_server, browser,
                                                                                       sample_csv, tmp_path):
    mine = tmp_path / "to-remove.csv"
    mine.write_bytes(sample_csv.read_bytes())
    browser.get(app_server.url)
    visible(browser, "#panel-card-pca")
    file_input(browser, "#upload").send_keys(str(mine))
    picker = Select(browser.find_element(By.ID, "dataset-picker"))
    wait_for(browser, lambda d: picker.first_selected_option.text.startswith("to-remove.csv"), 30)
    set_number(browser, "param-k-max", 4)
    browser.find_element(By.ID, "run-button").click()
    wait_for(browser, lambda d: "run=" in d.current_url, RUN_TIMEOUT, "the upload's run never finished")
    link = browser.current_url

    remove = browser.find_element(By.ID, "remove-dataset-button")
    wait_for(browser, lambda d: remove.is_enabled(), 10, "an upload could not be removed")
    remove.click()
    wait_for(browser, lambda d: d.switch_to.alert, 10, "no confirmation was asked").dismiss()
    assert picker.first_selected_option.text.startswith("to-remove.csv")  # nothing removed without a yes
    remove.click()
    wait_for(browser, lambda d: d.switch_to.alert, 10, "no confirmation was asked").accept()

    alert = visible(browser, "#upload-alert .alert-info")
    assert "Removed to-remove.csv (651 songs)" in alert.text
    assert all("to-remove.csv" not in option.text for option in picker.options)
    browser.get(link)
    message = visible(browser, "#panel-card-pca .alert-warning")
    assert "the songs of to-remove.csv are no longer stored" in message.text
