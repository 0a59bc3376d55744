"""What the built-in panels share: graphs with one look, figures kept per run, and reading the browser's run
state in a callback."""
from __future__ import annotations

from dataclasses import dataclass

from dash import dcc
from dash.exceptions import PreventUpdate

from analysis.result import RunResult
from dashboard.store import Memo

GRAPH_CONFIG = {"displaylogo": False}
RUN_FIGURES_KEPT = 64  # figures of a few kB each
_RUN_FIGURES = Memo(RUN_FIGURES_KEPT)

def graph(component_id: dict, figure, **config) -> dcc.Graph:
    return dcc.Graph(id=component_id, figure=figure, config={**GRAPH_CONFIG, **config})


def run_figure(kind: str, result: RunResult, k: int | None, build) -> dict:
    """A figure drawn from the stored run (at ``k``) alone, never from names, as plotly JSON built once.

    A stored run never changes, so the panel area the shell redraws after every rename reuses it
    instead of building, validating and copying the same figure again.
    """
    key = f"{kind}:{result.run_id}:{k}"
    figure = _RUN_FIGURES.get(key)
    if figure is None:
        figure = build().to_plotly_json()
        _RUN_FIGURES.put(key, figure)
    return figure


@dataclass(frozen=True)
class CurrentRun:
    """The stored run the browser shows, at its active k, with the team's names."""

    run_id: str
    dataset_id: str
    k: int
    result: RunResult
    names: dict[int, str]
    names_version: int


def current_run(store, state: dict | None) -> CurrentRun:
    """Reads the run named by ``run-state``; a callback with no usable run changes nothing."""
    if not state or not state.get("run_id"):
        raise PreventUpdate
    result = store.get_run(state["run_id"])
    if result is None:
        raise PreventUpdate
    k = int(state.get("k") or result.chosen_k)
    if k not in result.models:
        raise PreventUpdate
    sheet = store.get_names(result.run_id, k)
    return CurrentRun(result.run_id, result.dataset_id, k, result, sheet.names,
                      sheet.version)
