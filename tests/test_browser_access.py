"""The dashboard as a keyboard and screen-reader user meets it, in headless Chromium after a run: an axe-core
check of every panel, the keyboard path to Run, to a rename field and to Export CSV, no cloud in any
modebar, and no text cut in the pickers at laptop and desktop sizes."""
from __future__ import annotations

from pathlib import Path

import pytest
from browser import (  # noqa: F401 (fixtures)
    app_server,
    chromium,
    demo_run_url,
    show_panel,
    visible,
    wait_for,
    with_panel,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PANELS = ("pca", "elbow", "silhouette", "heatmap", "naming", "artists", "playlist", "new_songs", "compare")
# From the start of a section to any of its controls, at most this many presses of Tab.
SECTION_REACH = 15
CLOUD_WORDS = ("share", "cloud", "chart studio", "publish", "plotly.com", "plot.ly")


def axe_violations(driver) -> list[dict]:
    """Serious and critical violations axe-core finds on the page as it is now (WCAG 2 A and AA rules)."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))));")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def page(demo_run_url):
    assert AXE.is_file(), f"axe-core is missing at {AXE}: `make test` installs it"
    with chromium() as driver:
        driver.set_window_size(1366, 768)
        driver.set_script_timeout(60)
        driver.get(demo_run_url)
        visible(driver, "#panel-card-pca .js-plotly-plot")
        yield driver


def test_no_panel_has_a_serious_accessibility_violation(page):
    problems = {}
    for panel in PANELS:
        show_panel(page, panel)
        wait_for(page, lambda d: not d.find_elements(By.CSS_SELECTOR, f"#panel-card-{panel} .amc-placeholder"), 30)
        found = axe_violations(page)
        if found:
            problems[panel] = found
    assert not problems, "\n".join(f"{panel}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
                                    for panel, found in problems.items() for v in found)


def focused_id(driver) -> str:
    return driver.execute_script("const e = document.activeElement; return e ? (e.id || e.textContent.trim()) : ''")


def press(driver, *keys) -> None:
    """Keys as the keyboard sends them, to whatever has the focus (a file field too)."""
    ActionChains(driver).send_keys(*keys).perform()


def tab_until(driver, wanted, limit: int) -> int:
    """Press Tab until ``wanted(element id or text)`` holds; how many presses it took."""
    for presses in range(1, limit + 1):
        press(driver, Keys.TAB)
        if wanted(focused_id(driver)):
            return presses
    raise AssertionError(f"not reached within {limit} presses of Tab; focus is on {focused_id(driver)!r}")


def test_the_keyboard_reaches_run_a_rename_field_and_export_within_a_few_presses(page):
    naming = with_panel(page.current_url, "naming")
    page.get(naming)
    visible(page, "[id*='\"part\":\"name\"']")
    assert tab_until(page, lambda focused: focused == "run-button", 5) <= 3  # skip link, title, Run

    # The skip link leads past the sidebar to the panels; from there each section's controls are near.
    page.get(naming)
    visible(page, "[id*='\"part\":\"name\"']")
    press(page, Keys.TAB)
    assert focused_id(page) == "Skip to the panels"
    press(page, Keys.ENTER)
    to_name = tab_until(page, lambda focused: '"part":"name"' in focused, 40)
    assert to_name <= len(PANELS) + SECTION_REACH

    # Saving with Enter keeps the focus in the field the user typed in.
    press(page, Keys.CONTROL, "a")
    press(page, "Typed with the keyboard", Keys.ENTER)
    history = page.find_element(By.CSS_SELECTOR, "[id='{\"panel\":\"naming\",\"part\":\"history\"}']")
    wait_for(page, lambda d: "Typed with the keyboard" in history.text, 30, "Enter did not save")
    assert '"part":"name"' in focused_id(page)

    page.get(with_panel(page.current_url, "playlist"))
    visible(page, "#panel-card-playlist .ag-row")
    page.find_element(By.ID, "panel-tabs").find_element(By.CSS_SELECTOR, ".amc-tab-playlist").click()
    # The grid is one stop on the way: Export CSV comes right after it, not a thousand cells later.
    to_export = tab_until(page, lambda focused: focused == "Export CSV" or "export-csv" in focused, 40)
    assert to_export <= 2 * SECTION_REACH


def test_every_control_shows_where_the_focus_is(page):
    press(page, Keys.TAB)
    for _ in range(25):
        outline = page.execute_script(
            "const s = getComputedStyle(document.activeElement);"
            "return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 || s.boxShadow !== 'none';")
        assert outline, f"focus is invisible on {focused_id(page)!r}"
        press(page, Keys.TAB)


def test_no_modebar_offers_to_send_a_chart_anywhere(page):
    titles = set()
    for panel in ("pca", "elbow", "silhouette", "heatmap"):
        show_panel(page, panel)
        wait_for(page, lambda d: d.find_elements(By.CSS_SELECTOR, f"#panel-card-{panel} .modebar-btn"), 30)
        for button in page.find_elements(By.CSS_SELECTOR, f"#panel-card-{panel} .modebar-btn, "
                                                          f"#panel-card-{panel} .modebar a"):
            titles.add((button.get_attribute("data-title") or button.get_attribute("href") or "").lower())
            assert button.get_attribute("tabindex") == "-1", "a modebar button is in the tab order"
    assert titles and not [t for t in titles if any(word in t for word in CLOUD_WORDS)], titles


CUT_TEXT = """
const cut = [];
for (const select of document.querySelectorAll('select')) {
    if (!select.offsetParent) continue;
    const style = getComputedStyle(select);
    const context = document.createElement('canvas').getContext('2d');
    context.font = style.font;
    const text = select.options[select.selectedIndex] ? select.options[select.selectedIndex].text : '';
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (context.measureText(text).width > room) cut.push(select.id + ': ' + text);
}
for (const value of document.querySelectorAll('.dash-dropdown-value')) {
    if (value.offsetParent && value.scrollWidth > value.clientWidth + 1) cut.push(value.textContent);
}
return cut;
"""


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_no_picker_cuts_its_text(demo_run_url, size):
    with chromium() as driver:
        driver.set_window_size(*size)
        for panel in ("pca", "elbow", "heatmap", "playlist", "compare"):
            driver.get(with_panel(demo_run_url, panel))
            visible(driver, f"#panel-card-{panel}")
            wait_for(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, f"#panel-card-{panel} .amc-placeholder"),
                     30)
            assert driver.execute_script(CUT_TEXT) == [], f"cut at {size} on {panel}"


TITLE_UNDER_TOOLBAR = """
const graph = arguments[0];
const title = graph.querySelector('.gtitle').getBoundingClientRect();
const bar = graph.querySelector('.modebar').getBoundingClientRect();
return title.bottom <= bar.top || title.top >= bar.bottom || title.right <= bar.left || title.left >= bar.right;
"""


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_chart_titles_stay_clear_of_the_toolbar(demo_run_url, size):
    with chromium() as driver:
        driver.set_window_size(*size)
        driver.get(with_panel(demo_run_url, "heatmap"))
        sizes = visible(driver, "[id='{\"panel\":\"heatmap\",\"part\":\"sizes\"}'] .modebar")
        graph = sizes.find_element(By.XPATH, "ancestor::div[contains(@class, 'js-plotly-plot')]")
        # The toolbar shows on hover: the title must be clear of it when it does.
        ActionChains(driver).move_to_element(graph).perform()
        assert driver.execute_script(TITLE_UNDER_TOOLBAR, graph), f"the sizes chart's title is under its toolbar at {size}"


TABBABLE_PER_SECTION = """
const tabbable = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea, '
    + '[tabindex]:not([tabindex="-1"])';
// A grid is one stop: its own tab guards take the focus in and, Tab pressed inside, out again.
const stops = (s) => [...s.querySelectorAll(tabbable)].filter(e => e.offsetParent && e.tabIndex >= 0
    && !e.closest('.ag-root-wrapper')).length + s.querySelectorAll('.ag-root-wrapper').length;
return [...document.querySelectorAll('.amc-section, .amc-panel:not(:has(.amc-section))')]
    .filter(s => s.offsetParent).map(s => [(s.querySelector('legend, .card-header') || s).textContent.trim(), stops(s)]);
"""


def test_every_section_s_controls_are_within_fifteen_tab_presses_of_its_start(page):
    for panel in ("elbow", "naming", "playlist"):
        show_panel(page, panel)
        wait_for(page, lambda d: not d.find_elements(By.CSS_SELECTOR, f"#panel-card-{panel} .amc-placeholder"), 30)
        counts = page.execute_script(TABBABLE_PER_SECTION)
        assert counts and all(count <= SECTION_REACH for _, count in counts), counts
