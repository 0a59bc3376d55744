"""Plotly figures of a stored run. Pure functions from results to figures: no dash, no fitting.

A figure is plotly JSON, a dict of ``data`` and ``layout`` in our template, built as plain dicts: plotly.js
and dash's ``dcc.Graph`` take them as they are, while plotly's figure objects cost 0.1 s to import and
validate every field of every trace (most of a report's build). ``test_figures`` checks every builder's
output with plotly's validation instead.

Plotly renders trace names, tick labels and hover text as a small subset of HTML, so every piece of
text that comes from the data (song, artist, genre and cluster names) goes through ``escape`` first:
a song called ``<b>Hit</b>`` must show its angle brackets, not bold text.

A cluster name shows cut (``shown_label``) in a legend or on an axis, and whole (``cluster_label``,
escaped) on hover. The fields that carry them, which a rename of cluster ``i`` sets:

- the PCA scatter's legend: trace ``i``'s ``name`` the shown label, its ``meta`` the full name;
- a cluster axis (heatmap and sizes ``yaxis``, artist spread ``xaxis``, silhouette violins ``yaxis``,
  feature violins ``xaxis``): ``ticktext[i]`` the shown label. Clusters sit at their numbers, never
  at their labels, so two long names cut to the same label stay two rows;
- full names on hover there: the violins' trace ``i`` ``name``; the bars' ``hovertext[i]``; the
  heatmap's ``hovertext[i]``, a row holding the name once per feature.
"""
from __future__ import annotations

import base64
import html
import importlib.util
import json
import math
import re
import weakref
from functools import cache
from json.encoder import encode_basestring
from pathlib import Path

import numpy as np
import pandas as pd
# plotly.colors re-exports these from the module that defines them, after plotly's own start-up (which looks up
# its installed version: 12 ms, a tenth of what amc cluster imports beyond pandas and numpy).
from _plotly_utils.colors import diverging, make_colorscale, qualitative, sequential

from analysis.compare import flows
from analysis.result import RunResult
from analysis.stability import STABLE_AGREEMENT

CLUSTER_COLOURS: tuple[str, ...] = tuple(qualitative.Plotly + qualitative.Dark24 + qualitative.Light24)
ACTIVE_COLOUR = "#d62728"
HOVER_TEXT_WIDTH = 60
LABEL_CHARS = 24
# A raw value on hover: four significant digits, thousands grouped, never an exponent (followers, ms).
RAW_VALUE_FORMAT = ",.4~r"
TEMPLATE = "plotly_white"
_HOVER_TEXT: dict[int, tuple[weakref.ref, tuple[np.ndarray, np.ndarray]]] = {}
_HOVER_JSON: dict[int, tuple[weakref.ref, tuple[np.ndarray, np.ndarray]]] = {}
# Where compact_json puts a value written already (JSONItems): a string no figure holds (a loaded file refuses NUL bytes).
_ITEMS_MARK = "\x00amc-json-items-{}\x00"
_ITEMS_PLACE = re.compile(r'"\\u0000amc-json-items-(\d+)\\u0000"')


@cache
def _template_json() -> dict:
    """Our template as plotly JSON: the same as ``plotly.io.templates[TEMPLATE]``, from its file."""
    return json.loads(plotly_package_data(f"templates/{TEMPLATE}.json"))


def plotly_package_data(name: str) -> bytes:
    """A file plotly ships beside its code (its templates, plotly.js, UTF-8), read as ``plotly.io`` and
    ``plotly.offline`` read it, without importing them and the figure objects they bring (0.1 s)."""
    folder = Path(importlib.util.find_spec("plotly").origin).parent
    return (folder / "package_data" / name).read_bytes()


def escape(text: object) -> str:
    return html.escape(str(text), quote=False)


def escape_column(values: pd.Series) -> pd.Series:
    """Vectorised ``escape`` for a text column (96k songs: a Python loop would dominate the figure build)."""
    text = values.astype("str")
    return text.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False).str.replace(
        ">", "&gt;", regex=False
    )


def cluster_colour(cluster: int) -> str:
    return CLUSTER_COLOURS[cluster % len(CLUSTER_COLOURS)]


def _cluster_name(names: dict[int, str], cluster: int) -> str:
    """The display name of a cluster, unescaped; a cluster the sheet does not name keeps its number."""
    return names.get(cluster, f"Cluster {cluster}")


def cluster_label(names: dict[int, str], cluster: int) -> str:
    """The escaped, whole display name of a cluster: what a hover shows."""
    return escape(_cluster_name(names, cluster))


def shown_label(name: str) -> str:
    """``name`` as a legend entry or axis tick shows it: escaped, cut to ``LABEL_CHARS`` characters with "…".

    The cut is made on the text itself, so it never splits an escape such as ``&amp;``. The whole
    name stays on hover in a field of its own, so a rename of a drawn figure sets both: the PCA
    trace's ``name`` (this label) and ``meta`` (``escape(name)``); on a cluster axis its ``ticktext``
    entry (this label) and the hover's trace ``name`` or ``hovertext`` (``escape(name)``). The
    module's notes list the fields of every figure.
    """
    if len(name) > LABEL_CHARS:
        name = name[: LABEL_CHARS - 1].rstrip() + "…"
    return escape(name)


def _shown_cluster_label(names: dict[int, str], cluster: int) -> str:
    return shown_label(_cluster_name(names, cluster))


def cluster_axis(names: dict[int, str], k: int, **axis) -> dict:
    """An axis with cluster ``i`` at position ``i``, its tick the cluster's shown label."""
    return {"tickmode": "array", "tickvals": list(range(k)),
            "ticktext": [_shown_cluster_label(names, cluster) for cluster in range(k)],
            "zeroline": False, "showgrid": False, **axis}


# The title's top sits below the modebar's row (about 26 px high at the top right), which a narrow chart's
# title would otherwise run under; the top margin leaves room for a title and a subtitle line.
MODEBAR_HEIGHT = 32  # the buttons, their 2-px offset and a small gap
TITLE = {"x": 0.01, "xanchor": "left", "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": MODEBAR_HEIGHT}}


def _figure(data: list[dict], title: str, height: int = 380, top: int = 70, subtitle: str | None = None,
            **layout) -> dict:
    """Plotly JSON of ``data`` in our template, titled, with ``layout``'s fields.

    The template goes into the JSON rather than plotly's global default, which would change every
    figure of the process that imports us.
    """
    heading = {"text": title, **TITLE}
    if subtitle is not None:
        heading["subtitle"] = {"text": subtitle}
    return {"data": data, "layout": {**layout, "title": heading, "height": height,
                                     "margin": {"l": 60, "r": 20, "t": top, "b": 50},
                                     "template": _template_json()}}


def _titled(text: str, **axis) -> dict:
    """An axis with a title."""
    return {"title": {"text": text}, **axis}


def elbow_figure(result: RunResult, active_k: int) -> dict:
    """Inertia against k; the knee, the recommended k and the active k each get their own marker."""
    sweep = result.sweep
    ks = [m.k for m in sweep.metrics]
    inertia = {m.k: m.inertia for m in sweep.metrics}
    traces = [{
        "type": "scatter",
        "x": ks,
        "y": [inertia[k] for k in ks],
        "mode": "lines+markers",
        "name": "inertia",
        "marker": {"size": 9, "color": "#1f77b4"},
        "hovertemplate": "k=%{x}<br>inertia %{y:,.0f}<extra>click to use this k</extra>",
    }]
    if sweep.knee_k is not None:
        traces.append(_marker(sweep.knee_k, inertia, f"knee (k={sweep.knee_k})", "diamond-open", "#2ca02c", 20))
    traces.append(_marker(sweep.recommended_k, inertia, f"recommended (k={sweep.recommended_k})", "star", "#ff7f0e", 18))
    traces.append(_marker(active_k, inertia, f"active (k={active_k})", "circle-open", ACTIVE_COLOUR, 26))
    return _figure(traces, "Elbow: inertia by k",
                   xaxis=_titled("number of clusters k", dtick=1),
                   yaxis=_titled("inertia (sum of squared distances)", tickformat=","),
                   legend={"orientation": "h", "y": -0.25}, clickmode="event")


def _marker(k: int, values: dict[int, float], name: str, symbol: str, colour: str, size: int) -> dict:
    return {
        "type": "scatter",
        "x": [k],
        "y": [values[k]],
        "mode": "markers",
        "name": name,
        "marker": {"symbol": symbol, "size": size, "color": colour, "line": {"width": 2, "color": colour}},
        "hovertemplate": f"{name}<br>inertia %{{y:,.0f}}<extra></extra>",
    }


def silhouette_figure(result: RunResult, active_k: int) -> dict:
    """Per k, stacked: silhouette (sampled mean ± its noise under resampling), stability under resampling
    (mean adjusted Rand index ± its spread, with the level the recommendation calls stable), Davies–Bouldin
    and Calinski–Harabasz. The best silhouette and the recommended k are marked.

    Four y axes on one shared x axis, laid out by hand: ``make_subplots`` costs more than the rest
    of a panel redraw.
    """
    sweep = result.sweep
    metrics = sweep.metrics
    ks = [m.k for m in metrics]
    best, recommended = sweep.best_silhouette_k, sweep.recommended_k
    traces = [
        _line(ks, [m.silhouette for m in metrics], "silhouette",
              error_y={"type": "data", "array": [m.silhouette_noise for m in metrics], "visible": True},
              customdata=[m.silhouette_spread for m in metrics],
              hovertemplate="k=%{x}<br>silhouette %{y:.3f} ± %{error_y.array:.3f} under resampling"
                            "<br>(± %{customdata:.3f} from the sample alone)<extra></extra>"),
        _line(ks, [m.stability for m in metrics], "stability", yaxis="y2",
              error_y={"type": "data", "array": [m.stability_spread for m in metrics], "visible": True},
              hovertemplate="k=%{x}<br>stability (adjusted Rand index) %{y:.2f} ± %{error_y.array:.2f}<extra></extra>"),
        _line([ks[0], ks[-1]], [STABLE_AGREEMENT] * 2, f"stable from {STABLE_AGREEMENT}", mode="lines", yaxis="y2",
              line={"dash": "dash", "color": "#888", "width": 1},
              hovertemplate=f"stable from {STABLE_AGREEMENT}<extra></extra>"),
        _line(ks, [m.davies_bouldin for m in metrics], "Davies–Bouldin", yaxis="y3",
              hovertemplate="k=%{x}<br>DBI %{y:.3f}<extra></extra>"),
        _line(ks, [m.calinski_harabasz for m in metrics], "Calinski–Harabasz", yaxis="y4",
              hovertemplate="k=%{x}<br>CH %{y:,.0f}<extra></extra>"),
        _line([best], [sweep.at(best).silhouette], f"best silhouette (k={best})", mode="markers", hoverinfo="skip",
              marker={"symbol": "star", "size": 16, "color": "#ff7f0e"}),
        _line([recommended], [sweep.at(recommended).stability], f"recommended (k={recommended})", mode="markers",
              yaxis="y2", hoverinfo="skip",
              marker={"symbol": "diamond-open", "size": 16, "color": "#2ca02c", "line": {"width": 3}}),
    ]
    titles = ("silhouette ↑", "stability ↑", "Davies–Bouldin ↓", "Calinski–Harabasz ↑")
    gap = 0.04
    height = (1 - (len(titles) - 1) * gap) / len(titles)
    axes = {}
    for row, title in enumerate(titles):
        bottom = (len(titles) - 1 - row) * (height + gap)
        axes[f"yaxis{row + 1 if row else ''}"] = _titled(title, domain=[bottom, bottom + height], anchor="x",
                                                         tickformat=",")
    # A subtitle, not a second line in the title: plotly lifts a two-line title's top into the modebar's row.
    subtitle = (f"{sweep.silhouette_sample_size:,} sampled songs; ± over {sweep.resamples} refits on "
                f"{sweep.resample_size:,} songs; ↑ higher, ↓ lower is better")
    return _figure(
        traces, "Quality by k", 720, top=100, subtitle=subtitle,
        **axes,
        xaxis=_titled("number of clusters k", dtick=1, anchor=f"y{len(titles)}"),
        shapes=[_vertical_line(active_k, f"y{row + 1 if row else ''} domain", ACTIVE_COLOUR, "dot")
                for row in range(len(titles))],
        showlegend=False,
    )


def _line(x: list, y: list, name: str, mode: str = "lines+markers", **trace) -> dict:
    """A scatter trace of lines and markers (or ``mode``) named ``name``."""
    return {"type": "scatter", "x": x, "y": y, "mode": mode, "name": name, **trace}


def _vertical_line(x: float, yref: str, colour: str, dash: str) -> dict:
    """A line across one plot's height; a plain shape, cheaper than ``add_vline``."""
    return {"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": yref,
            "line": {"color": colour, "dash": dash}}


def silhouette_distribution_figure(result: RunResult, k: int, names: dict[int, str]) -> dict:
    """Per-cluster silhouette of the sampled songs at k: a violin each, the run's mean as a line."""
    model = result.models[k]
    labels = model.labels[model.silhouette_rows]
    violins = [_violin(names, cluster, x=model.silhouette_values[labels == cluster], y0=cluster,
                       orientation="h", hoveron="violins+kde") for cluster in range(k)]
    mean = float(model.silhouette_values.mean()) if model.silhouette_values.size else 0.0
    return _figure(
        violins, f"Silhouette per cluster at k={k}", 120 + 50 * k,
        shapes=[_vertical_line(mean, "paper", "#444", "dash")],
        annotations=[{"x": mean, "y": 1, "xref": "x", "yref": "paper", "text": f"mean {mean:.3f}",
                      "showarrow": False, "xanchor": "left", "yanchor": "bottom"}],
        xaxis=_titled("silhouette of each sampled song", range=[-1, 1]),
        showlegend=False,
        yaxis=cluster_axis(names, k, autorange="reversed"),  # cluster 0 on top, as in the heatmap
    )


def _violin(names: dict[int, str], cluster: int, **trace) -> dict:
    """A cluster's violin, hard at the data's own range: a 0..1 feature's never reaches below 0 or above 1.

    plotly.js ignores a violin's ``hovertemplate``: its hover names the trace, so the trace carries
    the full name and the axis the shown label.
    """
    return {
        "type": "violin",
        "name": cluster_label(names, cluster),
        "line": {"color": cluster_colour(cluster)},
        "box": {"visible": True},
        "meanline": {"visible": True},
        "points": False,
        "spanmode": "hard",
        "hoverlabel": {"namelength": -1},
        **trace,
    }


def pca_json(result: RunResult, frame: pd.DataFrame, k: int, names: dict[int, str]) -> str:
    """``pca_data`` of every song as JSON text, written straight from the arrays (``compact_json``)."""
    return compact_json(pca_data(result, frame, k, names, for_compact_json=True))


def pca_data(result: RunResult, frame: pd.DataFrame, k: int, names: dict[int, str],
             limit: int | None = None, for_compact_json: bool = False) -> dict:
    """Every song in the model's PCA plane, one WebGL trace per cluster so a legend click isolates it;
    ``limit`` songs at most, a seeded random sample.

    Per song the browser gets its two float32 coordinates and its key features as whole numbers
    (``song_hover_features``: one byte each, all sent as compact binary) and two short strings, song
    and 'artist · genres', which keeps 96k songs near 1.4 MB gzipped.

    ``for_compact_json``: the songs' text is already JSON (``JSONItems``), which only ``compact_json`` writes.
    """
    songs = np.arange(result.n_rows)
    if limit is not None and result.n_rows > limit:
        songs = np.sort(np.random.default_rng(result.params.seed).choice(result.n_rows, limit, replace=False))
    ratio = result.pca.explained_variance_ratio
    legend = {"itemsizing": "constant", "itemclick": "toggleothers", "itemdoubleclick": "toggle",
              "title": {"text": "cluster (click to isolate)"}}
    return _figure(pca_traces(result, frame, k, names, songs, for_compact_json),
                   f"{result.n_rows:,} songs in the PCA plane of the model, k={k}", 560,
                   xaxis=_titled(f"PC1 ({ratio[0]:.1%} of variance)"), yaxis=_titled(f"PC2 ({ratio[1]:.1%} of variance)"),
                   legend=legend, uirevision=f"{result.run_id}:{k}")


def pca_traces(result: RunResult, frame: pd.DataFrame, k: int, names: dict[int, str],
               songs: np.ndarray | None = None, for_compact_json: bool = False) -> list[dict]:
    """The scatter's traces (of ``songs``, positions in ``frame``; default all) as plotly JSON whose
    per-song fields are numpy arrays (the text ``JSONItems`` with ``for_compact_json``)."""
    labels = result.models[k].labels
    coords = result.pca.coords.astype(np.float32, copy=False)
    songs = np.arange(len(labels)) if songs is None else songs
    texts, artists = _song_hover_of(frame, songs, for_compact_json)
    wrap = JSONItems if for_compact_json else (lambda items: items)
    features = song_hover_features(frame)
    traces = []
    for cluster in range(k):
        in_cluster = labels[songs] == cluster
        members = songs[in_cluster]
        traces.append({
            "type": "scattergl",
            "x": coords[members, 0],
            "y": coords[members, 1],
            "mode": "markers",
            "name": _shown_cluster_label(names, cluster),
            "meta": cluster_label(names, cluster),
            "marker": {"size": 4, "opacity": 0.6, "color": cluster_colour(cluster)},
            "text": wrap(texts[in_cluster]),
            "hovertext": wrap(artists[in_cluster]),
            "customdata": features[members],
            "hovertemplate": PCA_HOVER,
            "hoverlabel": {"namelength": -1},  # plotly cuts the <extra> name at 15 characters by default
        })
    return traces


# numpy kinds plotly.js reads as typed arrays ({"dtype", "bdata", "shape"}), by their little-endian names
_TYPED_ARRAYS = {np.dtype(np.float32): "f4", np.dtype(np.float64): "f8", np.dtype(np.uint8): "u1",
                 np.dtype(np.int8): "i1", np.dtype(np.uint16): "u2", np.dtype(np.int16): "i2",
                 np.dtype(np.uint32): "u4", np.dtype(np.int32): "i4"}


class JSONItems:
    """A list whose items are already JSON texts (``song_hover_json``), which ``compact_json`` writes as is:
    the songs' names are encoded once per file instead of once per figure."""

    def __init__(self, items: np.ndarray) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def json(self) -> str:
        return "[" + ",".join(self.items.tolist()) + "]"


class _JSONText:
    """A value already written by ``compact_json``, which it writes again as is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def json(self) -> str:
        return self.text


def compact_json(figure) -> str:
    """Plotly JSON of a figure dict holding numpy arrays: numbers as base64 typed arrays, text as lists.

    What ``plotly.io.to_json`` writes for such a figure, without its copy and walk of every value: NaN
    and infinities become null, '<' and '>' escapes, so the text is safe inside an HTML script.
    """
    written: list[JSONItems | _JSONText] = []

    def encode(value):
        if isinstance(value, (JSONItems, _JSONText)):
            written.append(value)
            return _ITEMS_MARK.format(len(written) - 1)
        return _typed_array(value)

    text = json.dumps(_finite(figure), default=encode, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if written:
        text = _ITEMS_PLACE.sub(lambda place: written[int(place.group(1))].json(), text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


@cache
def _template_compact_json() -> _JSONText:
    """Our template as ``compact_json`` writes it, once per process rather than once per figure (half of
    writing a report's small figures)."""
    return _JSONText(compact_json(dict(_template_json())))  # a copy: ``_finite`` would hand back this very text


def _finite(value):
    if value is _template_json():
        return _template_compact_json()
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _typed_array(value):
    if isinstance(value, np.generic):
        return _finite(value.item())
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    dtype = _TYPED_ARRAYS.get(value.dtype)
    if dtype is None:
        return _finite(value.tolist())
    data = base64.b64encode(np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()).decode()
    typed = {"dtype": dtype, "bdata": data}
    if value.ndim > 1:
        typed["shape"] = ", ".join(str(size) for size in value.shape)
    return typed


def pca_waiting_figure(result: RunResult) -> dict:
    """The PCA scatter's frame while its songs are on their way to the browser."""
    hidden = {"visible": False}
    return _figure([], f"Loading {result.n_rows:,} songs in the PCA plane…", 560, xaxis=hidden, yaxis=hidden)


# The key features a song's hover shows, as whole numbers: percent for the 0..1 features, BPM for tempo.
HOVER_FEATURES: tuple[tuple[str, str], ...] = (
    ("danceability", "dance %{customdata[0]}%"),
    ("energy", "energy %{customdata[1]}%"),
    ("valence", "valence %{customdata[2]}%"),
    ("acousticness", "acoustic %{customdata[3]}%"),
    ("tempo", "%{customdata[4]} BPM"),
)
PCA_HOVER = ("<b>%{text}</b><br>%{hovertext}<br>" + " · ".join(label for _, label in HOVER_FEATURES)
             + "<extra>%{meta}</extra>")


def song_hover_features(frame: pd.DataFrame) -> np.ndarray:
    """(n, 5) uint8 per song: danceability, energy, valence, acousticness in percent, tempo in BPM.

    One byte a value is all a hover needs to show, and it keeps 96k songs' features near 0.5 MB.
    """
    columns = [frame[name].to_numpy(dtype=np.float64) for name, _ in HOVER_FEATURES]
    scaled = [np.rint(values * 100) for values in columns[:-1]] + [np.rint(columns[-1])]
    return np.clip(np.column_stack(scaled), 0, 255).astype(np.uint8)


def prepare(frame: pd.DataFrame) -> None:
    """Build ahead what the first figures of ``frame`` would otherwise build while a user waits: its
    songs' hover text (0.2 s at 96k songs)."""
    song_hover_json(frame)


def song_hover_text(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Escaped song names and 'artist · genres' per song, cut to a hover's width, as numpy arrays of str.

    Markup stays in the hovertemplate: plotly's JSON writes every '<' and '/' as a 6-character escape.
    Memoised per frame, which never changes once loaded: at 96k songs building the text is half the
    figure's cost, and the PCA is redrawn with every rename or change of k.
    """
    return _per_frame(_HOVER_TEXT, frame, _hover_text)


def song_hover_json(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``song_hover_text`` with every text a JSON string already (for ``JSONItems``), memoised the same way."""
    return _per_frame(_HOVER_JSON, frame, lambda songs: tuple(
        np.array([encode_basestring(text) for text in texts], dtype=object) for texts in song_hover_text(songs)))


def _song_hover_of(frame: pd.DataFrame, songs: np.ndarray, as_json: bool) -> tuple[np.ndarray, np.ndarray]:
    """``song_hover_json`` (``as_json``) or ``song_hover_text`` of ``songs``, positions in ``frame``.

    Taken from the frame's texts of every song, built once and kept for the next redraw; but when only
    some songs are drawn and those texts are not built yet (a report's 20,000 of 96k songs), built for
    these songs alone: the report's process draws them once.
    """
    memo, build = (_HOVER_JSON, song_hover_json) if as_json else (_HOVER_TEXT, song_hover_text)
    if len(songs) < len(frame) and _memoised(memo, frame) is None:
        return build(frame.iloc[songs])
    texts, artists = build(frame)
    return texts[songs], artists[songs]


def _per_frame(memo: dict, frame: pd.DataFrame, build):
    value = _memoised(memo, frame)
    if value is None:
        value = build(frame)
        key = id(frame)
        memo[key] = (weakref.ref(frame, lambda _: memo.pop(key, None)), value)
    return value


def _memoised(memo: dict, frame: pd.DataFrame):
    """What ``memo`` holds for ``frame``, or None."""
    cached = memo.get(id(frame))
    return cached[1] if cached is not None and cached[0]() is frame else None


def _hover_text(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    genres = pd.Series([", ".join(genre_list[:2]) or "no genre" for genre_list in frame["genre_list"]],
                       index=frame.index)
    song, artist, genre = (escape_column(column.astype("str").str.slice(0, HOVER_TEXT_WIDTH))
                           for column in (frame["name_song"], frame["name_artists"], genres))
    # Object arrays: numpy's fixed-width text would cost four times as long to build and to index.
    return song.to_numpy(dtype=object), (artist + " · " + genre).to_numpy(dtype=object)


def loadings_figure(result: RunResult) -> dict:
    """Each feature's loading on PC1 and PC2, side by side: which way and how hard it pulls a song."""
    loadings = result.pca.loadings
    features = [escape(feature) for feature in loadings.index]
    bars = [{"type": "bar", "y": features, "x": loadings[component].to_numpy(dtype=float), "name": component,
             "orientation": "h", "hovertemplate": f"%{{y}}<br>{component} loading %{{x:+.2f}}<extra></extra>"}
            for component in ("PC1", "PC2")]
    return _figure(bars, "PCA loadings", 160 + 28 * len(features),
                   xaxis=_titled("loading", zeroline=True), yaxis={"autorange": "reversed", "type": "category"},
                   barmode="group", legend={"orientation": "h", "y": -0.12})


def _short_number(value: float) -> str:
    # Below 999.5, since three significant digits of 999.5 round up to an exponent ("1e+03").
    return f"{value:.3g}" if abs(value) < 999.5 else f"{value:,.0f}"


def heatmap_figure(result: RunResult, k: int, names: dict[int, str]) -> dict:
    """Clusters × features coloured by z-score around 0; the hover adds the raw mean in the data's units."""
    model = result.models[k]
    features = list(model.zscores.columns)
    full_names = [[cluster_label(names, cluster)] * len(features) for cluster in range(k)]
    zscores = model.zscores.loc[range(k), features].to_numpy(dtype=float)
    means = model.means_raw.loc[range(k), features].to_numpy(dtype=float)
    reach = max(float(np.nanmax(np.abs(zscores))), 1.0)
    heatmap = {
        "type": "heatmap",
        "z": zscores,
        "x": features,
        "y": list(range(k)),
        "hovertext": full_names,
        "customdata": np.vectorize(_short_number, otypes=[object])(means),
        "colorscale": make_colorscale(diverging.RdBu_r),
        "zmid": 0,
        "zmin": -reach,
        "zmax": reach,
        "colorbar": {"title": {"text": "z-score"}},
        "text": np.round(zscores, 1),
        "texttemplate": "%{text}",
        "hovertemplate": "%{hovertext}<br>%{x}<br>z %{z:+.2f}σ<br>mean %{customdata}<extra></extra>",
    }
    return _figure([heatmap], f"Cluster profiles at k={k} (z-scores, σ from the mean)", 160 + 40 * k,
                   yaxis=cluster_axis(names, k, autorange="reversed"), xaxis={"tickangle": -35})


def flow_figure(table: np.ndarray, names_a: dict[int, str], names_b: dict[int, str], title: str) -> dict:
    """Two clusterings of the same songs as a Sankey: A's clusters on the left, B's on the right, one band
    per pair that shares songs, as wide as their number. ``table`` is the (k_a, k_b) contingency table."""
    k_a, k_b = table.shape
    a, b = flows(table)
    sizes = table.sum(axis=1)
    shares = [f"{table[i, j] / sizes[i]:.0%}" for i, j in zip(a, b)]
    sankey = {
        "type": "sankey",
        "arrangement": "fixed",
        "node": {
            "label": [_shown_cluster_label(names_a, c) for c in range(k_a)]
            + [_shown_cluster_label(names_b, c) for c in range(k_b)],
            "customdata": [cluster_label(names_a, c) for c in range(k_a)]
            + [cluster_label(names_b, c) for c in range(k_b)],
            "color": [cluster_colour(c) for c in range(k_a)] + [cluster_colour(c) for c in range(k_b)],
            "hovertemplate": "%{customdata}<br>%{value:,} songs<extra></extra>",
            "pad": 12,
        },
        "link": {
            "source": a.tolist(),
            "target": (k_a + b).tolist(),
            "value": table[a, b].tolist(),
            "customdata": shares,
            "color": [_translucent(cluster_colour(int(i))) for i in a],
            "hovertemplate": "%{source.customdata} → %{target.customdata}<br>"
            "%{value:,} songs, %{customdata} of the left cluster<extra></extra>",
        },
    }
    return _figure([sankey], title, height=max(360, 40 * max(k_a, k_b) + 120))


def contingency_figure(table: np.ndarray, shares: np.ndarray, names_a: dict[int, str], names_b: dict[int, str],
                       title: str, label_a: str, label_b: str) -> dict:
    """The contingency table as a heatmap: a row per cluster of A, a column per cluster of B, coloured by
    the share of the row's songs, each cell labelled with its number of songs."""
    k_a, k_b = table.shape
    pairs = [[f"{cluster_label(names_a, i)} → {cluster_label(names_b, j)}" for j in range(k_b)] for i in range(k_a)]
    heatmap = {
        "type": "heatmap",
        "z": np.round(shares * 100, 1),
        "x": list(range(k_b)),
        "y": list(range(k_a)),
        "text": table,
        "texttemplate": "%{text:,}",
        "hovertext": pairs,
        "colorscale": make_colorscale(sequential.Blues),
        "zmin": 0,
        "zmax": 100,
        "colorbar": {"title": {"text": "% of row"}},
        "hovertemplate": "%{hovertext}<br>%{text:,} songs, %{z}% of the row<extra></extra>",
    }
    return _figure([heatmap], title, height=160 + 40 * k_a, top=110,
                   xaxis=cluster_axis(names_b, k_b, title={"text": label_b}, side="top"),
                   yaxis=cluster_axis(names_a, k_a, title={"text": label_a}, autorange="reversed"))


def _translucent(colour: str, alpha: float = 0.4) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def distribution_figure(result: RunResult, frame: pd.DataFrame, k: int, feature: str,
                        names: dict[int, str]) -> dict:
    """A feature's raw values per cluster over the run's seeded song sample (the silhouette sample)."""
    model = result.models[k]
    rows = model.silhouette_rows
    values = frame[feature].to_numpy(dtype=float)[rows]
    labels = model.labels[rows]
    violins = [_violin(names, cluster, y=values[labels == cluster], x0=cluster) for cluster in range(k)]
    return _figure(violins, f"{escape(feature)} per cluster ({rows.size:,} sampled songs)", 420,
                   yaxis=_titled(f"{escape(feature)} (raw units)", tickformat=",", hoverformat=RAW_VALUE_FORMAT),
                   showlegend=False, xaxis=cluster_axis(names, k))


def sizes_figure(result: RunResult, k: int, names: dict[int, str]) -> dict:
    """Songs per cluster as horizontal bars (names stay readable in a narrow column), with each share."""
    sizes = result.models[k].sizes
    total = int(sizes.sum()) or 1
    bars = {
        "type": "bar",
        "y": list(range(k)),
        "hovertext": [cluster_label(names, cluster) for cluster in range(k)],
        "x": sizes,
        "orientation": "h",
        "marker": {"color": [cluster_colour(cluster) for cluster in range(k)]},
        "text": [f"{size / total:.0%}" for size in sizes],
        "textposition": "auto",
        "hovertemplate": "%{hovertext}<br>%{x:,} songs (%{text})<extra></extra>",
    }
    return _figure([bars], f"Cluster sizes at k={k}", 140 + 36 * k,
                   yaxis=cluster_axis(names, k, autorange="reversed"), xaxis=_titled("songs", tickformat=","))


def artist_spread_figure(counts: np.ndarray, names: dict[int, str], query: str) -> dict:
    """How many songs of the artists matching ``query`` fall in each cluster."""
    clusters = range(len(counts))
    bars = {
        "type": "bar",
        "x": list(clusters),
        "hovertext": [cluster_label(names, cluster) for cluster in clusters],
        "y": counts,
        "marker": {"color": [cluster_colour(cluster) for cluster in clusters]},
        "hovertemplate": "%{hovertext}<br>%{y:,} songs<extra></extra>",
    }
    return _figure([bars], f"Songs of artists matching “{escape(query)}” per cluster", 300,
                   xaxis=cluster_axis(names, len(counts)), yaxis=_titled("songs", tickformat=","))
