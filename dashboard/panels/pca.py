"""PCA panel: every song in the model's PCA plane, coloured by cluster name, and the loadings.

The scatter is megabytes at 96k songs, so it does not travel with the panel area, which the shell
redraws on every rename and k switch. The layout holds the link of the scatter's own route and
the cluster names; the browser fetches the figure (gzip, cached by the browser: a run's songs and
labels at one k never change) and puts the current names on its traces (``assets/pca.js``). A
rename therefore costs the names only, and the server encodes each (run, k) once.
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import plotly.io as pio
from dash import ClientsideFunction, Input, Output, dcc
from flask import Response, request

from analysis.figures import cluster_label, loadings_figure, pca_figure, pca_waiting_figure
from dashboard.downloads import DOWNLOAD_PREFIX, DownloadError, requested_run
from dashboard.panels.common import graph, run_figure
from dashboard.panels.registry import Panel, RunView

ROUTE = "pca.json"
# In the link, so a browser never reuses a figure drawn by an older version of ``pca_figure``.
FIGURE_VERSION = "2"
FIGURES_KEPT = 4  # encoded (run, k) figures each server process keeps, a few MB each
GZIP_LEVEL = 3  # a third of the size for ~100 ms at 96k songs; level 5 saves 7% more for 50% more time
CACHE_SECONDS = 7 * 24 * 3600


def layout(view: RunView):
    source = {
        "url": scatter_href(view.result.run_id, view.k),
        "names": [cluster_label(view.names, cluster) for cluster in range(view.k)],
    }
    return dbc.Row(
        [
            dbc.Col(
                [
                    graph(PANEL.part_id("scatter"),
                          run_figure("pca-waiting", view.result, None, lambda: pca_waiting_figure(view.result)),
                          scrollZoom=True),
                    dcc.Store(id=PANEL.part_id("source"), data=source),
                ],
                lg=8,
            ),
            dbc.Col(graph(PANEL.part_id("loadings"),
                          run_figure("loadings", view.result, None, lambda: loadings_figure(view.result))), lg=4),
        ]
    )


def scatter_href(run_id: str, k: int) -> str:
    """Relative to the page (the app's root), so the link works under any path prefix."""
    return f"{DOWNLOAD_PREFIX}{ROUTE}?" + urlencode({"run": run_id, "k": k, "v": FIGURE_VERSION})


def register(app, store) -> None:
    @lru_cache(maxsize=FIGURES_KEPT)
    def encoded(run_id: str, k: int) -> bytes:
        """The scatter of one stored run at one k as gzip-compressed JSON, cluster numbers as names."""
        result = store.get_run(run_id)
        if result is None:
            raise DownloadError(404, f"no stored run has the id {run_id!r}")
        if k not in result.models:
            raise DownloadError(404, f"run {run_id} has no k={k}")
        dataset = store.get_dataset(result.dataset_id)
        if dataset is None:
            raise DownloadError(404, "the songs of this run are no longer stored; run it again to see them")
        text = pio.to_json(pca_figure(result, dataset.frame, k, {}), validate=False)
        return gzip.compress(text.encode("utf-8"), GZIP_LEVEL)

    @app.server.route(app.config.routes_pathname_prefix + DOWNLOAD_PREFIX + ROUTE, endpoint="amc_pca_json")
    def scatter_json():
        try:
            body = encoded(*requested_run())
        except DownloadError as error:
            return Response(f"{error}\n", status=error.status, mimetype="text/plain")
        response = Response(mimetype="application/json")
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            response.set_data(body)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response.set_data(gzip.decompress(body))
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = f"private, max-age={CACHE_SECONDS}, immutable"
        return response

    app.clientside_callback(
        ClientsideFunction(namespace="amc_pca", function_name="draw"),
        Output(PANEL.part_id("scatter"), "figure"),
        Input(PANEL.part_id("source"), "data"),
    )


PANEL = Panel(
    name="pca",
    title="PCA scatter",
    needs=frozenset({"pca", "models", "dataset"}),
    layout=layout,
    register=register,
    order=30,
)
