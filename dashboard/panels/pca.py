"""PCA panel: every song in the model's PCA plane, coloured by cluster name, and the loadings.

The scatter is megabytes at 96k songs, so it never travels with the panel: the panel holds the link of
the scatter's own route (``host.route``), and the browser fetches it (gzip, cached by the browser: a
run's songs and labels at one k never change) and draws it (``pca.js`` beside this module). The fetch
begins with the run state (``Panel.prefetch``), so the songs are encoded and on their way while the
shell draws the panel. A k switch
changes the link only; a rename patches the traces' names in the browser and fetches nothing.
The loadings belong to the run and stay as they are.

A lasso or a box drawn on the scatter becomes the playlist builder's source: the browser sends only the
shape and the clusters shown (``amc_pca.shape``), and the server finds the songs inside it again from the
run's coordinates (``analysis.selection``) and keeps them in the store.
"""
from __future__ import annotations

import gzip
import threading
from functools import lru_cache
from collections.abc import Callable
from pathlib import Path

import dash_bootstrap_components as dbc
import zstandard
from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update
from flask import Response, request

from analysis.figures import LABEL_CHARS, loadings_figure, pca_json, pca_waiting_figure
from analysis.selection import SelectionError, Shape, songs_in_shape
from dashboard.host import NAMES, SELECTION_PANEL, Panel, PanelHost, RunView, names_list, route_link
from dashboard.panels.common import graph, run_figure

ROUTE = "pca.json"
# In the link, so a browser never reuses a figure drawn by an older version of ``pca_json``.
FIGURE_VERSION = "5"
FIGURES_KEPT = 12  # encoded (run, k) figures each server process keeps, about 3 MB each at 96k songs
# zstd level 1 packs the 96k songs' 7.4 MB into 2.4 MB in 0.03 s, where gzip level 1 takes 0.16 s for 2.8 MB:
# Chromium takes zstd (RFC 8878, its window well under the 8 MB a browser must accept); others get gzip.
ZSTD = zstandard.ZstdCompressor(level=1)
GZIP_LEVEL = 1
CACHE_SECONDS = 7 * 24 * 3600
HERE = Path(__file__).resolve().parent


def layout_href(path: str, **query) -> str:
    return route_link(PANEL.name, path, **query)


def layout(view: RunView):
    return dbc.Row(
        [
            dbc.Col(
                [
                    graph(PANEL.part_id("scatter"),
                          run_figure("pca-waiting", view.result, lambda: pca_waiting_figure(view.result)),
                          scrollZoom=True),
                    # The songs' link comes with the panel: the browser asks for them the moment it is drawn.
                    dcc.Store(id=PANEL.part_id("source"), data=scatter_source(layout_href, view)),
                    dcc.Store(id=PANEL.part_id("shape")),
                    _selection_bar(),
                ],
                lg=8,
            ),
            dbc.Col(graph(PANEL.part_id("loadings"), run_figure("loadings", view.result,
                                                                lambda: loadings_figure(view.result))), lg=4),
        ]
    )


def _selection_bar() -> html.Div:
    return html.Div(
        [
            html.Span("Draw a lasso or a box (modebar) around songs to make a playlist of them.",
                      id=PANEL.part_id("selected"), role="status"),
            dbc.Button("Open them in the playlist builder", id=PANEL.part_id("to-playlist"), size="sm",
                       class_name="ms-2", style={"display": "none"}),
        ],
        className="small mt-1",
    )


def selection_text(count: int, kind: str, k: int) -> str:
    return f"{count:,} song{'s' if count != 1 else ''} in the {kind}: the playlist builder's source at k={k}."


def scatter_source(href: Callable[..., str], view: RunView) -> dict:
    """What the browser needs to draw the scatter: the link of its songs and the names they show."""
    return {
        "url": scatter_link(href, view),
        "run_id": view.run_id,
        "k": view.k,
        "names": names_list(view),
        "label_chars": LABEL_CHARS,  # the legend cuts longer names, as analysis.figures.shown_label does
    }


def scatter_link(href: Callable[..., str], view: RunView) -> str:
    return href(ROUTE, run=view.run_id, k=view.k, v=FIGURE_VERSION)


def register(host: PanelHost) -> None:
    one_at_a_time = threading.Lock()

    @lru_cache(maxsize=FIGURES_KEPT)
    def encode(run_id: str, k: int) -> bytes:
        stored = host.store.get_artifact(scatter_key(run_id, k))
        if stored is not None:
            return stored
        view = host.view({"run_id": run_id, "k": k}, songs=True)
        return packed_scatter(view.result, view.frame, k)

    def store_first_scatter(result, frame) -> None:
        host.store.put_artifact(scatter_key(result.run_id, result.chosen_k),
                                packed_scatter(result, frame, result.chosen_k))

    # A new run's first scatter is encoded in its job, on a core of its own: in the web process the
    # encoding shares the interpreter with the callbacks drawing the panel, and took 3x as long.
    host.after_run_stored(store_first_scatter)

    @lru_cache(maxsize=FIGURES_KEPT)
    def gzipped(run_id: str, k: int) -> bytes:
        return gzip.compress(zstandard.decompress(encode(run_id, k)), GZIP_LEVEL)

    def encoded(run_id: str, k: int, coding: str) -> bytes:
        """The scatter of one stored run at one k as JSON, cluster numbers as names, in ``coding``."""
        with one_at_a_time:  # two pages asking for one new scatter wait for one encoding, not two
            if coding == "zstd":
                return encode(run_id, k)
            return gzipped(run_id, k) if coding == "gzip" else zstandard.decompress(encode(run_id, k))

    def scatter_json() -> Response:
        view = host.requested_view(songs=True)
        coding = content_coding(request.headers.get("Accept-Encoding", ""))
        response = Response(encoded(view.run_id, view.k, coding), mimetype="application/json")
        if coding != "identity":
            response.headers["Content-Encoding"] = coding
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}, immutable"
        return response

    host.route(ROUTE, scatter_json)

    @host.callback(
        Output(PANEL.part_id("source"), "data"),
        host.on_view(),
        State(PANEL.part_id("source"), "data"),
        # The drawn panel holds its source: an initial call answering "no update" would keep Dash from
        # drawing the scatter of it.
        prevent_initial_call=True,
    )
    def show_k(shown, source):
        view = host.view(shown)
        if source and (source["run_id"], source["k"]) == (view.run_id, view.k):
            return no_update  # drawn for this run and k already
        return scatter_source(host.href, view)

    host.clientside_callback(
        ClientsideFunction(namespace="amc_pca", function_name="shape"),
        Output(PANEL.part_id("shape"), "data"),
        Input(PANEL.part_id("scatter"), "selectedData"),
        prevent_initial_call=True,
    )

    @host.callback(
        host.selection_output(),
        Output(PANEL.part_id("selected"), "children"),
        Output(PANEL.part_id("to-playlist"), "style"),
        Input(PANEL.part_id("shape"), "data"),
        host.shown(),
        prevent_initial_call=True,
    )
    def select(drawn, shown):
        view = host.view(shown, songs=True)
        try:
            shape = Shape.from_plotly(drawn["selected"])
        except (SelectionError, KeyError, TypeError) as error:
            return no_update, f"The selection could not be used: {error}", {"display": "none"}
        clusters = _shown_clusters(drawn.get("clusters"), view.k)
        rows = songs_in_shape(view.result.pca.coords, view.model.labels, clusters, shape)
        kind = "lasso" if shape.kind == "lasso" else "box"
        label = f"{kind} on the PCA scatter at k={view.k}"
        return host.select_songs(view, rows, label, show=False), selection_text(len(rows), kind, view.k), {}

    @host.callback(
        host.selection_output(),
        Input(PANEL.part_id("to-playlist"), "n_clicks"),
        host.selection(),
        prevent_initial_call=True,
    )
    def open_playlist(clicks, selection):
        if not clicks or not selection:
            return no_update
        return {**selection, "show": SELECTION_PANEL}

    host.clientside_callback(
        ClientsideFunction(namespace="amc_pca", function_name="draw"),
        Output(PANEL.part_id("scatter"), "figure"),
        Input(PANEL.part_id("source"), "data"),
        State(NAMES, "data"),
    )
    host.clientside_callback(
        ClientsideFunction(namespace="amc_pca", function_name="rename"),
        Output(PANEL.part_id("scatter"), "figure", allow_duplicate=True),
        host.on_names(),
        State(PANEL.part_id("source"), "data"),
        State(PANEL.part_id("scatter"), "figure"),
        prevent_initial_call=True,
    )


def packed_scatter(result, frame, k: int) -> bytes:
    """The scatter of a run at ``k`` as zstd-packed JSON, cluster numbers as names (the page names them)."""
    return ZSTD.compress(pca_json(result, frame, k, {}).encode("utf-8"))


def scatter_key(run_id: str, k: int) -> str:
    return f"pca-scatter:{run_id}:{k}:{FIGURE_VERSION}"


def content_coding(accepted: str) -> str:
    """zstd when the browser takes it, else gzip when it takes that, else none (``identity``)."""
    codings = {part.split(";")[0].strip().lower() for part in accepted.split(",")
               if part.replace(" ", "").lower().partition(";q=")[2] not in ("0", "0.0", "0.00", "0.000")}
    return next((coding for coding in ("zstd", "gzip") if coding in codings), "identity")


def _shown_clusters(clusters, k: int) -> tuple[int, ...] | None:
    """The clusters whose songs the lasso could select (those not hidden by the legend), None for all."""
    if not isinstance(clusters, list):
        return None
    return tuple(int(c) for c in clusters if isinstance(c, int) and not isinstance(c, bool) and 0 <= c < k)


PANEL = Panel(
    name="pca",
    title="PCA scatter",
    needs=frozenset({"pca", "models", "dataset"}),
    layout=layout,
    register=register,
    order=30,
    follows_k=False,
    patches_names=True,
    scripts=(HERE / "pca.js",),
    # The songs' encoding and their journey begin with the run state, while the shell draws the panel.
    prefetch=lambda view: [scatter_link(layout_href, view)],
)
