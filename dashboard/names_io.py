"""Download and upload a run's cluster names as the JSON file ``amc cluster --names`` reads.

An upload goes through ``store.rename`` one cluster at a time, based on the version the page
showed, so a name someone else changed meanwhile is refused with the usual conflict message and
every applied name appears in the history.

An upload that changes names redraws the whole panel area, controls included, so its outcome is kept
in the tab's session storage and shown again by the redrawn controls while the names are still the
version the upload left.
"""
from __future__ import annotations

import base64
import binascii

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from analysis.export import safe_filename
from analysis.names import MAX_NAMES_FILE_CHARS, NamesFileError, names_file_text, parse_names_file
from dashboard.downloads import DOWNLOAD_PREFIX, DownloadError, attachment, download_href, requested_run
from dashboard.ids import RUN_STATE
from dashboard.store import InvalidName, NameConflict, NameSheet, UnknownRun


def _id(part: str) -> str:
    return f"names-io-{part}"


def names_io_controls() -> html.Div:
    """A download link and an upload button for the names file, plus a line for the outcome."""
    return html.Div(
        [
            dbc.Button(
                "Download names (JSON)", id=_id("download"), href="", external_link=True, color="secondary", outline=True, size="sm"
            ),
            dcc.Upload(
                dbc.Button("Upload names…", color="secondary", outline=True, size="sm"),
                id=_id("upload"),
                accept=".json,application/json",
                max_size=4 * MAX_NAMES_FILE_CHARS,
            ),
            html.Div(id=_id("message"), role="status", className="small"),
            dcc.Store(id=_id("outcome"), storage_type="session"),
        ],
        className="d-flex flex-wrap align-items-center gap-2",
    )


class NamesUploadConflict(Exception):
    """An upload stopped at a name someone else changed meanwhile; ``applied`` names were saved before it."""

    def __init__(self, applied: int, conflict: NameConflict) -> None:
        self.applied = applied
        self.conflict = conflict
        super().__init__(f"applied {applied} name(s), then stopped: {conflict}")


def apply_names_file(store, run_id: str, k: int, base_version: int, text: str | bytes, source: str) -> tuple[NameSheet, str]:
    """Save every name of the file that differs from the current one; returns the new sheet and a summary.

    Renames are retried while any succeeds, so a file that moves a name from one cluster to
    another applies in whatever order works. Raises ``NamesFileError``, and ``NamesUploadConflict``
    (saying how many names were saved before it) at a name someone else changed meanwhile.
    """
    names_file = parse_names_file(text, source)
    if names_file.k != k:
        raise NamesFileError(f"{source}: it names clusters for k={names_file.k}, but this view shows k={k}")
    sheet = store.get_names(run_id, k)
    pending = {c: name for c, name in names_file.names.items() if name != sheet.names[c]}
    refused: dict[int, str] = {}
    applied = 0
    while pending:
        refused = {}
        for cluster, name in pending.items():
            try:
                sheet = store.rename(run_id, k, cluster, name, base_version)
                applied += 1
            except InvalidName as error:
                refused[cluster] = str(error)
            except NameConflict as conflict:
                raise NamesUploadConflict(applied, conflict) from None
        if len(refused) == len(pending):
            break
        pending = {c: pending[c] for c in refused}
    summary = f"{source}: applied {applied} name(s)"
    if refused:
        summary += "; not applied: " + "; ".join(f"cluster {c}: {why}" for c, why in sorted(refused.items()))
    return sheet, summary


def register_names_io(app, store) -> None:
    base = app.config.routes_pathname_prefix + DOWNLOAD_PREFIX

    @app.server.route(base + "names.json", endpoint="amc_names_json")
    def names_json():
        try:
            run_id, k = requested_run()
            names = store.get_names(run_id, k).names
        except DownloadError as error:
            return f"{error}\n", error.status, {"Content-Type": "text/plain; charset=utf-8"}
        except UnknownRun as error:
            return f"{error}\n", 404, {"Content-Type": "text/plain; charset=utf-8"}
        filename = safe_filename(f"names-{run_id}-k{k}", "json")
        return attachment(names_file_text(run_id, k, names), filename, "application/json")

    @app.callback(Output(_id("download"), "href"), Input(RUN_STATE, "data"))
    def download_link(state):
        if not state or not state.get("run_id"):
            return ""
        return download_href(app, "names.json", state["run_id"], state["k"])

    @app.callback(
        Output(_id("outcome"), "data"),
        Output(RUN_STATE, "data", allow_duplicate=True),
        Input(_id("upload"), "contents"),
        State(_id("upload"), "filename"),
        State(RUN_STATE, "data"),
        prevent_initial_call=True,
    )
    def upload(contents, filename, state):
        if not contents or not state or not state.get("run_id"):
            return no_update, no_update
        source = filename or "uploaded file"
        version = state.get("names_version", 0)
        try:
            data = base64.b64decode(contents.partition(",")[2], validate=True)
            sheet, summary = apply_names_file(store, state["run_id"], state["k"], version, data, source)
        except binascii.Error:
            return _outcome(state, version, f"{source}: the upload arrived damaged; try again", "danger"), no_update
        except NamesFileError as error:
            return _outcome(state, version, str(error), "danger"), no_update
        except NamesUploadConflict as error:
            # Show the other person's names at once: the page redraws from the newer version.
            current = error.conflict.current.version
            return _outcome(state, current, f"{source}: {error}", "danger"), {**state, "names_version": current}
        return _outcome(state, sheet.version, summary, "success"), {**state, "names_version": sheet.version}

    @app.callback(Output(_id("message"), "children"), Input(_id("outcome"), "data"), State(RUN_STATE, "data"))
    def show_outcome(outcome, state):
        if not outcome or not state or _view_key(outcome) != _view_key(state):
            return None
        return _alert(outcome["text"], outcome["color"])


def _outcome(state: dict, names_version: int, text: str, color: str) -> dict:
    """An upload's message, tied to the view and names version it leaves the page at."""
    return {"run_id": state["run_id"], "k": state["k"], "names_version": names_version, "text": text, "color": color}


def _view_key(state: dict) -> tuple:
    return state.get("run_id"), state.get("k"), state.get("names_version", 0)


def _alert(text: str, color: str) -> dbc.Alert:
    return dbc.Alert(text, color=color, className="py-1 px-2 mb-0")
