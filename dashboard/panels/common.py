"""What the built-in panels share: graphs with one look and local buttons only, and figures kept per run."""
from __future__ import annotations

from dash import Patch, dcc, html, no_update

from analysis.figures import escape, shown_label
from analysis.result import RunResult
from dashboard.store import Memo

# Local actions only: nothing offers to send a chart, or the songs in its hover text, to a cloud.
GRAPH_CONFIG = {"displaylogo": False, "showSendToCloud": False}
RUN_FIGURES_KEPT = 64  # figures of a few kB each
_RUN_FIGURES = Memo(RUN_FIGURES_KEPT)


def graph(component_id: dict, figure: dict, **config) -> dcc.Graph:
    """A graph of a plotly figure (plotly JSON, as ``analysis.figures`` builds it) with the dashboard's modebar."""
    return dcc.Graph(id=component_id, figure=figure, config={**GRAPH_CONFIG, **config})


def run_figure(kind: str, result: RunResult, build) -> dict:
    """A figure drawn from the stored run alone, never from k or names, as plotly JSON built once.

    A stored run never changes, so every user and every redraw of the run reuses it.
    """
    key = f"{kind}:{result.run_id}"
    figure = _RUN_FIGURES.get(key)
    if figure is None:
        figure = build()
        _RUN_FIGURES.put(key, figure)
    return figure


def renamed_axis(names: list[str] | None, axis: str, hover: str, columns: int = 0):
    """A figure patch for a chart with clusters on ``axis``: its ticks show the cut names, and the whole
    names go where its hover reads them: each violin trace's ``name`` (``hover="traces"``) or the one
    trace's ``hovertext`` (``hover="hovertext"``, a row of ``columns`` copies per cluster for a heatmap)."""
    if names is None:
        return no_update
    patch = Patch()
    patch["layout"][axis]["ticktext"] = [shown_label(name) for name in names]
    if hover == "traces":
        for cluster, name in enumerate(names):
            patch["data"][cluster]["name"] = escape(name)
    elif columns:
        patch["data"][0]["hovertext"] = [[escape(name)] * columns for name in names]
    else:
        patch["data"][0]["hovertext"] = [escape(name) for name in names]
    return patch


def section(title: str, children: list):
    """A titled group of controls, announced as one by a screen reader; a keyboard user crosses it in a
    few presses of Tab."""
    return html.Fieldset([html.Legend(title, className="h6 mb-1"), *children], className="amc-section mb-3")
