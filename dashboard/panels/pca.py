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
            dbc.Col([graph(PANEL.part_id("loadings"), loadings_figure(view.result)), loadings_table(view)], lg=4),
        ]
    )


def loadings_table(view: RunView) -> dbc.Table:
    return dbc.Table.from_dataframe(
        view.result.pca.loadings.astype(float).rename_axis("feature").reset_index(),
        float_format="+.2f",
        id=PANEL.part_id("loadings-table"),
        size="sm",
        striped=True,
        class_name="mt-2",
    )


PANEL = Panel(name="pca", title="PCA scatter", needs=frozenset({"pca", "models", "dataset"}), layout=layout, order=30)
