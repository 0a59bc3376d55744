"""Add new songs: upload a CSV and see where its songs land among the active run's named clusters.

The upload is checked in the browser and sent to the upload route (``amc.checkUploadSize``), then read
on the server as the shell reads its own (``host.read_upload``) and kept in the results store as a batch,
by the fingerprint of its content. The page holds only that id: it goes into the page's link (``host.link_data``), so the link
opens the same songs on the same run for a colleague, and every draw and download assigns the batch
again from the store (``analysis.assign``: nearest centre in the run's model space, flagged when
farther from every centre than 99% of that cluster's own songs). Exports carry the team's current names.
"""
from __future__ import annotations

from functools import lru_cache

import dash_bootstrap_components as dbc
import numpy as np
from dash import ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update
from flask import request

from analysis.assign import Assignment, ClusterCentres, assign, assigned_frame, centres_of, cluster_counts
from analysis.dataset import DataError, Dataset
from analysis.export import csv_chunks, safe_filename
from analysis.figures import cluster_colour, cluster_label, escape, pca_data
from dashboard.exports import attachment, for_excel
from dashboard.host import UPLOADED_FILE, Panel, PanelHost, RouteError, RunView
from dashboard.panels.common import GRAPH_CONFIG, section
from dashboard.parses import ParsesBusy, refused_in_browser

NAME = "new_songs"
CSV_ROUTE = "assigned.csv"
BACKGROUND_SONGS = 5_000  # of the run's songs drawn faintly behind the new ones: the map's shape, not megabytes
FLAGGED_SHOWN = 50
CENTRES_KEPT = 8  # (run, k) whose centres each server process keeps
WAITING = "Upload a CSV of new songs (the same columns as a songs file) to see where they land in this run's clusters."


def _id(part: str) -> dict[str, str]:
    return {"panel": NAME, "part": part}


def layout(view: RunView) -> html.Div:
    return html.Div(
        [
            section("New songs", [
                dcc.Upload(
                    id=_id("upload"),
                    children=html.Div(["Drop a CSV of new songs here or ",
                                       html.Span("choose a file", className="link-primary text-decoration-underline")]),
                    accept=".csv,text/csv,.gz,application/gzip",
                    multiple=False,
                    className="amc-upload",
                ),
                dcc.Store(id=_id(UPLOADED_FILE)),
                dcc.Store(id=_id("refused")),
                # The run and k this drawing is of: its arrival draws the batch the page's link names.
                dcc.Store(id=_id("view"), data={"run_id": view.run_id, "k": view.k}),
                html.Div(id=_id("upload-message"), className="mt-2"),
            ]),
            html.Div(WAITING, id=_id("summary"), className="fw-semibold mb-2", role="status"),
            html.Div(
                [
                    dbc.Row(
                        [
                            dbc.Col(dcc.Graph(id=_id("map"), config=GRAPH_CONFIG), lg=8),
                            dbc.Col(html.Div(id=_id("counts")), lg=4),
                        ]
                    ),
                    section("Songs that fit no cluster well", [html.Div(id=_id("flagged"))]),
                    html.Div(
                        [
                            dbc.Button("Export CSV", id=_id("export-csv"), href="", external_link=True, size="sm"),
                            dbc.Button("Export CSV for Excel", id=_id("export-excel"), href="", external_link=True,
                                       size="sm"),
                        ],
                        className="d-flex flex-wrap gap-2",
                    ),
                ],
                id=_id("results"),
                hidden=True,
            ),
        ]
    )


def new_songs_figure(view: RunView, batch: Dataset, assignment: Assignment) -> dict:
    """The run's PCA map with a seeded sample of its songs faint, and the new songs on it in their clusters'
    colours (a cross for a song that fits no cluster well)."""
    result = view.result
    figure = pca_data(result, view.frame, view.k, view.names, limit=BACKGROUND_SONGS)
    for trace in figure["data"]:
        trace.update(marker={**trace["marker"], "opacity": 0.12, "size": 3}, showlegend=False, hoverinfo="skip")
        trace.pop("hovertemplate", None)
    positions = assignment.pca_positions(result.pca)
    for cluster in range(view.k):
        members = np.flatnonzero(assignment.labels == cluster)
        if not members.size:
            continue
        # The legend shows the first song's symbol: a circle, unless every song of the cluster is flagged.
        members = members[np.argsort(assignment.fits_no_cluster[members], kind="stable")]
        figure["data"].append({
            "type": "scatter",
            "x": positions[members, 0].tolist(),
            "y": positions[members, 1].tolist(),
            "mode": "markers",
            "name": escape(cluster_label(view.names, cluster)),
            "marker": {"size": 10, "color": cluster_colour(cluster), "line": {"width": 1, "color": "#222"},
                       "symbol": np.where(assignment.fits_no_cluster[members], "x", "circle").tolist()},
            "text": [escape(title) for title in batch.frame["name_song"].iloc[members]],
            "customdata": assignment.distances[members].round(3).tolist(),
            "hovertemplate": "%{text}<br>distance to the centre %{customdata}<extra>%{fullData.name}</extra>",
        })
    background = f"{BACKGROUND_SONGS:,} of its {result.n_rows:,}" if result.n_rows > BACKGROUND_SONGS \
        else f"its {result.n_rows:,}"
    figure["layout"]["title"] = {"text": f"{len(assignment.labels):,} new songs on the run's PCA map, k={view.k} "
                                         f"({background} songs shown faint)"}
    return figure


def counts_table(centres: ClusterCentres, assignment: Assignment) -> dbc.Table:
    rows = [
        html.Tr([html.Td(html.Span("●", style={"color": cluster_colour(count["cluster"])}, **{"aria-hidden": "true"})),
                 html.Td(count["name"]), html.Td(f"{count['songs']:,}"), html.Td(f"{count['fits_no_cluster']:,}")])
        for count in cluster_counts(centres, assignment)
    ]
    header = html.Thead(html.Tr([html.Th(html.Span("colour", className="visually-hidden")), html.Th("Cluster"),
                                 html.Th("New songs"), html.Th("Fit no cluster well")]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", class_name="amc-counts", id=_id("counts-table"))


def flagged_list(centres: ClusterCentres, assignment: Assignment, batch: Dataset):
    rows = np.flatnonzero(assignment.fits_no_cluster)
    if not rows.size:
        return html.P("Every new song lies within its cluster's usual spread.", className="small text-muted mb-0")
    frame = batch.frame
    items = [
        html.Li(f"{frame['name_song'].iloc[row]} · {frame['name_artists'].iloc[row]}: nearest to "
                f"{centres.names[int(assignment.labels[row])]} at {assignment.distances[row]:.2f} "
                f"(its songs lie within {centres.fit_distances[assignment.labels[row]]:.2f})")
        for row in rows[:FLAGGED_SHOWN]
    ]
    more = [html.Li(f"… and {rows.size - FLAGGED_SHOWN:,} more (in the export)")] if rows.size > FLAGGED_SHOWN else []
    return html.Ul(items + more, className="small mb-2", id=_id("flagged-list"))


def summary_text(batch: Dataset, assignment: Assignment) -> str:
    report = batch.report
    flagged = int(assignment.fits_no_cluster.sum())
    dropped = report.rows_read - report.rows_kept
    text = f"{batch.name}: {len(assignment.labels):,} new songs placed, {flagged:,} fitting no cluster well"
    return text + (f"; {dropped:,} rows the loader dropped are left out" if dropped else "")


def register(host: PanelHost) -> None:
    @lru_cache(maxsize=CENTRES_KEPT)
    def centres(run_id: str, k: int) -> ClusterCentres:
        view = host.view({"run_id": run_id, "k": k}, songs=True)
        return centres_of(view.result, view.frame, view.names, view.k)

    def placed(view: RunView, batch_id: str) -> tuple[Dataset, ClusterCentres, Assignment] | None:
        batch = host.store.get_batch(batch_id)
        if batch is None:
            return None
        named = centres(view.run_id, view.k).renamed(view.names)
        return batch, named, assign(named, batch)

    host.clientside_callback(
        ClientsideFunction(namespace="amc", function_name="checkUploadSize"),
        Output(_id(UPLOADED_FILE), "data"),
        Output(_id("refused"), "data"),
        Input(_id("upload"), "contents"),
        State(_id("upload"), "filename"),
        host.upload_limit(),
        prevent_initial_call=True,
    )

    @host.callback(
        Output(_id("upload-message"), "children"),
        host.link_output(),
        Output(_id("upload"), "contents"),
        Output(_id(UPLOADED_FILE), "data", allow_duplicate=True),
        Input(_id(UPLOADED_FILE), "data"),
        Input(_id("refused"), "data"),
        prevent_initial_call=True,
    )
    def receive(accepted, refused):
        """Keep a good upload as a batch and put its id in the page's link; the page drops the file's bytes."""
        dropped = (None, None)
        if ctx.triggered_id == _id("refused"):
            return refusal(refused_in_browser(refused, host.config.max_upload_mb)), no_update, *dropped
        if not accepted:
            return no_update, no_update, no_update, no_update  # the bytes were just dropped
        try:
            batch = host.read_upload(accepted.get("filename"), accepted.get("upload"))
        except (DataError, ParsesBusy) as error:
            return refusal(str(error)), no_update, *dropped
        return None, host.link_data(batch=host.store.put_batch(batch)), *dropped

    @host.callback(
        output={
            "summary": Output(_id("summary"), "children"),
            "results": Output(_id("results"), "hidden"),
            "map": Output(_id("map"), "figure"),
            "counts": Output(_id("counts"), "children"),
            "flagged": Output(_id("flagged"), "children"),
            "csv": Output(_id("export-csv"), "href"),
            "excel": Output(_id("export-excel"), "href"),
        },
        inputs={"shown": Input(_id("view"), "data"), "link": host.on_link()},
    )
    def draw(shown, link):
        batch_id = (host.link_params(link) or {}).get("batch")
        if not batch_id:
            return _waiting(WAITING)
        view = host.view(shown)
        found = placed(view, batch_id)
        if found is None:
            return _waiting(f"The new songs of this link ({batch_id}) are no longer stored; upload the file again.")
        batch, named, assignment = found
        args = {"run": view.run_id, "k": view.k, "batch": batch_id}
        return {
            "summary": summary_text(batch, assignment),
            "results": False,
            "map": new_songs_figure(view, batch, assignment),
            "counts": counts_table(named, assignment),
            "flagged": flagged_list(named, assignment, batch),
            "csv": host.href(CSV_ROUTE, **args),
            "excel": host.href(CSV_ROUTE, **args, excel=1),
        }

    def assigned_csv():
        view = host.requested_view(songs=True)
        found = placed(view, request.args.get("batch", ""))
        if found is None:
            raise RouteError(404, "no stored batch of new songs has this id; upload the file again")
        batch, named, assignment = found
        stem = batch.name.rsplit(".", 1)[0]
        filename = safe_filename(f"{stem}-in-{view.result.dataset_name.rsplit('.', 1)[0]}-k{view.k}", "csv")
        frame = assigned_frame(batch, assignment, named.names)
        return attachment(csv_chunks(frame, excel=for_excel()), filename, "text/csv")

    host.route(CSV_ROUTE, assigned_csv)


def _waiting(message: str) -> dict:
    return {"summary": message, "results": True, "map": no_update, "counts": None, "flagged": None,
            "csv": "", "excel": ""}


def refusal(message: str) -> dbc.Alert:
    return dbc.Alert([html.Strong("Upload refused: "), message], color="danger", dismissable=True,
                     class_name="amc-alert")


PANEL = Panel(
    name=NAME,
    title="Add new songs",
    needs=frozenset({"models", "pca", "dataset"}),
    layout=layout,
    register=register,
    order=80,
)
