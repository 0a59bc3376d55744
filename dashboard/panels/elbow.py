"""Elbow panel: inertia by k; clicking a point or choosing from the list makes that k active everywhere."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update

from analysis.figures import elbow_figure
from dashboard.ids import RUN_STATE
from dashboard.panels.common import current_run, graph, run_figure
from dashboard.panels.registry import Panel, RunView


def layout(view: RunView):
    sweep = view.result.sweep
    return html.Div(
        [
            graph(PANEL.part_id("graph"),
                  run_figure("elbow", view.result, view.k, lambda: elbow_figure(view.result, view.k))),
            dbc.Row(
                [
                    dbc.Col(dbc.Label("Active k"), width="auto"),
                    dbc.Col(
                        dbc.Select(
                            id=PANEL.part_id("k"),
                            options=[{"label": k_label(m.k, sweep), "value": str(m.k)} for m in sweep.metrics],
                            value=str(view.k),
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


def clicked_k(click: dict | None) -> int | None:
    points = (click or {}).get("points") or []
    return int(points[0]["x"]) if points else None


def register(app, store) -> None:
    @app.callback(
        Output(RUN_STATE, "data", allow_duplicate=True),
        Input(PANEL.part_id("graph"), "clickData"),
        Input(PANEL.part_id("k"), "value"),
        State(RUN_STATE, "data"),
        prevent_initial_call=True,
    )
    def choose_k(click, chosen, state):
        k = clicked_k(click) if ctx.triggered_id == PANEL.part_id("graph") else int(chosen)
        return switch_k(store, state, k)


def switch_k(store, state: dict, k: int | None):
    """The run state with ``k`` active (and its names' version), or no update for a k outside the sweep."""
    run = current_run(store, state)
    if k is None or k == run.k or k not in run.result.models:
        return no_update
    return {**state, "k": k, "names_version": store.get_names(run.run_id, k).version}


PANEL = Panel(name="elbow", title="Elbow", needs=frozenset({"sweep"}), layout=layout, register=register, order=10)
