"""Compare & history panel: the runs stored for the dataset on screen, each opened with one click, and two
clusterings of its songs side by side (two k of one run, or two runs): how songs move between their clusters,
as a Sankey and a contingency table labelled with the team's names, with the adjusted Rand index.

The two clusterings chosen are part of the page's link (``host.link_output``): a colleague opening it sees
the same comparison.
"""
from __future__ import annotations

import dataclasses
import time

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from analysis.compare import Comparison, compare, flows, rows_in
from analysis.figures import contingency_figure, flow_figure
from analysis.result import RunParams, RunResult, default_log_features
from dashboard.host import PANEL_LINK, Panel, PanelHost, RunView, ViewUnavailable, dom_id
from dashboard.panels.common import graph
from dashboard.store import RunInfo

SIDES = ("a", "b")
RUN_LABEL_CHARS = 60  # a run's label in a picker, which fits a laptop's panel
# RunParams fields a person chose; the rest (silhouette sampling) are told only when they differ too.
PARAMS_DEFAULT = RunParams()


def layout(view: RunView):
    return html.Div(
        [
            # The view this drawing is of: its arrival fills the history and the choice (they need the store).
            dcc.Store(id=PANEL.part_id("view"),
                      data={"dataset_id": view.result.dataset_id, "run_id": view.run_id, "k": view.k}),
            html.H3("Run history", className="h6"),
            html.Div(id=PANEL.part_id("history")),
            html.H3("Compare two clusterings", className="h6 mt-3"),
            html.Div(id=PANEL.part_id("chooser")),
        ]
    )


def history(runs: list[RunInfo], shown_run: str) -> dbc.Table:
    """One row per stored run, newest first, each with a button that opens it (but the one on screen)."""
    authors = any(info.started_by for info in runs)
    header = ["run", "stored", "parameters (besides the defaults)", "recommended k", *(["started by"] if authors else []),
              ""]
    rows = []
    for number, info in numbered(runs):
        shown = info.run_id == shown_run
        opener = dbc.Button("Shown" if shown else "Open", id=PANEL.part_id("open", run=info.run_id), size="sm",
                            color="secondary" if shown else "primary", outline=shown, disabled=shown,
                            title=f"Open run {number}")
        cells = [str(number), stored_at(info.stored_at), params_summary(info.params), str(info.recommended_k),
                 *([info.started_by or "–"] if authors else [])]
        rows.append(html.Tr([*[html.Td(cell) for cell in cells], html.Td(opener)],
                            className="table-active" if shown else None))
    return dbc.Table([html.Thead(html.Tr([html.Th(title) for title in header])), html.Tbody(rows)],
                     id=PANEL.part_id("runs"), size="sm", striped=True, responsive=True)


def numbered(runs: list[RunInfo]) -> list[tuple[int, RunInfo]]:
    """Runs newest first, numbered in the order they were stored (run 1 is the oldest)."""
    return [(len(runs) - position, info) for position, info in enumerate(runs)]


def stored_at(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def params_summary(params: RunParams) -> str:
    """The parameters that differ from the defaults, in words: "without tempo · seed 7"; "defaults" when none do."""
    told = []
    dropped = [feature for feature in PARAMS_DEFAULT.features if feature not in params.features]
    if dropped:
        told.append(f"only {', '.join(params.features)}" if len(dropped) > len(params.features)
                    else f"without {', '.join(dropped)}")
    if params.log_features != default_log_features(params.features):
        told.append(f"log1p on {', '.join(params.log_features)}" if params.log_features else "no log1p")
    if params.clip_percentiles is not None:
        low, high = params.clip_percentiles
        told.append(f"clipped to percentiles {low:g}–{high:g}"
                    + (f" of {', '.join(params.clip_features)}" if params.clip_features else ""))
    if (params.k_min, params.k_max) != (PARAMS_DEFAULT.k_min, PARAMS_DEFAULT.k_max):
        told.append(f"k {params.k_min}–{params.k_max}")
    if params.k is not None:
        told.append(f"k fixed at {params.k}")
    described = {"features", "log_features", "clip_percentiles", "clip_features", "k_min", "k_max", "k"}
    for field in dataclasses.fields(RunParams):
        value = getattr(params, field.name)
        if field.name not in described and value != getattr(PARAMS_DEFAULT, field.name):
            told.append(f"{field.name.replace('_', ' ')} {value}")
    return " · ".join(told) or "defaults"


def with_shown_run(runs: list[RunInfo], result: RunResult) -> list[RunInfo]:
    """The history, with the run on screen in it even when it was stored before the history was kept."""
    if any(info.run_id == result.run_id for info in runs):
        return runs
    shown = RunInfo(result.run_id, result.dataset_id, result.params, result.sweep.recommended_k, result.chosen_k,
                    result.created_at)
    return sorted([*runs, shown], key=lambda info: info.stored_at, reverse=True)


Choice = tuple[str, int]  # (run id, k)


def default_choice(view: RunView) -> tuple[Choice, Choice]:
    """The run on screen at its k against the same run at the next k (the one before, at the sweep's end)."""
    ks = sorted(view.result.models)
    other = view.k + 1 if view.k + 1 in view.result.models else (view.k - 1 if view.k - 1 in ks else view.k)
    return (view.run_id, view.k), (view.run_id, other)


def linked_choice(link: dict | None, runs: list[RunInfo]) -> tuple[Choice, Choice] | None:
    """The choice a link carries (``{a: <run>, ak: <k>, b: ..., bk: ...}``), or None when it names no run and
    k of this dataset's history."""
    ks = {info.run_id: info.params.ks for info in runs}
    chosen = []
    for side in SIDES:
        run_id, k_text = str((link or {}).get(side, "")), str((link or {}).get(side + "k", ""))
        if run_id not in ks or not k_text.isdigit() or int(k_text) not in ks[run_id]:
            return None
        chosen.append((run_id, int(k_text)))
    return chosen[0], chosen[1]


def link_of(a: Choice, b: Choice) -> dict[str, str]:
    """The link's parameters for a choice: short ids only, as the host takes them."""
    return {key: value for side, (run_id, k) in zip(SIDES, (a, b)) for key, value in ((side, run_id), (side + "k", str(k)))}


def chooser(runs: list[RunInfo], choice: tuple[Choice, Choice]):
    """A row per side: which run, which k. A run's label is its number, when and what differs, cut to fit."""
    labels = {info.run_id: cut(f"run {number} · {stored_at(info.stored_at)} · {params_summary(info.params)}")
              for number, info in numbered(runs)}
    ks = {info.run_id: info.params.ks for info in runs}
    rows = []
    for side, (run_id, k) in zip(SIDES, choice):
        run_select, k_select = PANEL.part_id("run", side=side), PANEL.part_id("k", side=side)
        rows.append(dbc.Row(
            [
                dbc.Col(dbc.Label(f"{side.upper()}: run", html_for=dom_id(run_select)), width="auto"),
                dbc.Col(dbc.Select(id=run_select, value=run_id,
                                   options=[{"label": label, "value": run} for run, label in labels.items()])),
                dbc.Col(dbc.Label("k", html_for=dom_id(k_select)), width="auto"),
                dbc.Col(dbc.Select(id=k_select, options=k_options(ks[run_id]), value=str(k)), width="auto"),
            ],
            class_name="g-2 align-items-center mb-2",
        ))
    # What ``show`` writes arrives with what it reads: a part of the page it writes while its choices are not
    # drawn yet would wake it on a rename with inputs missing.
    return html.Div([
        *rows,
        html.Div(id=PANEL.part_id("comparison"), className="mt-2"),
        dcc.Store(id=PANEL.part_id("choice")),  # the two shown, as the link writes them
    ])


def cut(label: str) -> str:
    return label if len(label) <= RUN_LABEL_CHARS else label[:RUN_LABEL_CHARS - 1].rstrip() + "…"


def k_options(ks) -> list[dict]:
    return [{"label": f"k = {k}", "value": str(k)} for k in ks]


def comparison_view(comparison: Comparison, names_a: dict[int, str], names_b: dict[int, str],
                    label_a: str, label_b: str, pair: dict[str, str]):
    same = "; the two are the same clustering" if label_a == label_b else ""
    title = f"{label_a} → {label_b}"
    return html.Div(
        [
            dcc.Store(id=PANEL.part_id("pair"), data=pair),  # the two drawn, for a click on a flow
            html.P("Click a band of the Sankey or a cell of the table: its songs become the playlist builder's "
                   "source.", className="text-muted small mb-1"),
            html.P(
                [html.Strong(f"ARI {comparison.ari:.3f}", id=PANEL.part_id("ari")),
                 f" between A ({label_a}) and B ({label_b}): 1 means the same clusters, 0 no more alike than "
                 f"chance{same}."],
                className="mb-1",
            ),
            graph(PANEL.part_id("flow"), flow_figure(comparison.table, names_a, names_b, f"Songs moving, {title}")),
            graph(PANEL.part_id("table"), contingency_figure(comparison.table, comparison.shares, names_a, names_b,
                                                             f"Where each cluster of A went in B, {title}",
                                                             f"A: {label_a}", f"B: {label_b}")),
            html.H4("Where the songs of each cluster of A went", className="h6 mt-2"),
            destinations(comparison, names_a, names_b),
        ]
    )


def destinations(comparison: Comparison, names_a: dict[int, str], names_b: dict[int, str]) -> dbc.Table:
    rows = []
    for cluster, size in enumerate(comparison.sizes_a):
        went = " · ".join(f"{names_b.get(b, f'Cluster {b}')}: {share:.0%} ({songs:,})"
                          for b, songs, share in comparison.destinations(cluster))
        rows.append(html.Tr([html.Td(names_a.get(cluster, f"Cluster {cluster}")), html.Td(f"{size:,}"),
                             html.Td(went or "–")]))
    header = html.Thead(html.Tr([html.Th("cluster of A"), html.Th("songs"), html.Th("in B")]))
    return dbc.Table([header, html.Tbody(rows)], id=PANEL.part_id("destinations"), size="sm", striped=True)


def clicked_flow(click: dict | None, table, from_table: bool) -> tuple[int, int] | None:
    """The (cluster of A, cluster of B) a click names: a cell of the contingency heatmap (x is B's cluster, y
    A's), or a band of the Sankey (its n-th band joins the n-th pair that shares songs); None for a Sankey node,
    whose click data has a ``depth``."""
    point = ((click or {}).get("points") or [{}])[0]
    if from_table:
        return (int(point["y"]), int(point["x"])) if "x" in point and "y" in point else None
    if "depth" in point or "pointNumber" not in point:
        return None
    a, b = flows(table)
    number = int(point["pointNumber"])
    return (int(a[number]), int(b[number])) if 0 <= number < len(a) else None


def side_label(run_id: str, k: int, runs: list[RunInfo], shown_run: str) -> str:
    if run_id == shown_run:
        return f"k={k}"
    number = next(number for number, info in numbered(runs) if info.run_id == run_id)
    return f"run {number}, k={k}"


def register(host: PanelHost) -> None:
    def runs_of(view: RunView) -> list[RunInfo]:
        return with_shown_run(host.store.list_runs(view.result.dataset_id), view.result)

    @host.callback(
        Output(PANEL.part_id("history"), "children"),
        Output(PANEL.part_id("chooser"), "children"),
        Input(PANEL.part_id("view"), "data"),
        host.on_link(),
    )
    def setup(shown, link):
        if ctx.triggered_id == PANEL_LINK:
            raise PreventUpdate  # the link follows the choice drawn here; only the one opened chooses
        view = host.view(shown)
        runs = runs_of(view)
        linked = linked_choice(host.link_params(link), runs)
        return history(runs, view.run_id), chooser(runs, linked or default_choice(view))

    @host.callback(
        Output(PANEL.part_id("k", side="a"), "options"),
        Output(PANEL.part_id("k", side="a"), "value"),
        Output(PANEL.part_id("k", side="b"), "options"),
        Output(PANEL.part_id("k", side="b"), "value"),
        Output(PANEL.part_id("comparison"), "children"),
        Output(PANEL.part_id("choice"), "data"),
        Input(PANEL.part_id("run", side="a"), "value"),
        Input(PANEL.part_id("k", side="a"), "value"),
        Input(PANEL.part_id("run", side="b"), "value"),
        Input(PANEL.part_id("k", side="b"), "value"),
        host.on_names(),
        State(PANEL.part_id("view"), "data"),
        State(PANEL.part_id("choice"), "data"),
    )
    def show(run_a, k_a, run_b, k_b, _names, shown, linked):
        view = host.view(shown)
        runs = runs_of(view)
        answer, choice = [], []
        for run_id, k_text in ((run_a, k_a), (run_b, k_b)):
            info = next((info for info in runs if info.run_id == run_id), None)
            if info is None:
                raise ViewUnavailable(f"run {run_id!r} is not among the runs stored for {view.result.dataset_name}")
            k = int(k_text) if str(k_text).isdigit() and int(k_text) in info.params.ks else info.chosen_k
            answer += [k_options(info.params.ks), no_update if str(k) == str(k_text) else str(k)]
            choice.append((run_id, k))
        results = [host.store.get_run(run_id) for run_id, _ in choice]
        if any(result is None for result in results):
            raise ViewUnavailable("a run of the comparison is no longer stored")
        (a, k_a), (b, k_b) = choice
        comparison = compare(results[0].models[k_a].labels, results[1].models[k_b].labels, k_a, k_b)
        names_a, names_b = host.store.get_names(a, k_a).names, host.store.get_names(b, k_b).names
        labels = [side_label(run_id, k, runs, view.run_id) for run_id, k in choice]
        # The default needs nothing in the link; drawn first, it leaves the link (maybe another panel's) alone.
        default = (choice[0], choice[1]) == default_choice(view)
        link = no_update if default and linked is None else ({} if default else link_of(*choice))
        return (*answer, comparison_view(comparison, names_a, names_b, *labels, link_of(*choice)), link)

    @host.callback(
        host.selection_output(),
        Input(PANEL.part_id("flow"), "clickData"),
        Input(PANEL.part_id("table"), "clickData"),
        State(PANEL.part_id("pair"), "data"),
        State(PANEL.part_id("view"), "data"),
        prevent_initial_call=True,
    )
    def make_playlist(flow_click, table_click, pair, shown):
        view = host.view(shown, songs=True)
        (a, k_a), (b, k_b) = linked_choice(pair, runs_of(view)) or default_choice(view)
        results = [host.store.get_run(a), host.store.get_run(b)]
        if any(result is None for result in results):
            raise ViewUnavailable("a run of the comparison is no longer stored")
        labels_a, labels_b = results[0].models[k_a].labels, results[1].models[k_b].labels
        clicked = table_click if ctx.triggered_id == PANEL.part_id("table") else flow_click
        flow = clicked_flow(clicked, compare(labels_a, labels_b, k_a, k_b).table,
                            from_table=clicked is table_click)
        if flow is None:
            raise PreventUpdate  # a Sankey node: the songs of one cluster, not a flow between two
        cluster_a, cluster_b = flow
        names_a, names_b = host.store.get_names(a, k_a).names, host.store.get_names(b, k_b).names
        runs = runs_of(view)
        label = (f"{names_a.get(cluster_a, cluster_a)} → {names_b.get(cluster_b, cluster_b)} "
                 f"({side_label(a, k_a, runs, view.run_id)} → {side_label(b, k_b, runs, view.run_id)})")
        return host.select_songs(view, rows_in(labels_a, labels_b, cluster_a, cluster_b), label)

    @host.callback(host.link_output(), Input(PANEL.part_id("choice"), "data"), prevent_initial_call=True)
    def write_link(choice):
        return host.link_data(**choice)

    @host.callback(
        host.state_output(),
        host.link_output(),
        Input(PANEL.part_id("open", run=ALL), "n_clicks"),
        prevent_initial_call=True,
    )
    def open_run(_clicks):
        if not ctx.triggered_id or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # a button drawn anew, not clicked
        result = host.store.get_run(ctx.triggered_id["run"])
        if result is None:
            raise ViewUnavailable(f"run {ctx.triggered_id['run']} is no longer stored")
        k = result.chosen_k
        state = {"dataset_id": result.dataset_id, "run_id": result.run_id, "k": k,
                 "names_version": host.store.get_names(result.run_id, k).version}
        return state, host.link_data()  # the new run's comparison starts from its default


PANEL = Panel(
    name="compare",
    title="Compare & history",
    needs=frozenset({"models"}),
    layout=layout,
    register=register,
    order=90,
    follows_k=False,  # the two clusterings are chosen in the panel; the active k only sets the first default
    patches_names=True,  # a rename reaches ``show`` through host.on_names and is drawn there
)
