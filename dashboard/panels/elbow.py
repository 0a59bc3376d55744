"""Elbow panel: inertia by k; clicking a point or choosing from the list makes that k active everywhere.

The figure belongs to the run, not to a k: a k switch moves its "active" marker with a partial update
and leaves the rest of the figure as it is.
"""
from __future__ import annotations

from pathlib import Path

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, Patch, State, dcc, html

from analysis.figures import elbow_figure
from dashboard.host import Panel, PanelHost, RunView, dom_id
from dashboard.panels.common import graph, run_figure


def layout(view: RunView):
    sweep = view.result.sweep
    return html.Div(
        [
            graph(PANEL.part_id("graph"), at_active_k(view)),
            dcc.Store(id=PANEL.part_id("wanted-k")),  # the k asked for, once any unsaved names were confirmed lost
            dbc.Row(
                [
                    dbc.Col(dbc.Label("Active k", html_for=dom_id(PANEL.part_id("k"))), width="auto"),
                    dbc.Col(
                        dbc.Select(
                            id=PANEL.part_id("k"),
                            options=[{"label": k_label(m.k, sweep), "value": str(m.k)} for m in sweep.metrics],
                            value=str(view.k),
                            html_size=1,
                        ),
                        width="auto",
                    ),
                    dbc.Col(html.Small(sweep.reason, className="text-muted"), className="align-self-center"),
                ],
                className="g-2 align-items-center",
            ),
        ]
    )


def k_label(k: int, sweep) -> str:
    notes = [note for note, at in (("recommended", sweep.recommended_k), ("knee", sweep.knee_k)) if at == k]
    return f"k = {k}" + (f" ({', '.join(notes)})" if notes else "")


def run_elbow(view: RunView) -> dict:
    return run_figure("elbow", view.result, lambda: elbow_figure(view.result, view.result.chosen_k))


def at_active_k(view: RunView) -> dict:
    """The run's elbow figure (built once per run) with its active-k marker on ``view.k``."""
    figure = run_elbow(view)
    marker = {**figure["data"][-1], **active_marker_fields(view)}
    return {**figure, "data": [*figure["data"][:-1], marker]}


def active_marker_fields(view: RunView) -> dict:
    """The figure's last trace is the active-k marker."""
    return {"x": [view.k], "y": [view.result.sweep.at(view.k).inertia], "name": f"active (k={view.k})"}


def active_marker(view: RunView) -> Patch:
    """Moves the active-k marker to ``view.k`` and leaves the rest of the figure as it is."""
    patch = Patch()
    last = len(run_elbow(view)["data"]) - 1  # Patch paths take no negative index
    for key, value in active_marker_fields(view).items():
        patch["data"][last][key] = value
    return patch


def register(host: PanelHost) -> None:
    host.clientside_callback(
        ClientsideFunction(namespace="amc_elbow", function_name="chooseK"),
        Output(PANEL.part_id("wanted-k"), "data"),
        Output(PANEL.part_id("k"), "value", allow_duplicate=True),
        Output(PANEL.part_id("graph"), "figure", allow_duplicate=True),
        Input(PANEL.part_id("k"), "value"),
        Input(PANEL.part_id("graph"), "clickData"),
        host.run_state(),
        State(PANEL.part_id("graph"), "id"),
        prevent_initial_call=True,
    )

    @host.callback(host.state_output(), Input(PANEL.part_id("wanted-k"), "data"), host.run_state(),
                   prevent_initial_call=True)
    def choose_k(k, state):
        return host.with_k(state, k)

    @host.callback(
        Output(PANEL.part_id("graph"), "figure"),
        Output(PANEL.part_id("k"), "value"),
        host.on_view(),
        prevent_initial_call=True,
    )
    def show_k(shown):
        view = host.view(shown)
        return active_marker(view), str(view.k)


PANEL = Panel(name="elbow", title="Elbow", needs=frozenset({"sweep"}), layout=layout, register=register, order=10,
              follows_k=False, patches_names=True, scripts=(Path(__file__).resolve().parent / "elbow.js",))
