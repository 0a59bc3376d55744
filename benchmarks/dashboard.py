"""Dashboard speed on a stored run: panel callbacks server-side, the PCA scatter's bytes, its draw in Chromium.

    python -m benchmarks.dashboard                      # 96k generated songs, 20 calls per callback
    python -m benchmarks.dashboard --rows 20000 --calls 10 --no-browser
    python -m benchmarks.dashboard --compress           # as with Dash(compress=True) (needs flask-compress)

The demo generator's songs are loaded, analysed (``run_analysis``) and stored (``ResultsStore``)
once; ``create_app`` then serves that store. Callbacks are posted to ``/_dash-update-component``
through the app's own Flask server, the way the browser's renderer posts them, with the values the
drawn panels hold; the time is the server's whole answer (callback, JSON encoding, compression).
The draw is timed in headless Chromium against the same app on a loopback port: from the moment the
largest callback answer arrived to plotly's ``plotly_afterplot`` on the PCA scatter holding every song.
Prints a table and writes ``benchmarks/results/dashboard-<UTC date>.json``.
"""
from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import numpy as np

from dash._utils import clean_property_name, split_callback_id
from werkzeug.serving import WSGIRequestHandler, make_server

from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.result import RunParams
from benchmarks import machine, write_results
from benchmarks.load import collect_values
from dashboard.app import create_app
from dashboard.config import Config
from dashboard.store import ResultsStore
from data.generate_demo import generate, save

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
DATA_SEED = 7
TARGET_P95_SECONDS = 0.100
TARGET_PCA_BYTES = 5_000_000
TARGET_DRAW_SECONDS = 2.0
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DRAW_TIMEOUT = 120
UPDATE_ROUTE = "/_dash-update-component"
RUN_STATE = "run-state.data"
NAMES = "run-names.data"
PANELS = ("pca", "elbow", "silhouette", "heatmap", "naming", "artists", "playlist")
PCA_SCATTER = '{"panel":"pca","part":"scatter"}'


def part(panel: str, name: str, **keys) -> str:
    """A pattern-matching component id as Dash writes it: JSON with sorted keys."""
    return json.dumps({"panel": panel, "part": name, **keys}, sort_keys=True, separators=(",", ":"))


def host_part(kind: str, panel: str) -> str:
    """The shell's own per-panel components: its view store ("view") and its body ("body")."""
    return json.dumps({"host": kind, "panel": panel}, sort_keys=True, separators=(",", ":"))


def show(page: "DashPage", panel: str, state: dict) -> "Answer":
    """What the page asks when a panel's tab is clicked: the panel's drawing at the run and k shown."""
    shown = {key: state[key] for key in ("dataset_id", "run_id", "k")}
    return page.post(f"{host_part('body', panel)}.children", f"{host_part('view', panel)}.data",
                     {f"{host_part('view', panel)}.data": shown})


@dataclass(frozen=True)
class StoredRun:
    config: Config
    state: dict  # the browser's run-state for the run at its chosen k
    rows: int
    seconds: float  # the analysis, for the record
    plane: np.ndarray  # the run's PCA coordinates, where a lasso is drawn


def store_demo_run(n_rows: int, cache_dir: Path) -> StoredRun:
    """Generate ``n_rows`` demo songs, analyse them with the dashboard's default parameters and store both."""
    csv_path = cache_dir / f"songs-{n_rows}.csv"
    save(generate(n_rows, seed=DATA_SEED), csv_path)
    dataset = load_csv(csv_path)
    params = RunParams()
    started = time.perf_counter()
    result = run_analysis(dataset, params)
    seconds = time.perf_counter() - started
    config = Config(cache_dir=cache_dir)
    store = ResultsStore.from_config(config)
    store.put_dataset(dataset)
    store.put_run(result)
    state = {"dataset_id": dataset.fingerprint, "run_id": result.run_id, "k": result.chosen_k,
             "names_version": store.get_names(result.run_id, result.chosen_k).version}
    return StoredRun(config, state, dataset.report.rows_kept, seconds, result.pca.coords)


class DashPage:
    """One page's view of the app: the component values it holds, and callbacks posted as its renderer would."""

    def __init__(self, app, accept_encoding: str = "identity") -> None:
        self.app = app
        self.client = app.server.test_client()
        self.headers = {"Accept-Encoding": accept_encoding}
        self.values: dict[str, object] = {}
        self.client.get("/")  # the first request sets the app up

    def post(self, output: str, trigger: str, changes: dict[str, object] | None = None,
             changed: str | None = None) -> "Answer":
        """Fire the callback writing ``output`` on ``trigger`` ("id.prop", a wildcard id for a pattern input).

        ``changes`` are values the user has just set; ``changed`` names the concrete prop that changed
        when ``trigger`` is a pattern.
        """
        self.values.update(changes or {})
        key = self._callback(output, trigger)
        info = self.app.callback_map[key]
        targets = split_callback_id(key)
        outputs = [{"id": _parsed(t["id"]), "property": clean_property_name(t["property"])}
                   for t in (targets if isinstance(targets, list) else [targets])]
        body = {
            "output": key,
            "outputs": outputs if isinstance(targets, list) else outputs[0],
            "inputs": [self._dependency(d) for d in info["inputs"]],
            "state": [self._dependency(d) for d in info["state"]],
            "changedPropIds": [changed or trigger],
        }
        started = time.perf_counter()
        answer = self.client.post(UPDATE_ROUTE, json=body, headers=self.headers)
        seconds = time.perf_counter() - started
        sent = answer.get_data()
        if answer.status_code not in (200, 204):
            raise RuntimeError(f"{output} on {trigger} answered {answer.status_code}: {sent[:300]!r}")
        raw = gzip.decompress(sent) if answer.headers.get("Content-Encoding") == "gzip" else sent
        response = json.loads(raw)["response"] if answer.status_code == 200 else {}
        for component, props in response.items():
            for prop, value in props.items():
                self.values[f"{component}.{prop}"] = value
                collect_values(value, self.values)
        return Answer(seconds, len(raw), len(sent), response)

    def _callback(self, output: str, trigger: str) -> str:
        for key, info in self.app.callback_map.items():
            if info.get("no_output"):
                continue  # writes nothing: a panel warming its cache
            targets = split_callback_id(key)
            written = {f"{t['id']}.{clean_property_name(t['property'])}"
                       for t in (targets if isinstance(targets, list) else [targets])}
            if output in written and trigger in {f"{i['id']}.{i['property']}" for i in info["inputs"]}:
                return key
        raise LookupError(f"no callback writes {output} on {trigger}")

    def _dependency(self, dependency: dict) -> dict | list[dict]:
        wanted = _parsed(dependency["id"])
        prop = dependency["property"]
        if isinstance(wanted, dict) and ["ALL"] in wanted.values():
            fixed = {k: v for k, v in wanted.items() if v != ["ALL"]}
            return [{"id": found, "property": prop, "value": self.values.get(f"{key}.{prop}")}
                    for key, found in self._components() if fixed.items() <= found.items()]
        return {"id": wanted, "property": prop, "value": self.values.get(f"{dependency['id']}.{prop}")}

    def _components(self):
        seen = {key.rsplit(".", 1)[0] for key in self.values}
        return sorted((key, json.loads(key)) for key in seen if key.startswith("{"))


@dataclass(frozen=True)
class Answer:
    seconds: float
    raw_bytes: int
    sent_bytes: int  # as transferred: compressed when the server compresses
    response: dict


def _parsed(component_id: str):
    return json.loads(component_id) if component_id.startswith("{") else component_id


def time_callbacks(page: DashPage, state: dict, calls: int, plane: np.ndarray) -> dict[str, list[Answer]]:
    """Every panel callback ``calls`` times, each call a change a user could make; ``plane`` is the run's
    PCA coordinates, where the lassos are drawn."""
    ks = sorted(int(option["value"]) for option in page.values[f"{part('elbow', 'k')}.options"])
    features = [option["value"] for option in page.values[f"{part('heatmap', 'feature')}.options"]]
    clusters = list(range(state["k"]))
    artists = sorted({row["name_artists"] for row in page.values[f"{part('playlist', 'grid')}.rowData"]})
    timings: dict[str, list[Answer]] = {name: [] for name in (
        "k switch", "rename", "feature change", "artist search", "playlist filter", "more like this",
        "panel draw", "lasso")}
    for call in range(calls):
        other_k = ks[call % len(ks)] if ks[call % len(ks)] != state["k"] else ks[(call + 1) % len(ks)]
        timings["k switch"].append(page.post(RUN_STATE, f"{part('elbow', 'wanted-k')}.data",
                                             {f"{part('elbow', 'wanted-k')}.data": other_k, RUN_STATE: state}))
        timings["rename"].append(_rename(page, state, call))
        state = page.values[RUN_STATE]
        feature = features[call % len(features)]
        timings["feature change"].append(page.post(f"{part('heatmap', 'distribution')}.figure",
                                                   f"{part('heatmap', 'feature')}.value",
                                                   {f"{part('heatmap', 'feature')}.value": feature}))
        query = artists[call % len(artists)][:4]
        timings["artist search"].append(page.post(f"{part('artists', 'found')}.children",
                                                  f"{part('artists', 'search')}.value",
                                                  {f"{part('artists', 'search')}.value": query}))
        chosen = clusters[call % len(clusters):][:2]
        timings["playlist filter"].append(page.post(f"{part('playlist', 'grid')}.rowData",
                                                    f"{part('playlist', 'clusters')}.value",
                                                    {f"{part('playlist', 'clusters')}.value": chosen}))
        picked = int(page.values[f"{part('playlist', 'grid')}.rowData"][0]["row"])
        timings["more like this"].append(page.post(f"{part('playlist', 'grid')}.rowData",
                                                   f"{part('playlist', 'like-row')}.data",
                                                   {f"{part('playlist', 'like-row')}.data": picked}))
        page.values[f"{part('playlist', 'like-row')}.data"] = None
        page.values[f"{host_part('drawn', 'heatmap')}.data"] = None  # a panel the user has not shown at this k
        timings["panel draw"].append(show(page, "heatmap", state))
        timings["lasso"].append(page.post(f"{part('pca', 'selected')}.children", f"{part('pca', 'shape')}.data",
                                          {f"{part('pca', 'shape')}.data": lasso(plane, call, clusters)}))
    return timings


def lasso(plane: np.ndarray, call: int, clusters: list[int], vertices: int = 300) -> dict:
    """What ``amc_pca.shape`` sends for a freehand lasso of ``vertices`` points around a third of the songs,
    a little elsewhere on every call, every cluster shown."""
    centre = np.median(plane[:, :2], axis=0) + 0.25 * np.std(plane[:, :2], axis=0) * np.array(
        [np.cos(call), np.sin(call)])
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    radius = np.std(plane[:, :2], axis=0) * (0.8 + 0.15 * np.sin(7 * angles))[:, None]
    points = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return {"selected": {"lassoPoints": {"x": points[:, 0].tolist(), "y": points[:, 1].tolist()}},
            "clusters": clusters, "at": call}


def _rename(page: DashPage, state: dict, call: int) -> Answer:
    """Save a new name for cluster 0, built on the names version the page shows."""
    name_key = f"{part('naming', 'name', cluster=0)}.value"
    clicks_key = f"{part('naming', 'save', cluster=0)}.n_clicks"
    changes = {name_key: f"Benchmark name {call}", clicks_key: call + 1,
               f"{part('naming', 'base')}.data": state["names_version"], RUN_STATE: state}
    pattern = json.dumps({"cluster": ["ALL"], "panel": "naming", "part": "save"}, separators=(",", ":"))
    return page.post(RUN_STATE, f"{pattern}.n_clicks", changes, changed=clicks_key)


def pca_payload(page: DashPage) -> dict:
    """The PCA scatter's bytes as they reach the browser from its own route."""
    source = page.values[f"{part('pca', 'source')}.data"]  # the drawn panel holds the songs' link
    url = urljoin("/", source["url"])
    started = time.perf_counter()
    sent = page.client.get(url, headers={"Accept-Encoding": "gzip"}).get_data()
    first = time.perf_counter() - started
    started = time.perf_counter()
    page.client.get(url, headers={"Accept-Encoding": "gzip"}).get_data()
    again = time.perf_counter() - started
    raw = page.client.get(url, headers={"Accept-Encoding": "identity"}).get_data()
    return {"carrier": "own route", "raw_bytes": len(raw), "sent_bytes": len(sent),
            "first_request_ms": round(1000 * first, 1), "cached_request_ms": round(1000 * again, 1)}


# Chromium: plotly's afterplot on the PCA scatter once it holds every song, against the largest callback answer.
DRAW_PROBE = """
window.__amcDraw = {afterplot: null};
new MutationObserver(() => {
    const gd = document.getElementById('%(scatter)s')?.querySelector('.js-plotly-plot');
    if (!gd || !gd.on || gd.__amcProbe) return;
    gd.__amcProbe = true;
    gd.on('plotly_afterplot', () => {
        const songs = (gd._fullData || []).reduce((sum, trace) => sum + (trace._length || 0), 0);
        if (songs >= %(songs)d && window.__amcDraw.afterplot === null) window.__amcDraw.afterplot = performance.now();
    });
}).observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['class']});
"""
DRAW_READ = """
const entries = performance.getEntriesByType('resource');
const pick = (test) => entries.filter(test).sort((a, b) => b.decodedBodySize - a.decodedBodySize)[0] || null;
const area = pick(e => e.name.includes('_dash-update-component'));
const pca = pick(e => e.name.includes('pca'));
const shape = (e) => e && {responseEnd: e.responseEnd, transferSize: e.transferSize,
                           decodedBodySize: e.decodedBodySize};
return {afterplot: window.__amcDraw.afterplot, panelArea: shape(area), pcaRoute: shape(pca)};
"""


def time_draw(url: str, songs: int, repeats: int) -> list[dict]:
    """Open the run's link ``repeats`` times in a fresh headless Chromium and time the PCA scatter's draw."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    draws = []
    for _ in range(repeats):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            probe = DRAW_PROBE % {"scatter": PCA_SCATTER.replace('"', '\\"').replace("'", "\\'"), "songs": songs}
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": probe})
            driver.get(url)
            WebDriverWait(driver, DRAW_TIMEOUT, poll_frequency=0.05).until(
                lambda d: d.execute_script("return window.__amcDraw.afterplot"), "the PCA scatter was never drawn")
            seen = driver.execute_script(DRAW_READ)
        finally:
            driver.quit()
        arrived = max(entry["responseEnd"] for entry in (seen["panelArea"], seen["pcaRoute"]) if entry)
        draws.append({"from_navigation_s": seen["afterplot"] / 1000,
                      "after_response_s": (seen["afterplot"] - arrived) / 1000,
                      "panel_area": seen["panelArea"], "pca_route": seen["pcaRoute"]})
    return draws


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *_args) -> None:
        """The table is the report; a line per request would bury it."""


class LoopbackServer:
    """The app on a free loopback port in a thread of this process, for Chromium."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app.server, threaded=True, request_handler=_QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def run_dashboard_benchmark(n_rows: int = 96_000, repeats: int = 20, browser: bool = True, compress: bool = False,
                            draw_repeats: int = 3, cache_dir: Path | None = None) -> dict:
    """Store a demo run of ``n_rows`` songs and measure the dashboard on it; returns the figures as a dict.

    ``compress`` turns on what ``Dash(compress=True)`` turns on (flask-compress, gzip) to measure it.
    """
    with tempfile.TemporaryDirectory(prefix="amc-dash-bench-") as scratch:
        stored = store_demo_run(n_rows, Path(cache_dir or scratch))
        app = create_app(stored.config)
        if compress:
            app.backend.enable_compression()
        page = DashPage(app, "gzip" if compress else "identity")
        page.values[RUN_STATE] = stored.state
        page.post(NAMES, RUN_STATE)
        first = show(page, "pca", stored.state)
        for panel in PANELS[1:]:
            show(page, panel, stored.state)
        page.post(f"{part('playlist', 'grid')}.rowData", NAMES)  # the table the page fills once drawn
        timings = time_callbacks(page, stored.state, repeats, stored.plane)
        result = {
            "rows": stored.rows,
            "k": stored.state["k"],
            "analysis_seconds": round(stored.seconds, 3),
            "compress": compress,
            "calls": repeats,
            "first_panel": {"seconds": round(first.seconds, 4), "raw_bytes": first.raw_bytes,
                            "sent_bytes": first.sent_bytes},
            "callbacks": {name: summarise(answers) for name, answers in timings.items()},
            "pca": pca_payload(page),
            "machine": machine.describe(),
        }
        if browser:
            link = f"/?run={stored.state['run_id']}&k={stored.state['k']}"
            with LoopbackServer(app) as base:
                result["draw"] = time_draw(base + link, stored.rows, draw_repeats)
        result["targets"] = verdicts(result)
        return result


def summarise(answers: list[Answer]) -> dict:
    seconds = sorted(answer.seconds for answer in answers)
    return {"p50_ms": round(1000 * statistics.median(seconds), 2), "p95_ms": round(1000 * _percentile(seconds, 95), 2),
            "max_ms": round(1000 * seconds[-1], 2),
            "raw_bytes_median": int(statistics.median(a.raw_bytes for a in answers)),
            "sent_bytes_median": int(statistics.median(a.sent_bytes for a in answers))}


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def verdicts(result: dict) -> dict:
    pca = result["pca"]
    pca_sent = pca.get("sent_bytes") if "sent_bytes" in pca else (
        pca["gzip_bytes"] if result["compress"] else pca["raw_bytes"])
    verdict = {f"{name} p95 < {TARGET_P95_SECONDS * 1000:.0f} ms": row["p95_ms"] < TARGET_P95_SECONDS * 1000
               for name, row in result["callbacks"].items()}
    verdict[f"PCA < {TARGET_PCA_BYTES / 1e6:.0f} MB as transferred"] = pca_sent < TARGET_PCA_BYTES
    if "draw" in result:
        worst = max(draw["after_response_s"] for draw in result["draw"])
        verdict[f"PCA draw < {TARGET_DRAW_SECONDS:.0f} s"] = worst < TARGET_DRAW_SECONDS
    return verdict


def table(result: dict) -> str:
    lines = [f"Dashboard on {result['rows']:,} songs, k={result['k']}, compress={result['compress']}, "
             f"{result['calls']} calls per callback",
             f"{'callback':<20}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'answer bytes':>15}{'sent bytes':>13}"]
    for name, row in result["callbacks"].items():
        lines.append(f"{name:<20}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{row['max_ms']:>10.1f}"
                     f"{row['raw_bytes_median']:>15,}{row['sent_bytes_median']:>13,}")
    pca = result["pca"]
    lines.append("PCA scatter via the " + pca["carrier"] + ": "
                 + ", ".join(f"{key} {value:,}" for key, value in pca.items() if key != "carrier"))
    for draw in result.get("draw", []):
        lines.append(f"draw in Chromium: {draw['after_response_s']:.2f} s after the answer, "
                     f"{draw['from_navigation_s']:.2f} s from navigation")
    lines.extend(f"{'pass' if ok else 'MISS'}  {target}" for target, ok in result["targets"].items())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=96_000)
    parser.add_argument("--calls", type=int, default=20, help="calls per callback")
    parser.add_argument("--draws", type=int, default=3, help="page loads timed in Chromium")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium draw")
    parser.add_argument("--compress", action="store_true", help="gzip answers as Dash(compress=True) does")
    args = parser.parse_args(argv)
    result = run_dashboard_benchmark(args.rows, args.calls, browser=not args.no_browser, compress=args.compress,
                                     draw_repeats=args.draws)
    print(table(result))
    path = write_results(result, RESULTS_DIR / f"dashboard-{time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())}.json")
    print(f"written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
