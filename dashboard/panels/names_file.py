"""Download and upload a run's cluster names as the JSON file ``amc cluster --names`` reads.

An upload goes through ``store.rename`` one cluster at a time, based on the version the page
showed, so a name someone else changed meanwhile is refused with the usual conflict message and
every applied name appears in the history.

The names reach every panel as partial updates, so the panel and its message stay where they are.
"""
from __future__ import annotations

import base64
import binascii

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from analysis.export import safe_filename
from analysis.names import MAX_NAMES_FILE_CHARS, NamesFileError, names_file_text, parse_names_file
from dashboard.exports import attachment
from dashboard.host import PanelHost, RunView, names_data
from dashboard.store import InvalidName, NameConflict, NameSheet

NAMES_ROUTE = "names.json"


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
            dcc.Store(id=_id("outcome")),
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


def register_names_io(host: PanelHost) -> None:
    def names_json():
        view = host.requested_view(songs=False)
        filename = safe_filename(f"names-{view.run_id}-k{view.k}", "json")
        return attachment(names_file_text(view.run_id, view.k, view.names), filename, "application/json")

    host.route(NAMES_ROUTE, names_json)

    @host.callback(Output(_id("download"), "href"), host.on_view())
    def download_link(shown):
        view = host.view(shown)
        return host.href(NAMES_ROUTE, run=view.run_id, k=view.k)

    @host.callback(
        Output(_id("outcome"), "data"),
        host.state_output(),
        host.names_output(),
        Input(_id("upload"), "contents"),
        State(_id("upload"), "filename"),
        host.run_state(),
        prevent_initial_call=True,
    )
    def upload(contents, filename, state):
        if not contents:
            return no_update, no_update, no_update
        view = host.view(state)
        source = filename or "uploaded file"
        version = int(state.get("names_version") or 0)  # the names the page showed, not the store's newest
        try:
            data = base64.b64decode(contents.partition(",")[2], validate=True)
            sheet, summary = apply_names_file(host.store, view.run_id, view.k, version, data, source)
        except binascii.Error:
            return _outcome(view, version, f"{source}: the upload arrived damaged; try again", "danger"), \
                no_update, no_update
        except NamesFileError as error:
            return _outcome(view, version, str(error), "danger"), no_update, no_update
        except NamesUploadConflict as error:
            # Show the other person's names at once: the page follows the newer version.
            current = error.conflict.current
            return (_outcome(view, current.version, f"{source}: {error}", "danger"),
                    host.with_names_version(state, current.version), names_data(view, current))
        return (_outcome(view, sheet.version, summary, "success"), host.with_names_version(state, sheet.version),
                names_data(view, sheet))

    @host.callback(Output(_id("message"), "children"), Input(_id("outcome"), "data"))
    def show_outcome(outcome):
        if not outcome:
            return None
        return _alert(outcome["text"], outcome["color"])


def _outcome(view: RunView, names_version: int, text: str, color: str) -> dict:
    """An upload's message, tied to the view and names version it leaves the page at."""
    return {"run_id": view.run_id, "k": view.k, "names_version": names_version, "text": text, "color": color}


def _alert(text: str, color: str) -> dbc.Alert:
    return dbc.Alert(text, color=color, className="py-1 px-2 mb-0")
