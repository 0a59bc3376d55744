"""Cluster naming panel: each cluster's suggested name, its reason, size and profile, an editable name
saved in the results store, and the history of changes with a revert per change.

Saves are conflict-safe: the store refuses a save based on an outdated version of the names, the
panel shows whose name won and keeps the user's text, so a second Save replaces it deliberately.
The names file (the JSON ``amc cluster --names`` reads) is downloaded and uploaded here too.
"""
from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from analysis.figures import cluster_colour
from analysis.limits import CLUSTER_NAME_MAX
from dashboard.host import Panel, PanelHost, RunView, names_for, names_list
from dashboard.panels.names_file import names_io_controls, register_names_io
from dashboard.store import InvalidName, NameConflict, UnknownRun

SHOWN_FEATURES = 3


def part(name: str, **keys) -> dict:
    return {**PANEL.part_id(name), **keys}


def layout(view: RunView):
    model = view.result.models[view.k]
    total = int(model.sizes.sum()) or 1
    return html.Div(
        [
            # "base" is the version the next save builds on, moved on by a conflict or the team's names;
            # "drawn" the names the fields were last given, so that a rename changes only its own field.
            dcc.Store(id=part("base"), data=view.names_version),
            dcc.Store(id=part("drawn"), data={"names": names_list(view)}),
            html.Div(id=part("alert")),
            html.Div(names_io_controls(), className="mb-2"),
            *[cluster_row(view, cluster, int(model.sizes[cluster]), total) for cluster in range(view.k)],
            html.H6("Changes", className="mt-3"),
            html.Div(history_list(view.history), id=part("history")),
        ]
    )


def cluster_row(view: RunView, cluster: int, size: int, total: int) -> dbc.Card:
    model = view.result.models[view.k]
    suggestion = model.suggested_names[cluster]
    profile = ", ".join(f"{feature} {z:+.1f}σ" for feature, z in model.top_features[cluster][:SHOWN_FEATURES])
    swatch = html.Span(className="d-inline-block rounded-circle me-2",
                       style={"width": "0.8rem", "height": "0.8rem", "background": cluster_colour(cluster)})
    return dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div([swatch, html.Strong(f"Cluster {cluster}"),
                                      html.Span(f" · {size:,} songs ({size / total:.0%})", className="text-muted")]),
                            html.Div(["Suggested: ", html.Em(suggestion.name), f" ({suggestion.reason})"],
                                     className="small"),
                            html.Div(f"Profile: {profile}", className="small text-muted"),
                        ],
                        md=6,
                    ),
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.Input(id=part("name", cluster=cluster), value=view.names.get(cluster, ""),
                                          maxlength=CLUSTER_NAME_MAX, type="text"),
                                dbc.Button("Save", id=part("save", cluster=cluster), color="primary"),
                            ]
                        ),
                        md=6,
                        className="align-self-center",
                    ),
                ]
            )
        ),
        className="mb-2",
    )


def history_list(history) -> html.Div:
    if not history:
        return html.P("No names changed yet: the suggested names are in use.", className="text-muted small")
    return dbc.ListGroup(
        [
            dbc.ListGroupItem(
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                html.Span(f"v{change.version} · {when(change.at)} · cluster {change.cluster}: "),
                                html.Span(change.old), " → ", html.Strong(change.new),
                            ]
                        ),
                        dbc.Col(
                            dbc.Button("Revert", id=part("revert", version=change.version), size="sm",
                                       color="secondary", outline=True),
                            width="auto",
                        ),
                    ],
                    className="align-items-center",
                )
            )
            for change in reversed(history)
        ],
        flush=True,
    )


def when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def alert(message: str, colour: str) -> dbc.Alert:
    return dbc.Alert(message, color=colour, dismissable=True, className="mb-2")


def register(host: PanelHost) -> None:
    register_names_io(host)

    @host.callback(
        Output(part("history"), "children"),
        Output(part("base"), "data", allow_duplicate=True),
        Output(part("name", cluster=ALL), "value"),
        Output(part("drawn"), "data"),
        host.on_names(),
        host.shown(),
        State(part("drawn"), "data"),
        prevent_initial_call=True,
    )
    def show_names(names, shown, drawn):
        """The history, and each field whose saved name changed, follow the team's names; a field whose
        cluster was not renamed keeps what the user typed in it."""
        renamed = names_for(shown, names)
        if renamed is None:
            raise PreventUpdate
        view = host.view(shown)
        before = (drawn or {}).get("names") or renamed
        fields = [name if name != before[cluster] else no_update for cluster, name in enumerate(renamed)]
        return history_list(view.history), view.names_version, fields, {"names": renamed}

    @host.callback(
        host.state_output(),
        Output(part("alert"), "children"),
        Output(part("base"), "data"),
        Output(part("history"), "children", allow_duplicate=True),
        Input(part("save", cluster=ALL), "n_clicks"),
        Input(part("name", cluster=ALL), "n_submit"),
        Input(part("revert", version=ALL), "n_clicks"),
        State(part("name", cluster=ALL), "value"),
        State(part("name", cluster=ALL), "id"),
        State(part("base"), "data"),
        host.run_state(),
        prevent_initial_call=True,
    )
    def change_names(_saves, _submits, _reverts, values, ids, base_version, state):
        trigger = ctx.triggered_id
        if trigger is None or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # the panel or its history being drawn, not a click
        typed = {item["cluster"]: value for item, value in zip(ids, values)}
        return apply_change(host, state, dict(trigger), typed, base_version)


def apply_change(host: PanelHost, state: dict, trigger: dict, typed: dict[int, str | None], base_version: int):
    """Saves the name typed for the clicked cluster, or reverts the clicked change.

    Returns (run-state, alert, base version, history): the run state changes only when the names did,
    so every panel shows them; a refusal leaves the page as it is and says why, and a conflict
    also shows the history that beat the user's save.
    """
    view = host.view(state)
    store = host.store
    try:
        if trigger["part"] == "revert":
            sheet = store.revert(view.run_id, view.k, trigger["version"], base_version)
        else:
            sheet = store.rename(view.run_id, view.k, trigger["cluster"], typed.get(trigger["cluster"]) or "",
                                 base_version)
    except NameConflict as conflict:
        message = f"{conflict}. Save again to replace their name with yours."
        return no_update, alert(message, "warning"), conflict.current.version, history_list(conflict.current.history)
    except (InvalidName, UnknownRun) as refused:
        return no_update, alert(str(refused), "danger"), no_update, no_update
    if sheet.version == view.names_version:
        return no_update, alert("Nothing changed: that is already the name.", "info"), no_update, no_update
    return host.with_names_version(state, sheet.version), None, sheet.version, no_update


PANEL = Panel(
    name="naming",
    title="Cluster naming",
    needs=frozenset({"models"}),
    layout=layout,
    register=register,
    order=50,
    patches_names=True,
)
