"""Silhouette panel: quality by k (silhouette with its spread, Davies–Bouldin, Calinski–Harabasz) and,
for the active k, how well each cluster's sampled songs sit in it."""
from __future__ import annotations

import dash_bootstrap_components as dbc

from analysis.figures import silhouette_distribution_figure, silhouette_figure
from dashboard.panels.common import graph, run_figure
from dashboard.panels.registry import Panel, RunView


def layout(view: RunView):
    return dbc.Row(
        [
            dbc.Col(graph(PANEL.part_id("by-k"), run_figure("quality", view.result, view.k,
                                                            lambda: silhouette_figure(view.result, view.k))), lg=6),
            dbc.Col(
                graph(PANEL.part_id("per-cluster"), silhouette_distribution_figure(view.result, view.k, view.names)),
                lg=6,
            ),
        ]
    )


PANEL = Panel(name="silhouette", title="Silhouette", needs=frozenset({"sweep", "models"}), layout=layout, order=20)
