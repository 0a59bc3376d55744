"""PCA panel: every song in the model's PCA plane, coloured by cluster name, and the loadings."""
from __future__ import annotations

import dash_bootstrap_components as dbc

from analysis.figures import loadings_figure, pca_figure
from dashboard.panels.common import graph
from dashboard.panels.registry import Panel, RunView


def layout(view: RunView):
    scatter = pca_figure(view.result, view.frame, view.k, view.names)
    return dbc.Row(
        [
            dbc.Col(graph(PANEL.part_id("scatter"), scatter, scrollZoom=True), lg=8),
            dbc.Col(graph(PANEL.part_id("loadings"), loadings_figure(view.result)), lg=4),
        ]
    )


PANEL = Panel(name="pca", title="PCA scatter", needs=frozenset({"pca", "models", "dataset"}), layout=layout, order=30)
