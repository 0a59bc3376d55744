"""One self-contained HTML page of a run: every figure and table, plotly.js inline, no network needed.

The page is assembled from the dashboard's own figure builders (``analysis.figures``), so the report
and the dashboard draw the same thing. Every piece of text from the data or the user is escaped.
"""
from __future__ import annotations

import datetime
import html
from pathlib import Path

from analysis import figures
from analysis.dataset import Dataset
from analysis.result import RunResult
from analysis.stability import STABLE_AGREEMENT

GENRE_PURITY_ROWS = 30
SCATTER_SONGS = 20_000  # the report's PCA scatter: a page that opens in a second or two on a laptop
SPANNING_ROWS = 30
# Local actions only. plotly.js 3 offers "Share chart..." to its cloud unless told not to; it has no
# Chart Studio or link buttons any more, and plotly.py warns about their old switches.
PLOT_CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 1.5rem 3rem; color: #222; }
h1 { margin-top: 1.5rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1rem; }
.note { color: #555; } .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .4rem; }
"""


def write_report(result: RunResult, dataset: Dataset, path: str | Path, names: dict[int, str]) -> None:
    """Write the report of ``result`` at its chosen k to ``path`` (``names``: cluster -> display name).

    plotly.js goes in as the bytes plotly ships: decoded into the page's text and encoded again, its
    4.7 MB took a quarter of writing a small run's report.
    """
    before, after = _page_around_plotly_js(result, dataset, names)
    Path(path).write_bytes(before.encode() + figures.plotly_package_data("plotly.min.js") + after.encode())


def render_report(result: RunResult, dataset: Dataset, names: dict[int, str]) -> str:
    """The report ``write_report`` writes, as text."""
    before, after = _page_around_plotly_js(result, dataset, names)
    return before + figures.plotly_package_data("plotly.min.js").decode() + after


def _page_around_plotly_js(result: RunResult, dataset: Dataset, names: dict[int, str]) -> tuple[str, str]:
    """The page's text before and after plotly.js."""
    k = result.chosen_k
    frame = dataset.frame
    plots = _PlotCounter()
    sections = [
        _overview(result, names),
        _section("Choosing k", plots(figures.elbow_figure(result, k)), plots(figures.silhouette_figure(result, k)),
                 plots(figures.silhouette_distribution_figure(result, k, names))),
        _section("Songs in the model's PCA plane", *_scatter(plots, result, frame, k, names),
                 plots(figures.loadings_figure(result))),
        _section("Cluster profiles", plots(figures.heatmap_figure(result, k, names)),
                 plots(figures.sizes_figure(result, k, names))),
        _section("Feature distributions per cluster",
                 '<div class="grid">'
                 + "".join(plots(figures.distribution_figure(result, frame, k, f, names)) for f in result.transform.features)
                 + "</div>"),
        _breakdown_section(result, names),
        _settings_section(result),
    ]
    title = f"Clusters of {result.dataset_name}"
    before = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              f"<title>{_text(title)}</title>\n<style>{STYLE}</style>\n<script>")
    after = f"</script>\n</head>\n<body>\n<h1>{_text(title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    return before, after


class _PlotCounter:
    """Turns figures into HTML divs with stable ids, so the same run gives the same page."""

    def __init__(self) -> None:
        self._count = 0

    def __call__(self, figure: dict) -> str:
        """A div and the script that draws ``figure`` (plotly JSON, as ``analysis.figures`` builds it) in it,
        its arrays as compact typed arrays (``figures.compact_json``)."""
        self._count += 1
        div = f"figure-{self._count}"
        height = figure["layout"].get("height")
        style = f"height:{height}px; width:100%;" if height else "height:100%; width:100%;"
        return (f'<div id="{div}" class="plotly-graph-div" style="{style}"></div>\n'
                f'<script>Plotly.newPlot("{div}", {figures.compact_json(figure["data"])}, '
                f'{figures.compact_json(figure["layout"])}, {figures.compact_json(PLOT_CONFIG)})</script>')


def _scatter(plots: _PlotCounter, result: RunResult, frame, k: int, names: dict[int, str]) -> tuple[str, ...]:
    """The PCA scatter, of at most ``SCATTER_SONGS`` songs: a page of a million points would not open."""
    shown = figures.pca_data(result, frame, k, names, limit=SCATTER_SONGS, for_compact_json=True)
    drawn = sum(len(trace["x"]) for trace in shown["data"])
    if drawn == result.n_rows:
        return (plots(shown),)
    note = (f'<p class="note">The scatter shows {drawn:,} of the {result.n_rows:,} songs: a seeded random sample, '
            "each cluster in proportion to its size. Every song is in clustered.csv and in the dashboard.</p>")
    return note, plots(shown)


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _section(title: str, *parts: str) -> str:
    return f"<section>\n<h2>{_text(title)}</h2>\n" + "\n".join(parts) + "\n</section>"


def _overview(result: RunResult, names: dict[int, str]) -> str:
    k = result.chosen_k
    model = result.model()
    chosen_how = "chosen by the user" if result.params.k is not None else "recommended"
    total = int(model.sizes.sum()) or 1
    rows = []
    for cluster in range(k):
        suggestion = model.suggested_names[cluster]
        top = ", ".join(f"{feature} {z:+.1f}σ" for feature, z in model.top_features[cluster][:3])
        rows.append([
            f'<span class="swatch" style="background:{figures.cluster_colour(cluster)}"></span>{cluster}',
            _text(names.get(cluster, suggestion.name)),
            _text(f"{suggestion.name}: {suggestion.reason}"),
            _number(int(model.sizes[cluster])),
            f"{model.sizes[cluster] / total:.1%}",
            _text(top),
        ])
    created = datetime.datetime.fromtimestamp(result.created_at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _section(
        "Overview",
        f"<p>{result.n_rows:,} songs clustered on {len(result.transform.features)} features into "
        f"<strong>k = {k}</strong> clusters ({chosen_how}).</p>",
        f"<p><strong>Why k = {result.sweep.recommended_k} is recommended:</strong> {_text(result.sweep.reason)}</p>",
        f'<p class="note">run {_text(result.run_id)} · dataset {_text(result.dataset_id)} · made {created}</p>',
        _table(["cluster", "name", "suggested name and why", "songs", "share", "most distinguishing"], rows,
               numeric={3, 4}),
    )


def _breakdown_section(result: RunResult, names: dict[int, str]) -> str:
    breakdown = result.model().breakdown
    parts = []
    for kind, table in (("artist", breakdown.top_artists), ("genre", breakdown.top_genres)):
        parts.append(f"<h3>Top {kind}s per cluster</h3>")
        parts.append(_table(
            ["cluster", kind, "songs", "share of the cluster"],
            [[_cluster_name(names, row.cluster), _text(getattr(row, kind)), _number(row.songs), f"{row.share:.1%}"]
             for row in table.itertuples(index=False)],
            numeric={2, 3},
        ))
    parts.append(f"<h3>Artists whose songs span several clusters (first {SPANNING_ROWS})</h3>")
    parts.append(_table(
        ["artist", "clusters", "songs", "songs per cluster (cluster:songs)"],
        [[_text(row.artist), _number(row.clusters), _number(row.songs), _text(row.counts)]
         for row in breakdown.spanning_artists.head(SPANNING_ROWS).itertuples(index=False)],
        numeric={1, 2},
    ))
    parts.append(f"<h3>Genre purity: share of a genre's songs in its main cluster (largest {GENRE_PURITY_ROWS} genres)</h3>")
    parts.append(_table(
        ["genre", "songs", "main cluster", "purity"],
        [[_text(row.genre), _number(row.songs), _cluster_name(names, row.top_cluster), f"{row.purity:.0%}"]
         for row in breakdown.genre_purity.head(GENRE_PURITY_ROWS).itertuples(index=False)],
        numeric={1, 3},
    ))
    return _section("Artists and genres", *parts)


def _settings_section(result: RunResult) -> str:
    params = result.params
    transform = result.transform
    clip = "none" if params.clip_percentiles is None else (
        f"{params.clip_percentiles[0]:g}th–{params.clip_percentiles[1]:g}th percentile of "
        + (", ".join(params.clip_features) or "every feature")
    )
    settings = [
        ["features", ", ".join(transform.features)],
        ["log1p", ", ".join(transform.log_features) or "none"],
        ["clipping", clip],
        ["scaling", "standard (mean 0, standard deviation 1 per feature)"],
        ["k swept", f"{params.k_min}–{params.k_max}"],
        ["seed", str(params.seed)],
        ["silhouette", f"{result.sweep.silhouette_sample_size:,} sampled songs × {params.silhouette_repeats} samples"
         + (", exact full-data value too" if params.exact_silhouette else "")],
        ["stability", f"every k refitted on {result.sweep.resamples} seeded subsamples of "
                      f"{result.sweep.resample_size:,} songs; agreement with the fit on all songs by adjusted Rand "
                      f"index (1 the same clusters, 0 chance), stable from {STABLE_AGREEMENT} (Lange et al. 2004, "
                      "Stability-based validation of clustering solutions)"],
    ]
    scaler = [[_text(feature), f"{mean:.6g}", f"{scale:.6g}", _text(_bounds(transform.clip_bounds.get(feature)))]
              for feature, mean, scale in zip(transform.features, transform.scaler_mean, transform.scaler_scale)]
    report = result.data_report
    data_lines = "".join(f"<li>{_text(line)}</li>" for line in report.lines()) or "<li>no problems found</li>"
    timings = [[_text(stage), f"{seconds:.2f} s"] for stage, seconds in result.timings.items()]
    return _section(
        "Parameters, data and timings",
        _table(["setting", "value"], [[_text(a), _text(b)] for a, b in settings]),
        "<h3>Transform per feature (in order: log1p, clip, scale)</h3>",
        _table(["feature", "scaler mean", "scaler scale", "clip bounds"], scaler, numeric={1, 2}),
        f"<h3>Data report</h3><p>{_text(report.source)}: {report.rows_read:,} rows read, "
        f"{report.rows_kept:,} kept.</p><ul>{data_lines}</ul>",
        "<h3>Timings</h3>",
        _table(["stage", "time"], timings, numeric={1}),
        "<h3>Metrics per k</h3>",
        _metrics_table(result),
    )


def _metrics_table(result: RunResult) -> str:
    rows = [
        [str(m.k), f"{m.inertia:,.0f}", f"{m.silhouette:.3f} ± {m.silhouette_spread:.3f}", f"± {m.silhouette_noise:.3f}",
         f"{m.stability:.2f} ± {m.stability_spread:.2f}",
         "" if m.exact_silhouette is None else f"{m.exact_silhouette:.3f}", f"{m.davies_bouldin:.3f}",
         f"{m.calinski_harabasz:,.0f}"]
        for m in result.sweep.metrics
    ]
    return _table(["k", "inertia", "silhouette (sampled)", "silhouette noise under resampling",
                   "stability (adjusted Rand index)", "exact silhouette", "Davies–Bouldin", "Calinski–Harabasz"],
                  rows, numeric={0, 1, 2, 3, 4, 5, 6, 7})


def _bounds(bounds: tuple[float, float] | None) -> str:
    return "" if bounds is None else f"{bounds[0]:.6g} … {bounds[1]:.6g}"


def _cluster_name(names: dict[int, str], cluster: int) -> str:
    return f"{int(cluster)} · {_text(names.get(int(cluster), f'Cluster {cluster}'))}"


def _number(value: int) -> str:
    return f"{int(value):,}"


def _table(header: list[str], rows: list[list[str]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    """An HTML table of cells that are already escaped (callers escape data text with ``_text``)."""
    if not rows:
        return '<p class="note">nothing to show</p>'
    head = "".join(f"<th>{_text(title)}</th>" for title in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="number">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
