"""``amc cluster``'s report.html as its reader meets it: opened in headless Chromium, every chart drawn.

    python -m benchmarks.report_draw                  # 96k songs grown from the real sample, 5 loads each
    python -m benchmarks.report_draw --rows 20000 --loads 3

The report of 96k grown songs is opened from disk in a fresh Chromium each time; its time is from navigation
to every ``Plotly.newPlot`` it makes having resolved (a probe installed before the page's own scripts
counts them). The reference, measured in the same run, is the browser's floor (``../shared/bench/floor_page.py``)
at as many points as the report's scatter holds: a bare page with the same plotly.js, from navigation to its
charts drawn. Target (issue 12): the report within 2x the floor's whole page.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import write_results
from benchmarks.browser import DRAW_TIMEOUT, Console, chromium, grow_sample, measure_floor, wait_for
from benchmarks.machine import describe
from benchmarks.run import RESULTS_DIR

AMC = Path(sys.executable).parent / "amc"
GROWN_ROWS = 96_000
MAX_RATIO_TO_FLOOR = 2.0
# Installed before any script of the page runs: every Plotly.newPlot is counted, and once the document's
# scripts have all run, the time their promises all resolve is kept in window.amcDrawn.
PLOT_PROBE = """
(() => {
    const pending = [];
    let plotly;
    Object.defineProperty(window, "Plotly", {configurable: true, get: () => plotly, set: (value) => {
        plotly = value;
        const newPlot = value.newPlot;
        value.newPlot = function (...args) {
            const drawn = newPlot.apply(this, args);
            pending.push(drawn);
            return drawn;
        };
    }});
    document.addEventListener("DOMContentLoaded", () => Promise.all(pending).then(() => {
        window.amcDrawn = {at: performance.now(), plots: pending.length};
    }));
})();
"""


def write_report(rows: int, work: Path) -> tuple[Path, int]:
    """The report of ``rows`` grown songs, written by the real command; and how many points its scatter holds."""
    grown = grow_sample(rows, work / f"grown-{rows}.csv")
    out = work / "out"
    subprocess.run([str(AMC), "cluster", str(grown), "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from analysis.report import SCATTER_SONGS

    return out / "report.html", min(rows, SCATTER_SONGS)


def measure_report(report: Path, loads: int, console: Console) -> dict:
    samples = []
    for _ in range(loads):
        with chromium(console, probe=False) as driver:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PLOT_PROBE})
            driver.get(report.as_uri())
            drawn = wait_for(driver, "return window.amcDrawn", timeout=DRAW_TIMEOUT, what="every chart of the report")
        samples.append({"whole_page_s": round(drawn["at"] / 1000, 4), "plots": drawn["plots"]})
    return {"loads": loads, "bytes": report.stat().st_size, "samples": samples,
            "whole_page_s": statistics.median(s["whole_page_s"] for s in samples),
            "whole_page_p95_s": max(s["whole_page_s"] for s in samples)}


def run_report_draw(rows: int, loads: int) -> dict:
    console = Console()
    with tempfile.TemporaryDirectory(prefix="amc-report-draw-") as scratch:
        work = Path(scratch)
        report, points = write_report(rows, work)
        # Taking turns, so that a burst of load elsewhere falls on both sides.
        measured = {"report": [], "floor": []}
        for _ in range(loads):
            measured["report"].append(measure_report(report, 1, console))
            measured["floor"].append(measure_floor(points, work, console, loads=1))
    report_s = sorted(m["whole_page_s"] for m in measured["report"])
    floor_s = sorted(m["whole_page_s"] for m in measured["floor"])
    result = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
        "scatter_points": points,
        "loads": loads,
        "report_bytes": measured["report"][0]["bytes"],
        "plots": measured["report"][0]["samples"][0]["plots"],
        "report_whole_page_s": {"p50": statistics.median(report_s), "max": report_s[-1], "samples": report_s},
        "floor_whole_page_s": {"p50": statistics.median(floor_s), "max": floor_s[-1], "samples": floor_s},
        "browser": console.browser_version,
        "machine": describe(),
    }
    result["ratio_p50"] = round(result["report_whole_page_s"]["p50"] / result["floor_whole_page_s"]["p50"], 3)
    result["verdict"] = "pass" if result["ratio_p50"] <= MAX_RATIO_TO_FLOOR else "MISS"
    return result


def table(result: dict) -> str:
    report, floor = result["report_whole_page_s"], result["floor_whole_page_s"]
    return "\n".join([
        "| measure | report | floor | ratio | target | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| report.html of {result['rows']:,} songs ({result['plots']} charts, {result['scatter_points']:,} points, "
        f"{result['report_bytes'] / 1e6:.1f} MB) opened → every chart drawn, median of {result['loads']} | "
        f"{report['p50']:.2f} s | {floor['p50']:.2f} s | {result['ratio_p50']:.2f}x | "
        f"<= {MAX_RATIO_TO_FLOOR:g}x | {result['verdict']} |",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report_draw", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=GROWN_ROWS, help="songs grown from the real sample")
    parser.add_argument("--loads", type=int, default=5, help="page loads of each side, taking turns")
    parser.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/report-draw-<UTC>.json)")
    args = parser.parse_args(argv)
    result = run_report_draw(args.rows, args.loads)
    out = write_results(result, args.out or RESULTS_DIR / f"report-draw-{result['started'].replace(':', '')}.json")
    print(table(result))
    print(json.dumps({"written": str(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
