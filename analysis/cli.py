"""``amc cluster``: cluster a songs CSV and write clustered.csv, summary.json and report.html.
``amc assign``: put new songs into the named clusters of an earlier ``amc cluster`` run.

Bad input (unreadable or invalid CSV, unusable parameters, names file or run, an output directory
that cannot be written) ends with exit status 2 and one line on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from analysis.assign import (
    ClusterCentres,
    SummaryError,
    assign,
    assigned_frame,
    assignment_summary,
    centres_from_summary,
    centres_of,
    summary_section,
)
from analysis.dataset import DataError, load_csv
from analysis.export import GivenCells, write_clustered_csv, write_csv
from analysis.names import NamesFile, NamesFileError, first_repeated_name, parse_names_file
from analysis.result import AUDIO_FEATURES, HEAVY_TAILED, ParameterError, RunParams, RunResult

USAGE_ERROR = 2
DEFAULTS = RunParams()


class UsageError(Exception):
    """A problem with what the user asked for; its message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


def cluster_main(argv: list[str]) -> int:
    return _command(CLUSTER, _cluster, argv)


def assign_main(argv: list[str]) -> int:
    return _command(ASSIGN, _assign, argv)


CLUSTER, ASSIGN = "amc cluster", "amc assign"


def _command(prog: str, body, argv: list[str]) -> int:
    """Run ``body(argv)``; a problem with the input is one line on stderr and exit status 2."""
    try:
        return body(argv)
    except (UsageError, DataError, ParameterError, NamesFileError, SummaryError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return USAGE_ERROR
    except SystemExit as exit_request:  # --help
        return int(exit_request.code or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=CLUSTER,
        description="Cluster songs by their audio features; write clustered.csv, summary.json and report.html.",
    )
    parser.add_argument("input", metavar="INPUT.csv", help="songs CSV in the single_genre_artists.csv schema")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created when missing)")
    parser.add_argument("--k", metavar="N|auto", help="number of clusters, or 'auto' for the recommended k (default)")
    parser.add_argument("--k-min", type=int, default=DEFAULTS.k_min, help="smallest k of the sweep (default %(default)s)")
    parser.add_argument("--k-max", type=int, default=DEFAULTS.k_max, help="largest k of the sweep (default %(default)s)")
    parser.add_argument("--features", type=_names_list, default=DEFAULTS.features, metavar="a,b,...",
                        help=f"features to cluster on (default: all 13: {','.join(AUDIO_FEATURES)})")
    parser.add_argument("--log-features", type=_names_list, metavar="a,b,...|none",
                        help=f"apply log1p first to these features, or to none (default: {','.join(HEAVY_TAILED)} "
                             "when clustered, as in the dashboard)")
    parser.add_argument("--clip", type=_percentiles, metavar="LO,HI", help="clip features at these percentiles, e.g. 1,99")
    parser.add_argument("--clip-features", type=_names_list, default=(), metavar="a,b,...",
                        help="clip only these features (default: every feature when --clip is given)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="random seed (default %(default)s)")
    parser.add_argument("--silhouette-sample", type=int, default=DEFAULTS.silhouette_sample, metavar="N",
                        help="songs per silhouette sample (default %(default)s)")
    parser.add_argument("--exact-silhouette", action="store_true", help="also compute the full-data silhouette (slow)")
    parser.add_argument("--names", type=Path, metavar="names.json", help="cluster names saved from the dashboard (their k is used unless --k is given)")
    return parser


def _names_list(text: str) -> tuple[str, ...]:
    """``a,b`` as ("a", "b"); ``none`` as no name at all."""
    if text.strip().lower() == "none":
        return ()
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _percentiles(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI such as 1,99, got {text!r}") from None
    return low, high


def _cluster(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    names_file = _read_names_file(args.names) if args.names else None
    params = RunParams(
        features=args.features,
        log_features=args.log_features,
        clip_percentiles=args.clip,
        clip_features=args.clip_features,
        k_min=args.k_min,
        k_max=args.k_max,
        k=_chosen_k(args.k, names_file),
        seed=args.seed,
        silhouette_sample=args.silhouette_sample,
        exact_silhouette=args.exact_silhouette,
    ).validate()
    dataset = load_csv(args.input)
    # Imported only now: scikit-learn and plotly take a second or two to load, and a mistake in the
    # arguments or the file should be reported at once.
    from analysis.pipeline import check_params, run_analysis

    params = check_params(params, dataset)
    out = _output_directory(args.out)
    _say(f"{dataset.name}: {dataset.report.rows_kept:,} of {dataset.report.rows_read:,} rows kept")
    analysis_steps = len(params.ks) + 1  # a fit per k, then the profiles
    with _Progress(analysis_steps + len(OUTPUT_STEPS)) as progress, ThreadPoolExecutor(1) as beside:
        # Most of clustered.csv needs no labels: it is made while the analysis runs, on the cycles the analysis
        # leaves free (at 96k songs it keeps the two cores 1.5 busy).
        given = beside.submit(GivenCells.of, dataset)
        result = run_analysis(dataset, params, progress=lambda done, _, message: progress.show(done, message))
        names = _display_names(result, names_file, args.names)
        _write_outputs(result, names, out, progress, beside, given.result())
    _say(f"k = {result.chosen_k}; wrote {out / 'clustered.csv'}, {out / 'summary.json'}, {out / 'report.html'}")
    return 0


def _read_names_file(path: Path) -> NamesFile:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot be read ({error.strerror or error})") from None
    return parse_names_file(text, source=str(path))


def _chosen_k(k_text: str | None, names_file: NamesFile | None) -> int | None:
    """The k asked for; with a names file and no --k, the file's k (its names belong to that k)."""
    if k_text is None:
        return names_file.k if names_file else None
    if k_text == "auto":
        return None
    try:
        k = int(k_text)
    except ValueError:
        raise UsageError(f"--k takes a whole number or 'auto', got {k_text!r}") from None
    if names_file and names_file.k != k:
        raise UsageError(f"the names file names clusters for k={names_file.k}, but --k is {k}")
    return k


def _output_directory(text: str) -> Path:
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".amc-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"{out}: cannot write the output directory ({error.strerror or error})") from None
    return out


class _Progress:
    """Where a run is: a bar on a terminal (tqdm), one plain line per step when the output is a file or a pipe."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            # A terminal that reports no size (some CI and container ptys) still gets the bar: tqdm would hide it.
            self.bar = tqdm(total=total, file=sys.stderr, desc="amc cluster", unit="step", leave=False,
                            nrows=shutil.get_terminal_size().lines,
                            bar_format="{desc}: {bar:24} {n_fmt}/{total_fmt} {elapsed}{postfix}")

    def show(self, done: int, message: str) -> None:
        self.done = done
        if self.bar is None:
            _say(f"[{done}/{self.total}] {message}")
        else:
            self.bar.n = done
            self.bar.set_postfix_str(message)  # refreshes the bar

    def step(self, message: str) -> None:
        self.show(self.done + 1, message)

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *_) -> None:
        if self.bar is not None:
            self.bar.close()  # the bar goes; the summary line says what was written


def _say(message: str, prog: str = CLUSTER) -> None:
    print(f"{prog}: {message}", file=sys.stderr, flush=True)


def _display_names(result: RunResult, names_file: NamesFile | None, names_path: Path | None) -> dict[int, str]:
    """Suggested names, replaced by the names file's where it gives one."""
    model = result.model()
    names = {cluster: suggestion.name for cluster, suggestion in enumerate(model.suggested_names)}
    if names_file is None:
        return names
    if names_file.k != result.chosen_k:
        raise UsageError(
            f"{names_path}: names clusters for k={names_file.k}, but this run chose k={result.chosen_k}; "
            f"pass --k {names_file.k}"
        )
    if names_file.run_id and names_file.run_id != result.run_id:
        _say(f"{names_path}: saved for run {names_file.run_id}, applied to run {result.run_id} by cluster number")
    names.update(names_file.names)
    _refuse_repeated_names(names, set(names_file.names), names_path)
    return names


def _refuse_repeated_names(names: dict[int, str], from_file: set[int], names_path: Path | None) -> None:
    repeated = first_repeated_name(names)
    if repeated:
        first, second = repeated
        named, unnamed = (first, second) if first in from_file else (second, first)
        raise UsageError(
            f"{names_path}: cluster {named} is named {names[named]!r}, the name cluster {unnamed} has already; "
            f"name cluster {unnamed} too"
        )


OUTPUT_STEPS = ("wrote summary.json and report.html", "wrote clustered.csv")


def _write_outputs(result: RunResult, names: dict[int, str], out: Path, progress: _Progress,
                   beside: ThreadPoolExecutor, given: GivenCells) -> None:
    """clustered.csv (in ``beside``: mostly Arrow's work, done without the GIL), summary.json and report.html."""
    from analysis.report import write_report

    dataset = given.dataset
    try:
        table = beside.submit(write_clustered_csv, given, result.model().labels, names, out / "clustered.csv")
        summary = _json_text(summary_of(result, names, centres_of(result, dataset.frame, names)))
        (out / "summary.json").write_text(summary, encoding="utf-8")
        write_report(result, dataset, out / "report.html", names)
        progress.step(OUTPUT_STEPS[0])
        table.result()
        progress.step(OUTPUT_STEPS[1])
    except OSError as error:
        raise UsageError(f"{out}: cannot write the results ({error.strerror or error})") from None


def _json_text(value: dict) -> str:
    return json.dumps(_json_safe(value), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def summary_of(result: RunResult, names: dict[int, str], centres: ClusterCentres) -> dict:
    """Everything about the run a script may want, as plain JSON values; ``centres`` (of the chosen k)
    are what ``amc assign`` reads back."""
    model = result.model()
    clusters = [
        {
            "cluster": cluster,
            "name": names[cluster],
            "suggested_name": model.suggested_names[cluster].name,
            "suggested_reason": model.suggested_names[cluster].reason,
            "size": int(model.sizes[cluster]),
            "share": float(model.sizes[cluster] / max(int(model.sizes.sum()), 1)),
            "means": model.means_raw.loc[cluster].to_dict(),
            "zscores": model.zscores.loc[cluster].to_dict(),
            "quantiles": model.quantiles.loc[cluster].to_dict(orient="index"),
            "top_features": [{"feature": feature, "z": z} for feature, z in model.top_features[cluster]],
        }
        for cluster in range(model.k)
    ]
    transform = result.transform
    return {
        "run_id": result.run_id,
        "dataset": {"name": result.dataset_name, "fingerprint": result.dataset_id},
        "code_version": result.code_version,
        "params": result.params.to_dict(),
        "data_report": result.data_report.to_dict(),
        "transform": {
            "features": transform.features,
            "log_features": transform.log_features,
            "clip_bounds": transform.clip_bounds,
            "scaler_mean": dict(zip(transform.features, transform.scaler_mean)),
            "scaler_scale": dict(zip(transform.features, transform.scaler_scale)),
        },
        "metrics": [vars(metrics) for metrics in result.sweep.metrics],
        "knee_k": result.sweep.knee_k,
        "best_silhouette_k": result.sweep.best_silhouette_k,
        "recommended_k": result.sweep.recommended_k,
        "reason": result.sweep.reason,
        "chosen_k": result.chosen_k,
        "chosen_by": "user" if result.params.k is not None else "recommendation",
        "silhouette_sample_size": result.sweep.silhouette_sample_size,
        "stability_resamples": result.sweep.resamples,
        "stability_resample_size": result.sweep.resample_size,
        "pca": {
            "explained_variance_ratio": result.pca.explained_variance_ratio,
            "loadings": result.pca.loadings.to_dict(orient="index"),
        },
        "clusters": clusters,
        "assignment": summary_section(centres),
        "timings": result.timings,
    }


def _assign_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=ASSIGN,
        description="Put new songs into the named clusters of an earlier 'amc cluster' run; "
                    "write assigned.csv and summary.json.",
    )
    parser.add_argument("input", metavar="NEW.csv", help="songs CSV in the single_genre_artists.csv schema")
    parser.add_argument("--run", required=True, type=Path, metavar="DIR", help="output directory of 'amc cluster'")
    parser.add_argument("--out", required=True, metavar="OUT", help="output directory (created when missing)")
    parser.add_argument("--names", type=Path, metavar="names.json",
                        help="cluster names saved from the dashboard; they replace the run's names")
    return parser


def _assign(argv: list[str]) -> int:
    args = _assign_parser().parse_args(argv)
    centres = _run_centres(args.run)
    if args.names:
        centres = centres.renamed(_team_names(args.names, centres))
    dataset = load_csv(args.input)
    out = _output_directory(args.out)
    assignment = assign(centres, dataset)
    _say(f"{dataset.name}: {dataset.report.rows_kept:,} of {dataset.report.rows_read:,} rows kept", ASSIGN)
    summary = assignment_summary(centres, assignment, dataset)
    try:
        write_csv(assigned_frame(dataset, assignment, centres.names), out / "assigned.csv")
        (out / "summary.json").write_text(_json_text(summary), encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{out}: cannot write the results ({error.strerror or error})") from None
    _say(f"{len(assignment.labels):,} songs into the {centres.k} clusters of run {centres.run_id}, "
         f"{summary['fits_no_cluster']['count']:,} fitting no cluster well; "
         f"wrote {out / 'assigned.csv'}, {out / 'summary.json'}", ASSIGN)
    return 0


def _run_centres(run: Path) -> ClusterCentres:
    path = run / "summary.json"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot be read ({error.strerror or error}); --run takes an 'amc cluster' "
                         "output directory") from None
    except UnicodeDecodeError:
        raise SummaryError(f"{path}: not UTF-8 text, not an 'amc cluster' summary") from None
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as error:
        raise SummaryError(f"{path}: not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    return centres_from_summary(summary, str(path))


def _team_names(names_path: Path, centres: ClusterCentres) -> dict[int, str]:
    """The names file's names for the run's clusters (the run's names stay where it names none)."""
    names_file = _read_names_file(names_path)
    if names_file.k != centres.k:
        raise UsageError(f"{names_path}: names clusters for k={names_file.k}, but the run has k={centres.k}")
    if names_file.run_id and names_file.run_id != centres.run_id:
        _say(f"{names_path}: saved for run {names_file.run_id}, applied to run {centres.run_id} by cluster number",
             ASSIGN)
    _refuse_repeated_names({**centres.names, **names_file.names}, set(names_file.names), names_path)
    return names_file.names


def _json_safe(value):
    """Plain JSON values: tuples as lists, numpy scalars as Python numbers, NaN and infinity as null."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
