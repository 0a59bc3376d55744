"""The shell's clientside functions (assets/amc.js) run in Node: the page's link, and what a link opens."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

AMC_JS = Path(__file__).resolve().parents[1] / "assets" / "amc.js"
NO_UPDATE = "<no update>"

# The script as the page loads it, with the few browser objects it touches at load time.
HARNESS = """
const vm = require("vm");
global.window = {dash_clientside: {no_update: "<no update>"}};
global.MutationObserver = class { observe() {} };
global.document = {documentElement: {}};
global.fetch = (url) => { fetched.push(url); return Promise.resolve({url: url}); };
const fetched = [];
vm.runInThisContext(require("fs").readFileSync(process.argv[2], "utf8"));
const [name, args] = JSON.parse(process.argv[3]);
const result = name === "prefetchThenTake"
    ? (() => { window.dash_clientside.amc.prefetch(args[0]); window.dash_clientside.amc.prefetch(args[0]);
               window.amc.fetchOnce(args[1]); window.amc.fetchOnce(args[1]); return fetched; })()
    : window.dash_clientside.amc[name](...args);
process.stdout.write(JSON.stringify(result === undefined ? null : result));
"""


def call(name: str, *args):
    node = shutil.which("node")
    if node is None:
        message = "node is missing: `make test` installs npm, which brings it"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    finished = subprocess.run([node, "-e", HARNESS, "-", str(AMC_JS), json.dumps([name, list(args)])],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


STATE = {"dataset_id": "d", "run_id": "r", "k": 3, "names_version": 0}


def test_the_page_writes_a_link_to_what_it_shows():
    assert call("linkForState", STATE, "heatmap", None, "") == "?run=r&k=3&panel=heatmap"
    assert call("linkForState", STATE, None, None, "?old") == "?run=r&k=3"
    assert call("linkForState", STATE, "heatmap", None, "?run=r&k=3&panel=heatmap") == NO_UPDATE
    assert call("linkForState", None, "heatmap", None, "") == NO_UPDATE


def test_the_panel_on_screen_adds_its_own_parameters_to_the_link():
    batch = {"new_songs": {"batch": "b1"}, "compare": {"a": "r2"}}
    assert call("linkForState", STATE, "new_songs", batch, "") == "?run=r&k=3&panel=new_songs&batch=b1"
    assert call("linkForState", STATE, "heatmap", batch, "") == "?run=r&k=3&panel=heatmap"


@pytest.mark.parametrize("search", ["?run=r&k=3", "?run=r&k=3&panel=elbow"])
def test_the_link_the_page_wrote_itself_goes_nowhere(search):
    # Not even the tab: a late echo of the link must not take back a tab the user has just chosen.
    assert call("linkOpened", search, STATE) == NO_UPDATE


@pytest.mark.parametrize("search", ["?run=r&k=4", "?run=other&k=3&panel=pca", "?run=r"])
def test_a_link_to_another_run_or_k_goes_to_the_server(search):
    opened = call("linkOpened", search, STATE)
    assert opened["search"] == search and opened["at"] > 0


def test_a_page_without_a_link_asks_nothing():
    assert call("linkOpened", "", None) == NO_UPDATE
    assert call("linkOpened", "?panel=pca", None) == NO_UPDATE


def test_a_link_fetched_ahead_is_fetched_once_and_taken_once():
    # Asked ahead twice (the run state's answer, then the prefetch callback's) and taken by the panel:
    # one fetch ahead, then the panel's second ask is a fetch of its own.
    assert call("prefetchThenTake", ["/_amc/pca/pca.json?run=r&k=3"], "/_amc/pca/pca.json?run=r&k=3") == [
        "/_amc/pca/pca.json?run=r&k=3", "/_amc/pca/pca.json?run=r&k=3"]
