"""Cluster naming panel: each cluster's suggested name, its reason, size and profile, an editable name
saved in the results store, and the history of changes, who made them, with a revert per change.

Nothing typed is lost. The page remembers, per cluster, the names version at which it last showed that
cluster's saved name ("seen"). A save builds on that version, so the store refuses it as a conflict when
someone renamed that cluster since, and says whose name won; Save again replaces it deliberately. The
team's names arrive while the user types (the shell polls them): a field the user has not edited takes
the new name, a field with unsaved text keeps it, with a note that the saved name changed meanwhile.
The names file (the JSON ``amc cluster --names`` reads) is downloaded and uploaded here too.
"""
from __future__ import annotations

import time
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from analysis.figures import cluster_colour
from analysis.limits import CLUSTER_NAME_MAX
from dashboard.auth import signed_in_user
from dashboard.host import Panel, PanelHost, RunView, dom_id, names_data, names_for, names_list
from dashboard.panels.names_file import names_io_controls, register_names_io
from dashboard.store import InvalidName, NameConflict, UnknownRun

SHOWN_FEATURES = 3
HISTORY_PAGE = 50  # changes listed at first, and added by each "Show more"
AUTHOR = "naming-author"  # the display name a user gives once; the browser keeps it (localStorage)


def part(name: str, **keys) -> dict:
    return {**PANEL.part_id(name), **keys}


def layout(view: RunView):
    model = view.result.models[view.k]
    total = int(model.sizes.sum()) or 1
    names = names_list(view)
    return html.Div(
        [
            # "base": the names version the page shows; "drawn": per cluster the name its field was given
            # and the version at which the page last showed that cluster's saved name.
            dcc.Store(id=part("base"), data=view.names_version),
            dcc.Store(id=part("drawn"), data={"names": names, "seen": [view.names_version] * view.k}),
            dcc.Store(id=part("history-shown"), data=HISTORY_PAGE),
            dcc.Store(id=part("unsaved"), data=0),
            html.Div(id=part("alert"), role="status"),
            dbc.Row(
                [
                    dbc.Col(names_io_controls(), md=7),
                    dbc.Col(author_field(), md=5),
                ],
                className="g-2 mb-2 align-items-center",
            ),
            *[cluster_row(view, cluster, int(model.sizes[cluster]), total) for cluster in range(view.k)],
            html.H3("Changes", className="h6 mt-3"),
            html.Div(history_list(view.history, HISTORY_PAGE), id=part("history")),
        ]
    )


def author_field():
    """Who the history names for this user's changes (the login name fills it when login is on)."""
    return dbc.InputGroup(
        [
            dbc.Label("Your name", html_for=AUTHOR, class_name="input-group-text mb-0"),
            dbc.Input(id=AUTHOR, type="text", maxlength=60, placeholder="shown in the history",
                      persistence=True, persistence_type="local"),
        ],
        size="sm",
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
                                dbc.Label(f"Name of cluster {cluster}", html_for=dom_id(part("name", cluster=cluster)),
                                          class_name="visually-hidden"),
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


def history_list(history, shown: int, now: float | None = None) -> html.Div:
    """The latest ``shown`` changes, newest first, each with who made it and when; "Show more" for the rest."""
    if not history:
        return html.P("No names changed yet: the suggested names are in use.", className="text-muted small")
    now = time.time() if now is None else now
    latest = list(reversed(history))[:shown]
    items = [
        dbc.ListGroupItem(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Span(f"Cluster {change.cluster}: "), html.Span(change.old), " → ",
                            html.Strong(change.new),
                            html.Div(f"v{change.version} · {by_whom(change)}, {ago(change.at, now)}",
                                     title=when(change.at), className="small text-muted"),
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
        for change in latest
    ]
    more = len(history) - len(latest)
    return html.Div(
        [
            dbc.ListGroup(items, flush=True),
            dbc.Button(f"Show more ({more:,} older)", id=part("more"), size="sm", color="link",
                       class_name="px-0") if more > 0 else None,
        ]
    )


def by_whom(change) -> str:
    return f"renamed by {change.author}" if change.author else "renamed"


def ago(at: float, now: float) -> str:
    seconds = max(0, int(now - at))
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return "just now"


def when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def alert(message: str, colour: str) -> dbc.Alert:
    return dbc.Alert(message, color=colour, dismissable=True, className="mb-2")


def register(host: PanelHost) -> None:
    register_names_io(host)

    @host.callback(Output(AUTHOR, "value"), Output(AUTHOR, "disabled"), Input(AUTHOR, "id"))
    def signed_in_author(_mounted):
        """The drawn panel is shared by every user: the login name comes with each user's own request."""
        user = signed_in_user()
        if not user:
            raise PreventUpdate  # the name this browser keeps
        return user, True

    @host.callback(
        Output(part("history"), "children"),
        Output(part("base"), "data", allow_duplicate=True),
        Output(part("name", cluster=ALL), "value"),
        Output(part("drawn"), "data"),
        Output(part("alert"), "children", allow_duplicate=True),
        host.on_names(),
        host.shown(),
        State(part("drawn"), "data"),
        State(part("name", cluster=ALL), "value"),
        State(part("history-shown"), "data"),
        prevent_initial_call=True,
    )
    def show_names(names, shown, drawn, typed, history_shown):
        renamed = names_for(shown, names)
        if renamed is None or not drawn or len(typed) != len(renamed):
            raise PreventUpdate
        view = host.view(shown)
        fields, drawn, kept = follow_names(drawn, typed, renamed, view.names_version)
        note = alert(kept_note(kept, renamed), "warning") if kept else no_update
        return history_list(view.history, history_shown), view.names_version, fields, drawn, note

    @host.callback(
        Output(part("history"), "children", allow_duplicate=True),
        Output(part("history-shown"), "data"),
        Input(part("more"), "n_clicks"),
        State(part("history-shown"), "data"),
        host.shown(),
        prevent_initial_call=True,
    )
    def show_more(clicks, history_shown, shown):
        if not clicks:
            raise PreventUpdate
        more = history_shown + HISTORY_PAGE
        return history_list(host.view(shown).history, more), more

    @host.callback(
        host.state_output(),
        host.names_output(),
        Output(part("alert"), "children"),
        Output(part("drawn"), "data", allow_duplicate=True),
        Output(part("history"), "children", allow_duplicate=True),
        Input(part("save", cluster=ALL), "n_clicks"),
        Input(part("name", cluster=ALL), "n_submit"),
        Input(part("revert", version=ALL), "n_clicks"),
        State(part("name", cluster=ALL), "value"),
        State(part("name", cluster=ALL), "id"),
        State(part("drawn"), "data"),
        State(part("base"), "data"),
        State(AUTHOR, "value"),
        host.run_state(),
        prevent_initial_call=True,
    )
    def change_names(_saves, _submits, _reverts, values, ids, drawn, base_version, author, state):
        trigger = ctx.triggered_id
        if trigger is None or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # the panel or its history being drawn, not a click
        typed = {item["cluster"]: value for item, value in zip(ids, values)}
        return apply_change(host, state, dict(trigger), typed, drawn, base_version, author_of(author))

    host.clientside_callback(
        ClientsideFunction(namespace="amc_naming", function_name="countUnsaved"),
        Output(part("unsaved"), "data"),
        Input(part("name", cluster=ALL), "value"),
        Input(part("drawn"), "data"),
    )


def author_of(display_name: str | None) -> str:
    """Who a change is recorded as: the login name when login is on, else the name the user gave."""
    return signed_in_user() or (display_name or "")


def follow_names(drawn: dict, typed: list, names: list[str], version: int) -> tuple[list, dict, list[int]]:
    """What the fields become when the team's names move to ``version``.

    A field showing the name it was given (or already the new one) takes the new name and counts as
    seen at ``version``; a field with other text keeps it and its older seen version, so saving it
    is checked against the name it never showed. Returns (field values, drawn, clusters kept).
    """
    fields, seen, kept = [], list(drawn["seen"]), []
    for cluster, name in enumerate(names):
        value = typed[cluster]
        if value in (drawn["names"][cluster], name):
            fields.append(name if value != name else no_update)
            seen[cluster] = version
        else:
            fields.append(no_update)
            if name != drawn["names"][cluster]:
                kept.append(cluster)
    return fields, {"names": list(names), "seen": seen}, kept


def kept_note(kept: list[int], names: list[str]) -> str:
    renamed = "; ".join(f"cluster {c} is now {names[c]!r}" for c in kept)
    return f"While you typed, the saved names changed: {renamed}. Your text is kept; Save replaces theirs."


def apply_change(host: PanelHost, state: dict, trigger: dict, typed: dict[int, str | None], drawn: dict,
                 base_version: int, author: str):
    """Saves the name typed for the clicked cluster, or reverts the clicked change.

    A save builds on the version at which the page last showed that cluster's name, a revert on the
    version the page shows. Returns (run-state, names, alert, drawn, history): the run state and the
    names change only when the names did, and every panel then shows them at once; a refusal leaves the
    page as it is and says why; a
    conflict shows the history that beat the user's save and counts the cluster as seen, so a second
    Save replaces the other name deliberately.
    """
    view = host.view(state)
    store = host.store
    cluster = trigger.get("cluster")
    try:
        if trigger["part"] == "revert":
            sheet = store.revert(view.run_id, view.k, trigger["version"], base_version, author=author)
        else:
            sheet = store.rename(view.run_id, view.k, cluster, typed.get(cluster) or "",
                                 drawn["seen"][cluster], author=author)
    except NameConflict as conflict:
        message = f"{conflict}. Save again to replace their name with yours."
        seen = [conflict.current.version if c == conflict.cluster else v for c, v in enumerate(drawn["seen"])]
        return (no_update, no_update, alert(message, "warning"), {**drawn, "seen": seen},
                history_list(conflict.current.history, HISTORY_PAGE))
    except (InvalidName, UnknownRun) as refused:
        return no_update, no_update, alert(str(refused), "danger"), no_update, no_update
    if sheet.version == view.names_version:
        return no_update, no_update, alert("Nothing changed: that is already the name.", "info"), no_update, no_update
    return (host.with_names_version(state, sheet.version), names_data(view, sheet), None, no_update,
            history_list(sheet.history, HISTORY_PAGE))


PANEL = Panel(
    name="naming",
    title="Cluster naming",
    needs=frozenset({"models"}),
    layout=layout,
    register=register,
    order=50,
    patches_names=True,
    scripts=(Path(__file__).resolve().parent / "naming.js",),
)
