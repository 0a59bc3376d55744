"""Feature heatmap panel: cluster profiles as z-scores, cluster sizes, and one chosen feature's
distribution per cluster in raw units."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from analysis.figures import distribution_figure, heatmap_figure, sizes_figure
from dashboard.ids import RUN_STATE
from dashboard.panels.common import current_run, graph
from dashboard.panels.registry import Panel, RunView


def layout(view: RunView):
    features = list(view.result.models[view.k].zscores.columns)
    feature = most_separating_feature(view)
    return html.Div(
        [
            graph(PANEL.part_id("heatmap"), heatmap_figure(view.result, view.k, view.names)),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Feature"),
                            dcc.Dropdown(
                                id=PANEL.part_id("feature"),
                                options=[{"label": name, "value": name} for name in features],
                                value=feature,
                                clearable=False,
                            ),
                            graph(PANEL.part_id("distribution"),
                                  distribution_figure(view.result, view.frame, view.k, feature, view.names)),
                        ],
                        lg=8,
                    ),
                    dbc.Col(graph(PANEL.part_id("sizes"), sizes_figure(view.result, view.k, view.names)), lg=4),
                ],
                className="mt-2",
            ),
        ]
    )


def most_separating_feature(view: RunView) -> str:
    """The feature whose cluster centres lie furthest apart: the first one worth looking at."""
    zscores = view.result.models[view.k].zscores
    return str((zscores.max() - zscores.min()).idxmax())


def register(app, store) -> None:
    @app.callback(
        Output(PANEL.part_id("distribution"), "figure"),
        Input(PANEL.part_id("feature"), "value"),
        State(RUN_STATE, "data"),
        prevent_initial_call=True,
    )
    def show_feature(feature, state):
        run = current_run(store, state)
        dataset = store.get_dataset(run.dataset_id)
        if dataset is None or feature not in run.result.models[run.k].zscores.columns:
            return no_update
        return distribution_figure(run.result, dataset.frame, run.k, feature, run.names)


PANEL = Panel(
    name="heatmap",
    title="Feature heatmap",
    needs=frozenset({"models", "dataset"}),
    layout=layout,
    register=register,
    order=40,
)
