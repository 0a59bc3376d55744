"""The panel contract and the host: the one way a panel, built-in or plug-in, reaches the dashboard's shell.

A panel is a module exporting ``PANEL = Panel(...)``. The shell hands ``register`` a ``PanelHost`` bound
to that panel, as datasette hands its plug-ins the ``datasette`` object; the host gives the run state
as callback inputs, resolves it to a ``RunView`` with one set of failure rules, changes the active k
or the names version, and serves the panel's data routes under the app's URL prefix.

The browser keeps ids only. What it holds for the host:

- ``run-state``: ``{dataset_id, run_id, k, names_version}``, the whole view, also written to the link;
- per panel, ``host.on_view()``: ``{dataset_id, run_id, k}`` while the panel is on screen, so nothing
  off screen is drawn or updated for a k it is not showing;
- ``host.on_names()``: ``{run_id, k, version, names}``, the team's current names, which a panel puts
  where it shows them with partial updates (``dash.Patch``) instead of drawing again;
- ``host.on_selection()``: ``{dataset_id, selection_id, label, count, show}``, songs chosen by hand (a lasso,
  a flow between two clusterings), kept by the store; the playlist builder takes them as its source, and
  the shell puts it on screen when ``show`` names it;
- ``panel-link``: ``{panel: params}``, parameters each panel adds to the page's link while it is on screen
  (``host.link_data``, which changes that panel's entry only), handed back to it when such a link is opened
  (``host.on_link``/``host.link_params``).

A panel that takes an upload lets ``amc.checkUploadSize`` check the file in the browser and send it to the
upload route (``dashboard.uploads``), then puts what comes back (``{filename, upload}``: a token, never the
bytes) in a store whose id has the part ``UPLOADED_FILE``; ``host.read_upload`` reads the file with the
server's own checks.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Input, Output, State
from dash.exceptions import AppNotFoundError

from analysis.dataset import Dataset
from analysis.result import ClusterModel, RunResult
from dashboard.parses import read_upload

log = logging.getLogger(__name__)

RUN_STATE = "run-state"
NAMES = "run-names"
SELECTION = "song-selection"
SELECTION_PANEL = "playlist"  # the panel that takes songs chosen by hand as its source
PANEL_LINK = "panel-link"
UPLOADED_FILE = "uploaded-file"
UPLOAD_LIMIT = "upload-limit"  # the upload limit in bytes, for the browser's check
# A panel's own link parameters: a few short ids, never data.
LINK_PARAMS_MAX = 4
LINK_PARAM_CHARS = 64
# Parts of a run a panel may need. Every stored run has all but "dataset": its songs may have left the store,
# and a panel that needs them then shows why it cannot be drawn.
RUN_PARTS = frozenset({"sweep", "models", "pca", "breakdown", "dataset"})
# Every route of the host lives under this path of the app, each namespace (a panel's name) in its own folder.
ROUTE_ROOT = "_amc/"
MAX_RUN_ID_CHARS = 64


class ViewUnavailable(Exception):
    """The run state names nothing that can be shown; the message is one line for the panel."""


class RouteError(Exception):
    """A data route that cannot answer; ``status`` is the HTTP status, the message one line for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RunView:
    """One stored run seen at one k, with the team's names: everything a panel draws from."""

    result: RunResult
    k: int
    names: dict[int, str]  # cluster -> display name (saved by the team, else suggested)
    names_version: int = 0
    dataset: Dataset | None = None  # None once the store no longer holds the run's songs
    history: tuple = ()  # the names' NameChange records, oldest first

    @property
    def run_id(self) -> str:
        return self.result.run_id

    @property
    def model(self) -> ClusterModel:
        return self.result.models[self.k]

    @property
    def frame(self):
        """The songs as the loader typed them (``Dataset.frame``), or None when they are no longer stored."""
        return self.dataset.frame if self.dataset is not None else None


def resolve_view(store, state: dict | None, songs: bool = False) -> RunView:
    """The one reading of a run state ``{run_id, k, ...}``: raises ``ViewUnavailable`` with the reason.

    ``songs``: the caller needs the run's songs, so a run whose dataset is gone is unavailable too.
    """
    run_id = (state or {}).get("run_id")
    if not run_id:
        raise ViewUnavailable("no run yet: pick the data, set the parameters and press Run")
    result = store.get_run(str(run_id))
    if result is None:
        raise ViewUnavailable(f"no stored run has the id {run_id!r}; it may have been made on another server")
    k = _whole(state.get("k"), result.chosen_k)
    if k not in result.models:
        raise ViewUnavailable(f"run {run_id} has no k={k}; its sweep covers k={min(result.models)}–{max(result.models)}")
    dataset = store.get_dataset(result.dataset_id)
    if songs and dataset is None:
        raise ViewUnavailable(f"the songs of {result.dataset_name} are no longer stored; load the file again to see them")
    sheet = store.get_names(result.run_id, k)
    return RunView(result=result, k=k, names=sheet.names, names_version=sheet.version, dataset=dataset,
                   history=sheet.history)


def link_params_of(query: dict[str, list[str]]) -> dict[str, str]:
    """The panel's own parameters of a parsed link query: every one but ``run``, ``k`` and ``panel``, as
    short ids (letters, digits, ``-`` and ``_``), at most ``LINK_PARAMS_MAX`` of them."""
    params = {}
    for key, values in query.items():
        value = values[0] if values else ""
        if key in ("run", "k", "panel") or not _is_short_id(key) or not _is_short_id(value):
            continue
        params[key] = value
    return dict(list(params.items())[:LINK_PARAMS_MAX])


def _is_short_id(text: str) -> bool:
    return 0 < len(text) <= LINK_PARAM_CHARS and text.isascii() and text.replace("-", "").replace("_", "").isalnum()


def _whole(value, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ViewUnavailable(f"k={value!r} is not a whole number") from None


@dataclass(frozen=True)
class Panel:
    """One panel of the dashboard.

    ``layout(view)`` draws the panel for a view and must be pure. The shell draws it when the panel is
    first shown, again when the run changes and, when ``follows_k``, when the active k changes (a panel
    that keeps k-independent figures sets it False and updates its k-dependent parts from
    ``host.on_view()``). When ``patches_names`` the panel puts renamed clusters in place itself
    (``host.on_names()``); otherwise the shell draws it again after a rename.
    ``scripts`` and ``stylesheets`` are files beside the panel's module that the page loads.
    ``prefetch(view)`` names links of the panel's routes (``route_link``) that the browser starts fetching
    the moment a run or k is about to be shown on the panel, while the shell is still drawing it; the
    panel's script takes each answer with ``amc.fetchOnce(url)``.
    """

    name: str  # slug, used in component ids ({"panel": name, "part": ...}) and route folders
    title: str
    needs: frozenset[str]
    layout: Callable[[RunView], Any]
    register: Callable[["PanelHost"], None] | None = None  # called once at start-up
    order: int = 100
    follows_k: bool = True
    patches_names: bool = False
    scripts: tuple[Path, ...] = ()
    stylesheets: tuple[Path, ...] = ()
    prefetch: Callable[[RunView], list[str]] | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"panel name {self.name!r} must be a slug: letters, digits, '-' and '_'")
        unknown = set(self.needs) - RUN_PARTS
        if unknown:
            raise ValueError(f"panel {self.name!r} needs unknown part(s) {sorted(unknown)}; known: {sorted(RUN_PARTS)}")
        for path in (*self.scripts, *self.stylesheets):
            if not Path(path).is_file():
                raise ValueError(f"panel {self.name!r} ships {path}, which does not exist")

    def part_id(self, part: str, **keys) -> dict:
        return {"panel": self.name, "part": part, **keys}


def dom_id(component_id: dict | str) -> str:
    """The id a component with ``component_id`` has in the page, as a label's ``html_for`` names it."""
    if isinstance(component_id, str):
        return component_id
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def view_store_id(panel_name: str) -> dict:
    return {"host": "view", "panel": panel_name}


def status_id(panel_name: str) -> dict:
    return {"host": "status", "panel": panel_name}


@dataclass
class PanelHost:
    """What one panel may use of the shell; built by the shell, one per panel (or per shell namespace)."""

    app: dash.Dash
    store: Any  # dashboard.store.ResultsStore
    namespace: str  # the panel's name
    needs_songs: bool = False  # the panel needs the run's dataset: a view without it is unavailable
    config: Any = None  # dashboard.config.Config: the server's upload limits
    jobs: Any = None  # dashboard.jobs.RunJobs: where a computed run is stored

    # run state

    def on_view(self) -> Input:
        """Fires with ``{dataset_id, run_id, k}`` when the panel is shown at a new run or k."""
        return Input(view_store_id(self.namespace), "data")

    def on_names(self) -> Input:
        """Fires with ``{run_id, k, version, names: [name of cluster 0, ...]}`` when the names change."""
        return Input(NAMES, "data")

    def shown(self) -> State:
        """What ``on_view`` last gave, as a callback's State: the run and k the panel shows."""
        return State(view_store_id(self.namespace), "data")

    def run_state(self) -> State:
        """The whole run state ``{dataset_id, run_id, k, names_version}`` as a callback's State."""
        return State(RUN_STATE, "data")

    def state_output(self) -> Output:
        """The output through which a panel changes the active k or the names version (see ``with_k``)."""
        return Output(RUN_STATE, "data", allow_duplicate=True)

    def view(self, state: dict | None, songs: bool | None = None) -> RunView:
        """The view a run state names; raises ``ViewUnavailable``, which ``host.callback`` shows in the panel.

        ``songs`` defaults to whether the panel needs the dataset.
        """
        return resolve_view(self.store, state, songs=self.needs_songs if songs is None else songs)

    def after_run_stored(self, work: Callable[[RunResult, Any], None]) -> None:
        """Have ``work(result, frame)`` done in a run's job, right after a computed run is stored and before
        the page learns it ended: work the panel's first draw of the run would otherwise wait for in the
        web process, beside every other request (``result.chosen_k`` is the k shown first). ``work``
        should keep its product in ``host.store`` (``put_artifact``); an error in it is logged and
        costs only the work."""
        if self.jobs is not None:
            self.jobs.after_store.append(work)

    def with_k(self, state: dict, k: int | None):
        """The run state with ``k`` active and its names' version, or ``no_update`` for the shown or an unknown k."""
        view = self.view(state)
        if k is None or k == view.k or k not in view.result.models:
            return dash.no_update
        return {**state, "k": int(k), "names_version": self.store.get_names(view.run_id, int(k)).version}

    @staticmethod
    def with_names_version(state: dict, version: int):
        """The run state after the names changed to ``version`` (``no_update`` when they did not)."""
        if state.get("names_version") == version:
            return dash.no_update
        return {**state, "names_version": version}

    # the page's link

    def on_link(self) -> Input:
        """Fires with ``{panel: params}`` when a panel's link parameters change; ``link_params`` reads this panel's."""
        return Input(PANEL_LINK, "data")

    def link_params(self, data: dict | None) -> dict[str, str] | None:
        """This panel's parameters in what ``on_link`` gave, or None when it has none."""
        params = (data or {}).get(self.namespace)
        return dict(params) if isinstance(params, dict) else None

    @staticmethod
    def link_output() -> Output:
        """The output through which a panel puts its parameters in the page's link (``link_data``)."""
        return Output(PANEL_LINK, "data", allow_duplicate=True)

    def link_data(self, **params: str) -> dash.Patch:
        """``link_output``'s value: ``params`` join ``?run=&k=&panel=`` while this panel is on screen. Only
        this panel's entry changes: another panel's parameters stay for when it is shown again."""
        patch = dash.Patch()
        patch[self.namespace] = params
        return patch

    # uploads

    @staticmethod
    def upload_limit() -> State:
        """The server's upload limit in bytes and its upload route, as a State for ``amc.checkUploadSize``."""
        return State(UPLOAD_LIMIT, "data")

    def read_upload(self, filename: str, token: str) -> Dataset:
        """The songs of a panel's upload (``token``: the ``upload`` of ``UPLOADED_FILE``'s store, which names
        the file the upload route wrote) read as the shell reads its own: the server's size limit, a parse
        slot, the loader's policies. Raises DataError or ParsesBusy, each one line naming the file."""
        return read_upload(self.config, filename or "uploaded file", token)

    @staticmethod
    def names_output() -> Output:
        """Beside ``state_output``, a rename hands every panel the new names at once (``names_data``),
        a round trip sooner than the shell would fetch them."""
        return Output(NAMES, "data", allow_duplicate=True)

    # songs chosen by hand

    def selection_output(self) -> Output:
        """The output through which a panel hands the playlist builder songs (``select_songs``), or None to
        let it take every song again."""
        return Output(SELECTION, "data", allow_duplicate=True)

    def on_selection(self) -> Input:
        return Input(SELECTION, "data")

    def selection(self) -> State:
        """The songs last handed over (``on_selection``'s data), as a callback's State."""
        return State(SELECTION, "data")

    def select_songs(self, view: RunView, rows, label: str, show: bool = True) -> dict:
        """Keep the songs at ``rows`` (positions in ``view.frame``) and return what ``selection_output``
        carries; with ``show`` the shell opens the playlist builder on them at once."""
        selection = self.store.put_selection(view.result.dataset_id, rows, label)
        return selection_data(selection, show)

    # callbacks

    def callback(self, *args, **kwargs):
        """``app.callback`` whose ``ViewUnavailable`` becomes a message in the panel, not an error."""

        def decorate(function):
            @wraps(function)
            def guarded(*values, **named):
                try:
                    return function(*values, **named)
                except ViewUnavailable as unavailable:
                    dash.set_props(status_id(self.namespace), {"children": unavailable_alert(str(unavailable))})
                    return dash.no_update

            return self.app.callback(*args, **kwargs)(guarded)

        return decorate

    def clientside_callback(self, function, *args, **kwargs) -> None:
        self.app.clientside_callback(function, *args, **kwargs)

    # routes

    def route(self, path: str, handler: Callable[[], Any]) -> None:
        """Serve ``handler()`` (a Flask response, bytes or text) at ``href(path)``; ``RouteError`` becomes
        a one-line plain-text answer with its status."""
        rule = self.app.config.routes_pathname_prefix + self._path(path)
        endpoint = f"amc_{self.namespace}_{path}".replace(".", "_").replace("/", "_")

        def answer():
            try:
                return handler()
            except RouteError as error:
                return flask.Response(f"{error}\n", status=error.status, mimetype="text/plain")

        self.app.server.add_url_rule(rule, endpoint=endpoint, view_func=answer)

    def href(self, path: str, **query) -> str:
        """The link of a route as the browser must ask for it, with the app's URL prefix."""
        return _link(self.app.config.requests_pathname_prefix, self.namespace, path, query)

    def _path(self, path: str) -> str:
        return _route_path(self.namespace, path)

    def requested_view(self, songs: bool = True) -> RunView:
        """The view a route's ``?run=<id>&k=<k>`` names, or ``RouteError`` (400 for a malformed link, else 404)."""
        args = flask.request.args
        run_id, k_text = args.get("run", ""), args.get("k", "")
        if not run_id or len(run_id) > MAX_RUN_ID_CHARS or not run_id.replace("-", "").replace("_", "").isalnum():
            raise RouteError(400, "the link names no valid run (?run=<run id>)")
        if not (k_text.isascii() and k_text.isdigit()) or len(k_text) > 3:
            raise RouteError(400, f"the link's k={k_text!r} is not a whole number")
        try:
            return resolve_view(self.store, {"run_id": run_id, "k": int(k_text)}, songs=songs)
        except ViewUnavailable as unavailable:
            raise RouteError(404, str(unavailable)) from None


def route_link(namespace: str, path: str, **query) -> str:
    """``PanelHost.href`` for a layout, which gets a view and no host: the link of a route of ``namespace``
    in the app whose page is being drawn (outside any app, as in a unit test, without a URL prefix)."""
    try:
        prefix = dash.get_app().config.requests_pathname_prefix
    except AppNotFoundError:
        prefix = "/"
    return _link(prefix, namespace, path, query)


def _link(prefix: str, namespace: str, path: str, query: dict) -> str:
    return prefix + _route_path(namespace, path) + ("?" + urlencode(query) if query else "")


def _route_path(namespace: str, path: str) -> str:
    return f"{ROUTE_ROOT}{namespace}/{path.lstrip('/')}"


def selection_data(selection, show: bool) -> dict:
    """What ``host.on_selection()`` carries for a stored ``SongSelection``."""
    return {"dataset_id": selection.dataset_id, "selection_id": selection.selection_id, "label": selection.label,
            "count": int(len(selection.rows)), "show": SELECTION_PANEL if show else None}


def unavailable_alert(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="warning", class_name="amc-alert mb-2")


def names_list(view: RunView) -> list[str]:
    return [view.names.get(cluster, f"Cluster {cluster}") for cluster in range(view.k)]


def names_data(view: RunView, sheet=None) -> dict:
    """What ``host.on_names()`` carries: the view's names, or those of ``sheet`` (a NameSheet) after a rename."""
    names, version = (view.names, view.names_version) if sheet is None else (sheet.names, sheet.version)
    return {"run_id": view.run_id, "k": view.k, "version": version,
            "names": [names.get(cluster, f"Cluster {cluster}") for cluster in range(view.k)]}


def names_for(shown: dict | None, names: dict | None) -> list[str] | None:
    """The names a rename brings to a panel showing ``shown`` (its ``on_view`` data), or None when they
    belong to another run or k than the panel shows."""
    if not shown or not names or (names.get("run_id"), names.get("k")) != (shown.get("run_id"), shown.get("k")):
        return None
    return list(names["names"])
