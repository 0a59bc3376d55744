"""The dashboard shell: header, run bar, dataset picker, run parameters, and one panel on screen at a time.

The browser keeps ids only (``run-state``); every view is drawn on the server from the results store.
Panels come from the registry and reach the shell only through their ``PanelHost``. A panel is drawn
when it is first shown, and again only when what it depends on changed: the run, the k (when it
follows k) or, for a panel that does not put renamed clusters in place itself, the names.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import secrets
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs

import dash
import dash_bootstrap_components as dbc
import flask
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from analysis import figures
from analysis.dataset import DataError, Dataset, load_csv
from analysis.limits import K_HIGHEST, K_LOWEST, SEED_HIGHEST
from analysis.pipeline import check_params
from analysis.result import AUDIO_FEATURES, HEAVY_TAILED, ParameterError, RunParams, RunResult, run_id_for
from dashboard import ids
from dashboard.auth import auth_settings, protect, session_owner, signed_in_user
from dashboard.config import Config
from dashboard.exports import DATASET_ROUTE, register_dataset_export
from dashboard.guard import LoginThrottle, callback_body_limit, check_callback_shape
from dashboard.health import add_health_route
from dashboard.host import (
    Panel,
    PanelHost,
    ViewUnavailable,
    link_params_of,
    names_data,
    resolve_view,
    status_id,
    unavailable_alert,
    view_store_id,
)
from dashboard.jobs import RunJobs, error_alert, new_ticket
from dashboard.limits import SessionBusy
from dashboard.parses import ParsesBusy, read_upload, refused_in_browser
from dashboard.uploads import register_upload_route, upload_url
from dashboard.panels.common import section
from dashboard.panels.registry import failed_panel, load_panels
from dashboard.store import Memo, ResultsStore, StoreUnavailable, UnknownRun

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
DEMO_CSV = ROOT / "data" / "demo_songs.csv"
VENDOR_ROUTE = "/_amc/vendor/"
# Headers and a multipart form's framing around an upload of the largest allowed size.
UPLOAD_ENVELOPE_BYTES = 2 * 1024 * 1024
REPORT_LINES_SHOWN = 5
# Drawn panels kept per process: every user viewing a run at a k gets the same components.
DRAWN_KEPT = 32
DEMO_LABEL, START_UP_LABEL, UPLOADED_LABEL = "Demo", "Start-up file", "Uploaded"
SHELL = "shell"  # the shell's own namespace for routes: the full-dataset export
NAMES_POLL_MS = 2_000  # how often a page asks whether the team renamed a cluster: renames show within 5 s
FIRST_PANEL = "pca"  # the songs' map is the first view of a run, when that panel is there
ASSET_CACHE_SECONDS = 24 * 3600
# The page around the app: Dash's placeholders, and the language a screen reader should speak.
INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""
# The parameter inputs, in the order ``params_from_form`` takes their values.
FORM_PARTS = (ids.FEATURES, ids.LOG_FEATURES, ids.CLIP, ids.CLIP_RANGE, ids.K_MIN, ids.K_MAX, ids.SEED)


@dataclass(frozen=True)
class Shell:
    """What the callbacks of one app share."""

    config: Config
    store: ResultsStore
    jobs: RunJobs
    panels: tuple[Panel, ...]
    offered: dict[str, str]  # dataset id -> how the picker introduces it ("Demo", "Start-up file")
    chosen: str | None  # the dataset the picker starts with
    offered_songs: dict[str, Dataset] = field(default_factory=dict)  # put back into a store that lost them
    host: PanelHost | None = None  # the shell's own routes
    drawn: Memo = field(default_factory=lambda: Memo(DRAWN_KEPT))  # panel draw key -> components

    @property
    def first_panel(self) -> str | None:
        names = [panel.name for panel in self.panels]
        return FIRST_PANEL if FIRST_PANEL in names else (names[0] if names else None)


def create_app(config: Config, panels: list[Panel] | None = None) -> dash.Dash:
    """Raises ConfigError (bad login settings), DataError (bad start-up file) or StoreUnavailable."""
    login = auth_settings(config.users_file, config.users, config.trusted_user_header, config.trusted_proxies)
    store = ResultsStore.from_config(config)
    jobs = RunJobs(config, store)
    app = dash.Dash(
        __name__,
        title="Amazon Music Clustering",
        index_string=INDEX_PAGE,
        update_title=None,
        assets_folder=str(ASSETS),
        external_stylesheets=[VENDOR_ROUTE + "bootstrap.min.css"],
        suppress_callback_exceptions=True,  # panel parts appear only once a panel is drawn
        background_callback_manager=jobs.manager,
        on_error=report_error,
    )
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = config.max_upload_bytes + UPLOAD_ENVELOPE_BYTES
    # One key for every worker and server: sessions and background-job handles must verify anywhere.
    server.secret_key = config.secret_key or store.secret_key()
    gate = protect(app, login, LoginThrottle(store.backend))
    _check_callbacks_early(server, gate is not None)
    add_health_route(server, store.backend, jobs.queue, jobs.kind, gate.signed_in if gate else None,
                     jobs.manager.workers if jobs.celery is not None else None)
    _serve_bootstrap(server)
    register_upload_route(app, config)
    server.register_error_handler(StoreUnavailable, _store_unavailable_answer)
    shell_host = PanelHost(app, store, SHELL, needs_songs=True)
    register_dataset_export(shell_host)
    registered = register_panels(app, store, load_panels() if panels is None else panels, config, jobs)
    shell = Shell(config, store, jobs, registered, *_offer_datasets(config, store), host=shell_host)
    # The first run after a start draws as fast as the next: the offered songs' figures are prepared now,
    # before any request. Not in a thread: a run's process is forked from this one, and a fork copies the
    # locks other threads hold (SQLite's among them) held, forever.
    for dataset in shell.offered_songs.values():
        figures.prepare(dataset.frame)
    app.layout = partial(build_layout, shell)
    _register_shell(app, shell)
    jobs.register(app)
    return app


def register_panels(app: dash.Dash, store: ResultsStore, panels: list[Panel], config: Config | None = None,
                    jobs: RunJobs | None = None) -> tuple[Panel, ...]:
    """Hand each panel its host; a panel whose ``register`` raises is shown as a failed panel instead."""
    registered = []
    for panel in sorted(panels, key=lambda p: p.order):
        host = PanelHost(app, store, panel.name, needs_songs="dataset" in panel.needs, config=config, jobs=jobs)
        try:
            _ship_assets(app, host, panel)
            if panel.register is not None:
                panel.register(host)
        except Exception as error:  # one broken plug-in must not keep the dashboard from starting
            log.exception("panel %s could not be registered", panel.name)
            panel = failed_panel(f"{panel.title} ({panel.name})", error, name=panel.name)
        registered.append(panel)
    return tuple(registered)


def _ship_assets(app: dash.Dash, host: PanelHost, panel: Panel) -> None:
    """Serve the scripts and stylesheets beside a panel's module and load them with the page."""
    for path, loaded_by in [*((p, app.config.external_scripts) for p in panel.scripts),
                            *((p, app.config.external_stylesheets) for p in panel.stylesheets)]:
        path = Path(path)
        route = f"static/{path.name}"
        host.route(route, partial(flask.send_file, path, max_age=ASSET_CACHE_SECONDS))
        # The content's hash in the link: a new version is never taken from a browser's cache.
        loaded_by.append(host.href(route, v=hashlib.sha256(path.read_bytes()).hexdigest()[:12]))


def _check_callbacks_early(server: flask.Flask, gated: bool) -> None:
    """A callback's size and shape are checked right after the login (the first check when there is one)
    and before anything else, dash-auth's check among them, which indexes the body unguarded."""
    checks = server.before_request_funcs.setdefault(None, [])
    at = 1 if gated else 0
    checks[at:at] = [callback_body_limit(), check_callback_shape]


def _store_unavailable_answer(error: StoreUnavailable) -> flask.Response:
    """A download or data route that meets a full or unreachable store says so in one line (503)."""
    log.error("request failed: %s", error)
    return flask.Response(f"{error}\n", status=503, mimetype="text/plain")


def report_error(error: Exception) -> None:
    """Any callback's unforeseen failure: words for the user, the traceback for the server log only."""
    if isinstance(error, StoreUnavailable):
        message = str(error)
        log.error("callback failed: %s", error)
    else:
        reference = secrets.token_hex(4)
        message = f"something went wrong on the server (reference {reference} in its log); try again"
        log.error("callback failed (reference %s)", reference, exc_info=error)
    dash.set_props(ids.JOB_ALERT, {"children": error_alert(message, "Sorry:")})


def _offer_datasets(config: Config, store: ResultsStore) -> tuple[dict[str, str], str | None, dict[str, Dataset]]:
    """Put the demo and the start-up file in the store; how the picker names them, which it starts with
    (the start-up file), and their songs.

    A bad start-up file stops the server with the loader's message (DataError).
    """
    offered, chosen, songs = {}, None, {}
    if DEMO_CSV.exists():
        demo = load_csv(DEMO_CSV)
        songs[demo.fingerprint] = demo
        try:
            chosen = store.put_dataset(demo)
            offered[chosen] = DEMO_LABEL
        except StoreUnavailable as error:  # a full store still serves what it holds
            log.error("the demo data is not offered: %s", error)
    else:
        log.warning("bundled demo data missing: %s", DEMO_CSV)
    if config.data_path is not None:
        start_up = load_csv(config.data_path)
        songs[start_up.fingerprint] = start_up
        chosen = store.put_dataset(start_up)
        offered.setdefault(chosen, START_UP_LABEL)  # `--data` given the demo file: it stays "Demo"
    return offered, chosen, songs


def _serve_bootstrap(server: flask.Flask) -> None:
    # Bootstrap's CSS from the installed package: the dashboard works with no internet access.
    css_dir = Path(importlib.util.find_spec("flask_bootstrap").submodule_search_locations[0]) / "static/bootstrap5/css"

    @server.route(VENDOR_ROUTE + "<path:filename>")
    def vendor(filename: str):
        return flask.send_from_directory(css_dir, filename, max_age=24 * 3600)


# layout


def build_layout(shell: Shell):
    """Called per page load, so the dataset list is the store's current one."""
    options, default = dataset_options(shell)
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.RUN_STATE),
            dcc.Store(id=ids.NAMES),
            dcc.Store(id=ids.SELECTION),
            dcc.Interval(id=ids.NAMES_POLL, interval=NAMES_POLL_MS),
            dcc.Store(id=ids.RUN_REQUEST),
            dcc.Store(id=ids.JOB_OUTCOME),
            dcc.Store(id=ids.PREFETCH),
            dcc.Store(id=ids.LINK_OPENED),
            dcc.Store(id=ids.SIDEBAR_RUN),
            dcc.Store(id=ids.PANEL_LINK, data={}),
            dcc.Store(id=ids.JOB_WATCH),
            dcc.Store(id=ids.UPLOAD_ACCEPTED),
            dcc.Store(id=ids.UPLOAD_REFUSED),
            dcc.Store(id=ids.UPLOAD_LIMIT, data={"bytes": shell.config.max_upload_bytes, "url": upload_url()}),
            # Never shown: its presence makes the page load plotly.js while the user still chooses data.
            dcc.Graph(id=ids.PLOTLY_PRELOAD, style={"display": "none"}, config={"displayModeBar": False}),
            html.A("Skip to the panels", href="#panel-tabs", className="visually-hidden-focusable amc-skip"),
            header(),
            run_bar(),
            dbc.Container(
                dbc.Row(
                    [
                        # A laptop's sidebar is a third of the width: the dataset names fit, uncut.
                        dbc.Col(controls(shell, options, default), lg=4, xxl=3, class_name="amc-controls"),
                        dbc.Col([html.Div(id=ids.RUN_SUMMARY), panel_area(shell)], lg=8, xxl=9,
                                class_name="amc-main"),
                    ],
                    class_name="g-3",
                ),
                fluid=True,
                class_name="py-3",
            ),
        ]
    )


def header():
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("Amazon Music Clustering", href="/"),
                html.Span("Group songs by how they sound, name the groups together", className="navbar-text"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
    )


def run_bar():
    """Run, Cancel, progress and the queue place: always in sight, at the top of the window."""
    return html.Div(
        dbc.Container(
            [
                dbc.Button("Run", id=ids.RUN_BUTTON, color="primary"),
                dbc.Button("Cancel", id=ids.CANCEL_BUTTON, color="secondary", outline=True, disabled=True),
                dbc.Progress(id=ids.PROGRESS, value=0, striped=True, class_name="amc-progress"),
                html.Div(id=ids.PROGRESS_WORDS, className="small text-muted amc-progress-words", children="Ready",
                         role="status"),
                html.Div(id=ids.JOB_ALERT, className="amc-job-alert"),
            ],
            fluid=True,
            class_name="d-flex flex-wrap align-items-center gap-2",
        ),
        className="amc-run-bar",
    )


def controls(shell: Shell, options: list[dict], default: str | None):
    """The sidebar in four small sections, each a handful of Tab presses from its start to its end."""
    defaults = RunParams()
    limit_mb = shell.config.max_upload_mb
    return dbc.Card(
        dbc.CardBody(
            [
                section("Songs", [
                    dbc.Label("Songs", html_for=ids.DATASET_PICKER, class_name="visually-hidden"),
                    dbc.Select(id=ids.DATASET_PICKER, options=options, value=default, size="sm", class_name="mb-2"),
                    dcc.ConfirmDialogProvider(
                        dbc.Button("Remove this upload", id=ids.REMOVE_DATASET_BUTTON, color="danger", outline=True,
                                   size="sm", class_name="mb-2", disabled=default in shell.offered),
                        id=ids.REMOVE_DATASET,
                        message="Remove these songs from the server? Runs made from them keep their results "
                                "but can no longer show or export the songs.",
                    ),
                    dcc.Upload(
                        id=ids.UPLOAD,
                        children=html.Div([
                            "Drop a songs CSV here or ",
                            html.Span("choose a file", className="link-primary text-decoration-underline"),
                            html.Div(f"at most {limit_mb} MB", className="small text-muted"),
                        ]),
                        accept=".csv,text/csv,.gz,application/gzip",
                        multiple=False,
                        className="amc-upload",
                    ),
                    html.Div(id=ids.UPLOAD_ALERT, className="mt-2"),
                ]),
                section("Sweep", [
                    dbc.Row(
                        [
                            _number("k from", ids.K_MIN, defaults.k_min, K_LOWEST, K_HIGHEST),
                            _number("k to", ids.K_MAX, defaults.k_max, K_LOWEST, K_HIGHEST),
                            _number("seed", ids.SEED, defaults.seed, 0, SEED_HIGHEST),
                        ],
                        class_name="g-2",
                    ),
                ]),
                section("Features", [
                    dbc.Label("Audio features clustered", html_for=ids.FEATURES, class_name="visually-hidden"),
                    dbc.Checklist(
                        id=ids.FEATURES,
                        options=[{"label": f, "value": f} for f in AUDIO_FEATURES],
                        value=list(defaults.features),
                        class_name="amc-features small",
                    ),
                ]),
                section("Transforms", [
                    dbc.Label("log1p for heavy-tailed", html_for=ids.LOG_FEATURES, class_name="small"),
                    dbc.Checklist(
                        id=ids.LOG_FEATURES,
                        options=[{"label": f, "value": f} for f in HEAVY_TAILED],
                        value=list(HEAVY_TAILED),
                        inline=True,
                        class_name="small",
                    ),
                    dbc.Switch(id=ids.CLIP, label="Clip every feature to percentiles", value=False,
                               class_name="small mt-2"),
                    dcc.RangeSlider(
                        id=ids.CLIP_RANGE, min=0, max=100, step=0.5, value=[1, 99],
                        marks={0: "0", 50: "50", 100: "100"},
                        tooltip={"placement": "bottom", "always_visible": True},
                    ),
                ]),
            ]
        )
    )


def _number(label: str, component_id: str, value: int, low: int, high: int):
    return dbc.Col(
        [
            dbc.Label(label, html_for=component_id, class_name="small"),
            dbc.Input(id=component_id, type="number", value=value, min=low, max=high, step=1, size="sm"),
        ]
    )


def dataset_options(shell: Shell) -> tuple[list[dict], str | None]:
    _offer_again(shell)
    infos = shell.store.list_datasets()
    first = sorted(infos, key=lambda info: (info.dataset_id not in shell.offered, info.added_at))
    options = [
        {"label": f"{info.name} · {info.rows:,} songs · {shell.offered.get(info.dataset_id, UPLOADED_LABEL)}",
         "value": info.dataset_id}
        for info in first
    ]
    return options, shell.chosen or (options[0]["value"] if options else None)


def _offer_again(shell: Shell) -> None:
    """The demo and start-up files go back into a store that lost them (a Redis restarted empty): a new page
    offers them at once, without waiting for a server restart."""
    for dataset_id in shell.offered:
        with contextlib.suppress(StoreUnavailable):  # a full store: the page says so where it matters
            if not shell.store.has_dataset(dataset_id):
                shell.store.put_dataset(shell.offered_songs[dataset_id])


def panel_area(shell: Shell):
    """A tab per panel, and a card per panel of which only the chosen one is on screen."""
    first = shell.first_panel
    return html.Div(
        [
            dbc.Tabs([dbc.Tab(label=panel.title, tab_id=panel.name, label_class_name=f"amc-tab-{panel.name}")
                      for panel in shell.panels], id=ids.PANEL_TABS,
                     active_tab=first, class_name="amc-tabs"),
            *[panel_card(panel, hidden=panel.name != first) for panel in shell.panels],
        ],
        id="panel-area",
    )


def panel_card(panel: Panel, hidden: bool):
    waiting = f"{panel.title} appears here once a run is done: pick the data, set the parameters and press Run."
    return html.Section(
        dbc.Card(
            [
                dbc.CardHeader(html.H2(panel.title, className="h6 mb-0")),
                dbc.CardBody(
                    [
                        dcc.Store(id=view_store_id(panel.name)),
                        dcc.Store(id=drawn_id(panel.name)),
                        html.Div(id=status_id(panel.name)),
                        html.Div(placeholder(waiting), id=body_id(panel.name)),
                    ]
                ),
            ],
            id=f"panel-card-{panel.name}",
            class_name="amc-panel",
        ),
        id=card_id(panel.name),
        hidden=hidden,
    )


def card_id(panel_name: str) -> dict:
    return {"host": "card", "panel": panel_name}


def body_id(panel_name: str) -> dict:
    return {"host": "body", "panel": panel_name}


def drawn_id(panel_name: str) -> dict:
    return {"host": "drawn", "panel": panel_name}


def placeholder(text: str):
    return html.Div(text, className="amc-placeholder")


# drawing


def draw_key(panel: Panel, shown: dict, names: dict | None) -> list:
    """What a panel's drawing depends on: the run, the k when it follows k, the names unless it patches them."""
    k = shown.get("k") if panel.follows_k else None
    version = None if panel.patches_names or not names else names.get("version")
    return [shown.get("run_id"), k, version]


def draw_panel(shell: Shell, panel: Panel, shown: dict | None, names: dict | None, drawn: list | None):
    """The panel's body for the run and k it is shown at; no update when what it shows is still right."""
    if not shown:
        raise PreventUpdate
    key = draw_key(panel, shown, names)
    if key == drawn:
        raise PreventUpdate
    try:
        view = resolve_view(shell.store, shown, songs="dataset" in panel.needs)
    except ViewUnavailable as unavailable:
        return placeholder(""), key, unavailable_alert(str(unavailable))
    memo_key = repr((panel.name, view.run_id, view.k, view.names_version, view.dataset is not None))
    body = shell.drawn.get(memo_key)
    if body is None:
        body = panel_body(panel, view)
        shell.drawn.put(memo_key, body)
    return body, key, None


def panel_body(panel: Panel, view):
    try:
        return panel.layout(view)
    except Exception as error:  # one broken panel must not take the others down
        log.exception("panel %s could not be drawn", panel.name)
        return dbc.Alert(f"{panel.title} could not be drawn: {error}", color="danger")


def run_summary(shell: Shell, state: dict | None):
    """One line on what is shown, the details of the run folded away, and the full export."""
    try:
        view = resolve_view(shell.store, state)
    except ViewUnavailable as unavailable:
        if state and state.get("run_id"):
            return dbc.Alert(str(unavailable), color="warning", class_name="amc-alert")
        return html.P("No run yet.", className="text-muted")
    result, k = view.result, view.k
    params = result.params
    clip = "none"
    if params.clip_percentiles is not None:
        clip = "{:g}–{:g} percentiles of ".format(*params.clip_percentiles)
        clip += ", ".join(params.clip_features) if params.clip_features else "every feature"
    facts = [
        ("Features", ", ".join(result.transform.features)),
        ("log1p", ", ".join(result.transform.log_features) or "none"),
        ("Clip", clip),
        ("k range", f"{params.k_min}–{params.k_max} (seed {params.seed})"),
        ("Recommended", f"k = {result.sweep.recommended_k}: {result.sweep.reason}"),
        ("Computed in", f"{result.timings.get('total', 0.0):.1f} s"),
        ("Run id", html.Code(result.run_id)),
    ]
    report = result.data_report.lines()
    export = html.Div(
        [
            dbc.Button(text, href=shell.host.href(DATASET_ROUTE, run=view.run_id, k=k, **extra), id=button_id,
                       external_link=True, color="secondary", outline=True, size="sm", disabled=view.dataset is None)
            for text, button_id, extra in (("Export full dataset", "export-dataset", {}),
                                           ("for Excel", "export-dataset-excel", {"excel": 1}))
        ],
        className="d-flex gap-1 amc-dataset-export",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Strong(f"{result.dataset_name}: "),
                        f"{result.n_rows:,} songs, showing k = {k} "
                        f"(recommended {result.sweep.recommended_k})",
                        export,
                    ],
                    className="d-flex flex-wrap align-items-center gap-2 amc-summary-line",
                ),
                html.Details(
                    [
                        html.Summary("Parameters and the loader's findings", className="small"),
                        html.Dl([item for label, value in facts for item in (html.Dt(label), html.Dd(value))],
                                className="amc-facts mb-0 mt-1"),
                        html.Ul([html.Li(line) for line in report], className="small mt-2 mb-0") if report else None,
                    ],
                    className="mt-1",
                ),
            ],
            class_name="py-2",
        ),
        id="run-facts",
        class_name="mb-2",
    )


# callbacks


def _register_shell(app: dash.Dash, shell: Shell) -> None:
    app.callback(Output(ids.RUN_SUMMARY, "children"), Input(ids.RUN_STATE, "data"))(partial(run_summary, shell))

    app.callback(
        Output(ids.NAMES, "data"),
        Input(ids.RUN_STATE, "data"),
        State(ids.NAMES, "data"),
    )(partial(current_names, shell))

    app.callback(
        Output(ids.RUN_STATE, "data", allow_duplicate=True),
        Input(ids.NAMES_POLL, "n_intervals"),
        State(ids.RUN_STATE, "data"),
        prevent_initial_call=True,
    )(partial(newer_names, shell))

    app.clientside_callback(
        ClientsideFunction(namespace="amc", function_name="showPanel"),
        Output(view_store_id(ALL), "data"),
        Output(card_id(ALL), "hidden"),
        Input(ids.RUN_STATE, "data"),
        Input(ids.PANEL_TABS, "active_tab"),
        State(view_store_id(ALL), "data"),
        State(view_store_id(ALL), "id"),
    )

    for panel in shell.panels:
        inputs = [Input(view_store_id(panel.name), "data")]
        inputs.append(State(ids.NAMES, "data") if panel.patches_names else Input(ids.NAMES, "data"))
        app.callback(
            Output(body_id(panel.name), "children"),
            Output(drawn_id(panel.name), "data"),
            Output(status_id(panel.name), "children"),
            *inputs,
            State(drawn_id(panel.name), "data"),
            prevent_initial_call=True,
        )(partial(draw_panel, shell, panel))

    app.callback(
        Output(ids.RUN_STATE, "data", allow_duplicate=True),
        Output(ids.PANEL_TABS, "active_tab"),
        Output(ids.JOB_ALERT, "children", allow_duplicate=True),
        Output(ids.PANEL_LINK, "data", allow_duplicate=True),
        Input(ids.LINK_OPENED, "data"),
        prevent_initial_call=True,
    )(partial(open_link, shell))

    app.callback(
        Output(ids.SIDEBAR_RUN, "data"),
        Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
        *[Output(part, "value") for part in FORM_PARTS],
        Input(ids.RUN_STATE, "data"),
        State(ids.SIDEBAR_RUN, "data"),
        prevent_initial_call=True,
    )(partial(sidebar_for_run, shell))

    # The page writes its own link and tells a link that names another run from it, in the browser: the
    # panel about to be drawn never waits for a round trip about the address bar.
    app.clientside_callback(
        ClientsideFunction(namespace="amc", function_name="linkForState"),
        Output(ids.URL, "search"),
        Input(ids.RUN_STATE, "data"),
        Input(ids.PANEL_TABS, "active_tab"),
        Input(ids.PANEL_LINK, "data"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="amc", function_name="linkOpened"),
        Output(ids.LINK_OPENED, "data"),
        Input(ids.URL, "search"),
        State(ids.RUN_STATE, "data"),
    )

    # Songs handed over to be shown (a flow clicked, "make a playlist" of a lasso) open the playlist builder.
    app.clientside_callback(
        ClientsideFunction(namespace="amc", function_name="showSelection"),
        Output(ids.PANEL_TABS, "active_tab", allow_duplicate=True),
        Input(ids.SELECTION, "data"),
        State(ids.PANEL_TABS, "active_tab"),
        prevent_initial_call=True,
    )

    app.callback(
        Output(ids.PREFETCH, "data"),
        Input(ids.RUN_STATE, "data"),
        # Not an input: Dash would hold the fetch back until every callback that may change the tab has run.
        State(ids.PANEL_TABS, "active_tab"),
        prevent_initial_call=True,
    )(partial(prefetch_links, shell))
    app.clientside_callback(
        ClientsideFunction(namespace="amc", function_name="prefetch"),
        Input(ids.PREFETCH, "data"),
        prevent_initial_call=True,
    )

    app.callback(
        Output(ids.RUN_STATE, "data", allow_duplicate=True),
        # The new run's links come with its state: the browser fetches them a round trip sooner.
        Output(ids.PREFETCH, "data", allow_duplicate=True),
        Input(ids.JOB_OUTCOME, "data"),
        State(ids.PANEL_TABS, "active_tab"),
        State(ids.RUN_STATE, "data"),
        prevent_initial_call=True,
    )(partial(show_outcome, shell))

    app.callback(
        Output(ids.RUN_REQUEST, "data"),
        Output(ids.RUN_STATE, "data", allow_duplicate=True),
        Output(ids.JOB_ALERT, "children", allow_duplicate=True),
        Input(ids.RUN_BUTTON, "n_clicks"),
        *[State(part, "value") for part in (ids.DATASET_PICKER, *FORM_PARTS)],
        prevent_initial_call=True,
    )(partial(request_run, shell))

    app.clientside_callback(
        ClientsideFunction(namespace="amc", function_name="checkUploadSize"),
        Output(ids.UPLOAD_ACCEPTED, "data"),
        Output(ids.UPLOAD_REFUSED, "data"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"),
        prevent_initial_call=True,
    )

    app.callback(
        Output(ids.REMOVE_DATASET_BUTTON, "disabled"),
        Input(ids.DATASET_PICKER, "value"),
    )(lambda dataset_id: not dataset_id or dataset_id in shell.offered)

    app.callback(
        Output(ids.UPLOAD_ALERT, "children", allow_duplicate=True),
        Output(ids.DATASET_PICKER, "options", allow_duplicate=True),
        Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
        Input(ids.REMOVE_DATASET, "submit_n_clicks"),
        State(ids.DATASET_PICKER, "value"),
        prevent_initial_call=True,
    )(partial(remove_dataset, shell))

    app.callback(
        Output(ids.UPLOAD_ALERT, "children"),
        Output(ids.DATASET_PICKER, "options"),
        Output(ids.DATASET_PICKER, "value", allow_duplicate=True),
        Output(ids.UPLOAD, "contents", allow_duplicate=True),
        Output(ids.UPLOAD_ACCEPTED, "data", allow_duplicate=True),
        Input(ids.UPLOAD_ACCEPTED, "data"),
        Input(ids.UPLOAD_REFUSED, "data"),
        prevent_initial_call=True,
    )(partial(receive_upload, shell))


def current_names(shell: Shell, state: dict | None, names: dict | None):
    """The team's names for the run and k shown, fetched only when the run, k or names version moved."""
    if not state or not state.get("run_id"):
        raise PreventUpdate
    wanted = (state["run_id"], state.get("k"), state.get("names_version"))
    if names and (names["run_id"], names["k"], names["version"]) == wanted:
        raise PreventUpdate
    try:
        return names_data(resolve_view(shell.store, state))
    except ViewUnavailable:
        raise PreventUpdate from None


def newer_names(shell: Shell, _tick, state: dict | None):
    """The run state at the team's newest names, when someone renamed a cluster of the view shown."""
    if not state or not state.get("run_id"):
        raise PreventUpdate
    try:
        version = shell.store.get_names(state["run_id"], int(state["k"])).version
    except (UnknownRun, TypeError, ValueError, KeyError):
        raise PreventUpdate from None
    if version == state.get("names_version"):
        raise PreventUpdate
    return {**state, "names_version": version}


def open_link(shell: Shell, opened: dict | None):
    """``?run=<id>&k=<k>&panel=<name>`` opens that stored run on that panel, for anyone with the link; the
    link's other parameters go to that panel (``host.on_link``).

    ``amc.linkOpened`` hands over only links that name another run or k than the page shows: the link
    the page wrote itself is left alone, and so is the tab the user has just chosen.
    """
    query = parse_qs(((opened or {}).get("search") or "").lstrip("?"))
    run_id, k_text = (query.get("run") or [""])[0], (query.get("k") or [""])[0]
    panel = (query.get("panel") or [""])[0]
    tab = panel if panel in {p.name for p in shell.panels} else no_update
    if not run_id:
        raise PreventUpdate
    result = shell.store.get_run(run_id)
    if result is None:
        return no_update, tab, error_alert(f"no stored run has the id {run_id!r}; it may have been made "
                                           "on another server.", "Link not found:"), no_update
    k = int(k_text) if k_text.isdigit() and int(k_text) in result.models else result.chosen_k
    params = link_params_of(query)
    panel_link = {panel: params} if params and tab is not no_update else no_update
    return run_state(shell, result, k), tab, None, panel_link


def sidebar_for_run(shell: Shell, state: dict | None, sidebar_run: str | None):
    """The sidebar takes the data and parameters of each new run on screen, however it came (a link, the run
    history, a finished job): Run then reruns the same analysis. A k switch or a rename keeps what was typed."""
    run_id = (state or {}).get("run_id")
    result = shell.store.get_run(run_id) if run_id and run_id != sidebar_run else None
    if result is None:
        raise PreventUpdate
    return run_id, result.dataset_id, *form_values(result.params)


def prefetch_links(shell: Shell, state: dict | None, active: str | None) -> list[str]:
    """The links the panel on screen will ask for at this run state, for the browser to start fetching."""
    panel = next((p for p in shell.panels if p.name == active and p.prefetch is not None), None)
    if panel is None or not state or not state.get("run_id"):
        return []
    try:
        return panel.prefetch(resolve_view(shell.store, state))
    except ViewUnavailable:
        return []  # the panel will say why


def show_outcome(shell: Shell, done: dict | None, active: str | None, shown: dict | None):
    """A finished job's run on screen, whichever of its two messages comes first (``RunJobs.settle``); the
    second finds it shown. Both may be on their way at once: Dash then keeps only the later answer."""
    if not done or not done.get("run_id") or (shown or {}).get("run_id") == done["run_id"]:
        raise PreventUpdate
    result = shell.store.get_run(done["run_id"])
    if result is None:
        raise PreventUpdate
    state = run_state(shell, result, result.chosen_k)
    return state, prefetch_links(shell, state, active)


def run_state(shell: Shell, result: RunResult, k: int) -> dict:
    version = shell.store.get_names(result.run_id, k).version
    return {"dataset_id": result.dataset_id, "run_id": result.run_id, "k": k, "names_version": version}


def request_run(shell: Shell, _clicks, dataset_id, features, log_features, clip, clip_range, k_min, k_max, seed):
    """Check the parameters at once; a stored run is shown with this very answer, anything else becomes a
    job ticket."""
    dataset = shell.store.get_dataset(dataset_id) if dataset_id else None
    if dataset is None:
        return no_update, no_update, error_alert("choose a dataset first (or upload one).", "Nothing to run:")
    try:
        params = params_from_form(features, log_features, clip, clip_range, k_min, k_max, seed)
        check_params(params, dataset)
    except ParameterError as error:
        return no_update, no_update, error_alert(str(error), "Check the parameters:")
    run_id = run_id_for(dataset.fingerprint, params)
    stored = shell.store.get_run(run_id)
    if stored is not None:
        return no_update, run_state(shell, stored, stored.chosen_k), None
    ticket = new_ticket(dataset.fingerprint, params, run_id)
    try:
        shell.jobs.admit(ticket, session_owner(), started_by=signed_in_user() or "")
    except SessionBusy as busy:
        return no_update, no_update, error_alert(str(busy), "One run at a time:")
    return ticket, no_update, None


def form_values(params: RunParams) -> list:
    """The sidebar's values for ``params``, in the order of ``FORM_PARTS`` (``params_from_form`` reverses it)."""
    clip_range = list(params.clip_percentiles) if params.clip_percentiles is not None else [1, 99]
    return [list(params.features), list(params.log_features), params.clip_percentiles is not None, clip_range,
            params.k_min, params.k_max, params.seed]


def params_from_form(features, log_features, clip, clip_range, k_min, k_max, seed) -> RunParams:
    chosen = tuple(f for f in AUDIO_FEATURES if f in (features or ()))
    return RunParams(
        features=chosen,
        log_features=tuple(f for f in chosen if f in (log_features or ())),
        clip_percentiles=(float(clip_range[0]), float(clip_range[1])) if clip else None,
        k_min=_whole(k_min, "k from"),
        k_max=_whole(k_max, "k to"),
        seed=_whole(seed, "seed"),
    )


def _whole(value, what: str) -> int:
    if value is None or float(value) != int(value):
        raise ParameterError(f"{what} must be a whole number")
    return int(value)


def receive_upload(shell: Shell, accepted: dict | None, refused: dict | None):
    """Store a good upload and choose it, or explain the refusal; either way the browser drops the file's bytes."""
    dropped = (None, None)  # Upload.contents and the accepted copy: the file must not stay in the page
    if ctx.triggered_id == ids.UPLOAD_REFUSED:
        return upload_refusal(refused_in_browser(refused, shell.config.max_upload_mb)), no_update, no_update, *dropped
    if not accepted:
        raise PreventUpdate  # the bytes were just dropped
    name = accepted.get("filename") or "uploaded file"
    try:
        dataset = read_upload(shell.config, name, accepted.get("upload"))
    except (DataError, ParsesBusy) as error:
        return upload_refusal(str(error)), no_update, no_update, *dropped
    except Exception as error:  # a loader bug must still end in words, not a broken page
        log.exception("upload %s could not be loaded", name)
        message = f"{name}: could not be read ({type(error).__name__}: {error})"
        return upload_refusal(message), no_update, no_update, *dropped
    try:
        dataset_id = shell.store.put_dataset(dataset, added_by=signed_in_user() or "")
    except StoreUnavailable as error:
        return upload_refusal(str(error)), no_update, no_update, *dropped
    options, _ = dataset_options(shell)
    return upload_report(dataset), options, dataset_id, *dropped


def remove_dataset(shell: Shell, confirmed, dataset_id: str | None):
    """Remove an uploaded dataset, once confirmed: by its uploader when login is on, by anyone otherwise."""
    if not confirmed or not dataset_id:
        raise PreventUpdate
    info = next((i for i in shell.store.list_datasets() if i.dataset_id == dataset_id), None)
    if info is None or dataset_id in shell.offered:
        return upload_refusal("only an uploaded dataset can be removed"), no_update, no_update
    user = signed_in_user()
    if user and info.added_by and info.added_by != user:
        return upload_refusal(f"{info.name} was uploaded by {info.added_by}; only they can remove it"), no_update, \
            no_update
    shell.store.remove_dataset(dataset_id)
    options, default = dataset_options(shell)
    removed = dbc.Alert(f"Removed {info.name} ({info.rows:,} songs).", color="info", dismissable=True,
                        class_name="amc-alert")
    return removed, options, default


def upload_refusal(message: str):
    return dbc.Alert([html.Strong("Upload refused: "), message], color="danger", dismissable=True,
                     class_name="amc-alert", id="upload-refusal")


def upload_report(dataset: Dataset):
    report = dataset.report
    lines = report.lines()
    shown = [html.Li(line) for line in lines[:REPORT_LINES_SHOWN]]
    more = [html.Li(f"… and {len(lines) - REPORT_LINES_SHOWN} more")] if len(lines) > REPORT_LINES_SHOWN else []
    return dbc.Alert(
        [
            html.Strong(f"Loaded {dataset.name}: "),
            f"{report.rows_kept:,} of {report.rows_read:,} rows kept.",
            html.Ul(shown + more, className="small mb-0 mt-1") if lines else None,
        ],
        color="success",
        dismissable=True,
        class_name="amc-alert",
    )
