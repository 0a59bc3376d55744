"""`amc cluster` as a user runs it: a real process on the real sample, and on bad input."""
from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

AMC = str(Path(sys.executable).parent / "amc")


def amc_cluster(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([AMC, "cluster", *map(str, args)], capture_output=True, text=True, timeout=timeout)


def raw_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def run(sample_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("cluster") / "results"
    finished = amc_cluster(sample_csv, "--out", out, "--k", "3", "--k-max", "6")
    return finished, out


def test_writes_the_three_outputs_with_progress_on_stderr(run):
    finished, out = run
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == ""
    for name in ("clustered.csv", "summary.json", "report.html"):
        assert (out / name).stat().st_size > 0
    # Not a terminal: a plain line per step, five fits (k = 2..6), the profiles and the two outputs.
    progress = [line for line in finished.stderr.splitlines() if re.search(r"\[\d+/8\]", line)]
    assert len(progress) == 8
    assert "\r" not in finished.stderr
    assert "Traceback" not in finished.stderr


def test_a_terminal_sees_one_progress_bar_instead_of_lines(sample_csv, tmp_path):
    controller, terminal = pty.openpty()
    seen = bytearray()

    def read_all():  # the terminal's buffer is small: read while the command writes
        with contextlib.suppress(OSError):  # EIO once the command has ended
            while chunk := os.read(controller, 4096):
                seen.extend(chunk)

    reader = threading.Thread(target=read_all)
    reader.start()
    try:
        finished = subprocess.run([AMC, "cluster", str(sample_csv), "--out", str(tmp_path / "out"), "--k-max", "4"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, timeout=120)
    finally:
        os.close(terminal)
        reader.join(timeout=30)
        os.close(controller)
    shown = seen.decode("utf-8", errors="replace")
    assert finished.returncode == 0, shown
    # k = 2..4, the profiles and two outputs: six steps, redrawn in place on one line.
    assert "amc cluster: " in shown and "6/6" in shown and "\r" in shown
    assert not re.search(r"\[\d+/6\]", shown)


def test_clustered_csv_keeps_every_input_row_with_its_raw_values(run, sample_csv):
    _, out = run
    given = raw_text(sample_csv)
    clustered = raw_text(out / "clustered.csv")
    assert list(clustered.columns) == [*given.columns, "cluster", "cluster_name"]
    pd.testing.assert_frame_equal(clustered[given.columns], given)
    assert set(clustered["cluster"]) == {"0", "1", "2"}
    assert "Spoken Word" in set(clustered["cluster_name"])


def test_summary_states_the_choice_the_profiles_and_the_transform(run):
    _, out = run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["chosen_k"] == 3 and summary["chosen_by"] == "user"
    assert [m["k"] for m in summary["metrics"]] == [2, 3, 4, 5, 6]
    assert summary["reason"] and summary["recommended_k"] in range(2, 7)
    assert sum(c["size"] for c in summary["clusters"]) == 651
    spoken = next(c for c in summary["clusters"] if c["name"] == "Spoken Word")
    assert spoken["means"]["speechiness"] > 0.5
    assert set(spoken["quantiles"]["speechiness"]) == {"min", "q1", "median", "q3", "max"}
    assert summary["transform"]["features"] == summary["params"]["features"]
    assert summary["data_report"]["rows_read"] == 651
    assert summary["timings"]["total"] > 0


def test_report_is_self_contained(run):
    _, out = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", page, re.IGNORECASE)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", page, re.IGNORECASE)
    assert page.count("Plotly.newPlot") >= 6
    assert "Spoken Word" in page and "kleine hoerspiel" in page


def test_a_names_file_renames_clusters_and_sets_k(sample_csv, tmp_path):
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"run_id": "elsewhere", "k": 2, "names": {"1": "  <b>Team</b> pick "}}), encoding="utf-8")
    finished = amc_cluster(sample_csv, "--out", tmp_path / "out", "--k-max", "3", "--names", names)
    assert finished.returncode == 0, finished.stderr
    clustered = raw_text(tmp_path / "out" / "clustered.csv")
    assert set(clustered.loc[clustered["cluster"] == "1", "cluster_name"]) == {"<b>Team</b> pick"}
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;Team&lt;/b&gt; pick" in page and "<b>Team</b>" not in page


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def header_and_first_row(sample: Path) -> tuple[str, str]:
    header, first, *_ = sample.read_text(encoding="utf-8").splitlines()
    return header, first


# name -> (arguments after `amc cluster`, given the real sample and a scratch folder; text the message must name)
BAD_CASES = {
    "missing file": (lambda s, t: [t / "nope.csv", "--out", t / "o"], "nope.csv"),
    "empty file": (lambda s, t: [write(t / "empty.csv", ""), "--out", t / "o"], "empty.csv"),
    "wrong delimiter": (
        lambda s, t: [write(t / "semi.csv", header_and_first_row(s)[0].replace(",", ";") + "\n"), "--out", t / "o"],
        "semi.csv"),
    "missing column": (
        lambda s, t: [write(t / "cols.csv", header_and_first_row(s)[0].replace(",tempo", "") + "\n"), "--out", t / "o"],
        "tempo"),
    "text in a number": (
        lambda s, t: [write(t / "text.csv", "\n".join(header_and_first_row(s)).replace(",133.088,", ",fast,") + "\n"),
                      "--out", t / "o"],
        "tempo"),
    "fewer rows than k": (
        lambda s, t: [write(t / "few.csv", "\n".join(s.read_text(encoding="utf-8").splitlines()[:6]) + "\n"),
                      "--out", t / "o"],
        "few.csv: the data has 5 usable rows"),
    "bad k": (lambda s, t: [s, "--out", t / "o", "--k", "three"], "--k"),
    "k outside the sweep": (lambda s, t: [s, "--out", t / "o", "--k", "20"], "k=20"),
    "categorical feature": (lambda s, t: [s, "--out", t / "o", "--features", "energy,key"], "key"),
    "bad clip": (lambda s, t: [s, "--out", t / "o", "--clip", "99,1"], "percentiles"),
    "out is a file": (lambda s, t: [s, "--out", write(t / "taken", "x")], "taken"),
    "names for another k": (
        lambda s, t: [s, "--out", t / "o", "--k", "3", "--names", write(t / "n.json", '{"k": 4, "names": {}}')], "k=4"),
    "names not json": (lambda s, t: [s, "--out", t / "o", "--names", write(t / "n2.json", "{oops")], "n2.json"),
    "no out": (lambda s, t: [s], "--out"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_exits_2_with_one_line(case, sample_csv, tmp_path):
    arguments, mentioned = BAD_CASES[case]
    finished = amc_cluster(*arguments(sample_csv, tmp_path))
    assert finished.returncode == 2
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("amc cluster: ") and mentioned in lines[0]
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "o" / "clustered.csv").exists()
