"""``amc cluster`` as its user waits for it: each side a process from its start to its files on disk.

    python -m benchmarks.whole                 # the real sample and 96k songs grown from it, 3 turns each
    python -m benchmarks.whole --rows 20000 --repeats 1

Sides, taking turns so that a burst of load elsewhere falls on all of them:
* ``amc cluster CSV --out DIR`` with its defaults: clustered.csv, summary.json and report.html written;
* the notebook pipeline as a script (``benchmarks.notebook``): imports, the k sweep, clustered.csv;
* the floor every Python data tool pays: ``python -c "import pandas, numpy"``.

This checkout's modules are compiled to bytecode first, as installing a package does: its editable install
would otherwise compile them in every run wherever PYTHONDONTWRITEBYTECODE is set, as on our machine
(0.05 s of ``amc cluster``'s run on the real sample), while pandas and numpy, pip-installed, never do.

Targets (issue 12): at 96k rows ``amc cluster`` is at least 15x faster than the notebook, whole process
against whole process; on the real sample it takes at most 2x the floor. ``amc cluster``'s own
analysis time (``timings`` in its summary.json) is shown beside its whole process.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import write_results
from benchmarks.browser import grow_sample
from benchmarks.machine import describe
from benchmarks.run import REAL_SAMPLE, RESULTS_DIR, ROOT, RUN_SEED

AMC = Path(sys.executable).parent / "amc"
# The installed ``amc`` script runs whatever ``app`` it finds: this checkout's, whichever checkout the package
# was installed from (a git worktree shares one environment with the main checkout).
SIDES_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
GROWN_ROWS = 96_000
MIN_SPEEDUP_OVER_NOTEBOOK = 15.0  # at 96k rows
MAX_RATIO_TO_IMPORT_FLOOR = 2.0  # on the real sample


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=SIDES_ENV)
    return time.perf_counter() - started


def measure(csv: Path, work: Path, repeats: int, notebook: bool) -> dict:
    amc, analysis, notebook_s, floor = [], [], [], []
    for turn in range(repeats):
        out = work / f"amc-{csv.stem}-{turn}"
        amc.append(timed([str(AMC), "cluster", str(csv), "--out", str(out)]))
        analysis.append(json.loads((out / "summary.json").read_text(encoding="utf-8"))["timings"]["total"])
        if notebook:
            notebook_s.append(timed([sys.executable, "-m", "benchmarks.notebook", str(csv),
                                     str(work / f"notebook-{csv.stem}-{turn}"), str(RUN_SEED)]))
        floor.append(timed([sys.executable, "-c", "import pandas, numpy"]))
    entry = {
        "csv": csv.name,
        "amc_cluster_s": statistics.median(amc),
        "amc_analysis_s": statistics.median(analysis),
        "import_floor_s": statistics.median(floor),
        "samples": {"amc_cluster_s": amc, "import_floor_s": floor},
    }
    entry["ratio_to_import_floor"] = entry["amc_cluster_s"] / entry["import_floor_s"]
    if notebook:
        entry["notebook_s"] = statistics.median(notebook_s)
        entry["samples"]["notebook_s"] = notebook_s
        entry["speedup_over_notebook"] = entry["notebook_s"] / entry["amc_cluster_s"]
    return entry


def compile_checkout() -> None:
    """Bytecode for this checkout's modules that the sides import, as installing a package writes it."""
    for folder in ("analysis", "benchmarks"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    compileall.compile_file(ROOT / "app.py", quiet=1)


def run_whole(rows: int, repeats: int) -> dict:
    compile_checkout()
    with tempfile.TemporaryDirectory(prefix="amc-whole-") as scratch:
        work = Path(scratch)
        grown = grow_sample(rows, work / f"grown-{rows}.csv")
        return {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "repeats": repeats,
            "bytecode": "this checkout's compiled before timing, as an installed package has it",
            "machine": describe(),
            "real_sample": measure(REAL_SAMPLE, work, repeats, notebook=False),
            "grown": {"rows": rows, **measure(grown, work, repeats, notebook=True)},
        }


def verdict(met: bool) -> str:
    return "pass" if met else "MISS"


def table(report: dict) -> str:
    sample, grown = report["real_sample"], report["grown"]
    lines = [
        "| measure | figure | ratio | target | verdict |",
        "| --- | --- | --- | --- | --- |",
        f"| `amc cluster`, {grown['rows']:,} grown songs, whole process | {grown['amc_cluster_s']:.2f} s "
        f"(analysis {grown['amc_analysis_s']:.2f} s) | {grown['speedup_over_notebook']:.1f}x faster than the "
        f"notebook's {grown['notebook_s']:.1f} s | >= {MIN_SPEEDUP_OVER_NOTEBOOK:g}x | "
        f"{verdict(grown['speedup_over_notebook'] >= MIN_SPEEDUP_OVER_NOTEBOOK)} |",
        f"| `amc cluster`, the real sample, whole process | {sample['amc_cluster_s']:.2f} s "
        f"(analysis {sample['amc_analysis_s']:.2f} s) | {sample['ratio_to_import_floor']:.2f}x "
        f"`import pandas, numpy` ({sample['import_floor_s']:.2f} s) | <= {MAX_RATIO_TO_IMPORT_FLOOR:g}x | "
        f"{verdict(sample['ratio_to_import_floor'] <= MAX_RATIO_TO_IMPORT_FLOOR)} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whole", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=GROWN_ROWS, help="songs grown from the real sample")
    parser.add_argument("--repeats", type=int, default=3, help="turns of each side; medians are reported")
    parser.add_argument("--out", type=Path, help="JSON to write (default benchmarks/results/whole-<UTC time>.json)")
    args = parser.parse_args(argv)
    report = run_whole(args.rows, args.repeats)
    out = write_results(report, args.out or RESULTS_DIR / f"whole-{report['started'].replace(':', '')}.json")
    print(table(report))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
