"""Feature heatmap panel: cluster profiles as z-scores, cluster sizes, and one chosen feature's
distribution per cluster in raw units. A rename patches the names on the axes in place."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html, no_update

from analysis.figures import distribution_figure, heatmap_figure, sizes_figure
from dashboard.host import Panel, PanelHost, RunView, names_for
from dashboard.panels.common import graph, renamed_axis


def layout(view: RunView):
    features = list(view.model.zscores.columns)
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
    zscores = view.model.zscores
    return str((zscores.max() - zscores.min()).idxmax())


def register(host: PanelHost) -> None:
    @host.callback(
        Output(PANEL.part_id("distribution"), "figure"),
        Input(PANEL.part_id("feature"), "value"),
        host.shown(),
        prevent_initial_call=True,
    )
    def show_feature(feature, shown):
        view = host.view(shown)
        if feature not in view.model.zscores.columns:
            return no_update
        return distribution_figure(view.result, view.frame, view.k, feature, view.names)

    @host.callback(
        Output(PANEL.part_id("heatmap"), "figure"),
        Output(PANEL.part_id("sizes"), "figure"),
        Output(PANEL.part_id("distribution"), "figure", allow_duplicate=True),
        host.on_names(),
        host.shown(),
        prevent_initial_call=True,
    )
    def rename(names, shown):
        renamed = names_for(shown, names)
        if renamed is None:
            return no_update, no_update, no_update
        features = len(host.view(shown).model.zscores.columns)
        return (renamed_axis(renamed, "yaxis", "hovertext", columns=features),
                renamed_axis(renamed, "yaxis", "hovertext"),
                renamed_axis(renamed, "xaxis", "traces"))


PANEL = Panel(
    name="heatmap",
    title="Feature heatmap",
    needs=frozenset({"models", "dataset"}),
    layout=layout,
    register=register,
    order=40,
    patches_names=True,
)
