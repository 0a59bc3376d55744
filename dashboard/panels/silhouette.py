"""Silhouette panel: quality by k (silhouette with its noise under resampling, stability under resampling,
Davies–Bouldin, Calinski–Harabasz, all as the run holds them) and, for the active k, how well each
cluster's sampled songs sit in it.

The quality-by-k figure belongs to the run: a k switch moves its active-k lines with a partial update
and draws only the per-cluster figure again.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Output, Patch

from analysis.figures import silhouette_distribution_figure, silhouette_figure
from dashboard.host import Panel, PanelHost, RunView, names_for
from dashboard.panels.common import graph, renamed_axis, run_figure


def layout(view: RunView):
    return dbc.Row(
        [
            dbc.Col(graph(PANEL.part_id("by-k"), quality_at_active_k(view)), lg=6),
            dbc.Col(graph(PANEL.part_id("per-cluster"), per_cluster(view)), lg=6),
        ]
    )


def per_cluster(view: RunView):
    return silhouette_distribution_figure(view.result, view.k, view.names)


def quality_at_active_k(view: RunView) -> dict:
    """The run's quality figure (built once per run) with its active-k lines on ``view.k``."""
    figure = run_figure("quality", view.result, lambda: silhouette_figure(view.result, view.result.chosen_k))
    shapes = [{**shape, "x0": view.k, "x1": view.k} for shape in figure["layout"]["shapes"]]
    return {**figure, "layout": {**figure["layout"], "shapes": shapes}}


def active_lines(view: RunView) -> Patch:
    patch = Patch()
    for line in range(len(quality_at_active_k(view)["layout"]["shapes"])):
        patch["layout"]["shapes"][line]["x0"] = view.k
        patch["layout"]["shapes"][line]["x1"] = view.k
    return patch


def register(host: PanelHost) -> None:
    @host.callback(
        Output(PANEL.part_id("by-k"), "figure"),
        Output(PANEL.part_id("per-cluster"), "figure"),
        host.on_view(),
        prevent_initial_call=True,
    )
    def show_k(shown):
        view = host.view(shown)
        return active_lines(view), per_cluster(view)

    @host.callback(
        Output(PANEL.part_id("per-cluster"), "figure", allow_duplicate=True),
        host.on_names(),
        host.shown(),
        prevent_initial_call=True,
    )
    def rename(names, shown):
        return renamed_axis(names_for(shown, names), "yaxis", hover="traces")


PANEL = Panel(name="silhouette", title="Silhouette", needs=frozenset({"sweep", "models"}), layout=layout,
              register=register, order=20, follows_k=False, patches_names=True)
