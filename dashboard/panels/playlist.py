"""The playlist builder: filter a run's songs, order them, find songs like a picked one, export the list.

The page holds only the filter values; every callback rebuilds the playlist from the results store,
and the export buttons are links to server routes that stream the file (``playlist_files``).
"""
from __future__ import annotations

import math

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, ctx, dcc, html, no_update

from analysis.playlist import (
    ORDER_CENTRE,
    ORDER_POPULARITY,
    ORDER_SEED,
    RANGE_COLUMNS,
    PlaylistError,
    PlaylistQuery,
)
from analysis.limits import PLAYLIST_DEFAULT_SONGS, PLAYLIST_MAX_SONGS, PLAYLIST_NAME_MAX
from analysis.result import AUDIO_FEATURES
from dashboard.host import Panel, PanelHost, RunView, dom_id, names_for
from dashboard.panels.common import section
from dashboard.panels.playlist_files import SongTables, playlist_links, register_playlist_files

NAME = "playlist"
GRID_ROWS = 1_000  # rows sent to the table; the exports carry the whole playlist
SEARCH_OPTIONS = 50
DEFAULT_PLAYLIST_NAME = "My playlist"


def _id(part: str) -> dict[str, str]:
    return {"panel": NAME, "part": part}


def layout(view: RunView) -> html.Div:
    frame = view.frame
    return html.Div(
        [
            section("Which songs", [
                _source_line(),
                dbc.Row(
                    [
                        _labelled("Clusters", _cluster_picker(view.names)),
                        _labelled("Genres", _search_picker("genres", "Type to search genres")),
                        _labelled("Artists", _search_picker("artists", "Type to search artists")),
                    ],
                    className="g-3",
                ),
                dbc.Row(
                    [
                        _labelled("Release year", _range_slider("years", _bounds(frame["release_year"], 1))),
                        _labelled("Popularity", _range_slider("popularity", _bounds(frame["popularity_songs"], 1))),
                        _labelled("Audio feature", _feature_filter(frame)),
                    ],
                    className="g-3 mt-1",
                ),
            ]),
            section("Order and size", [dbc.Row(_order_controls(), className="g-3 align-items-end")]),
            section("More like a picked song", [_like_bar()]),
            section("The playlist", [
                html.Div(id=_id("message")),
                html.Div(id=_id("count"), className="fw-semibold", role="status"),
                _grid(view),
                _export_buttons(),
            ]),
        ]
    )


def _source_line() -> html.Div:
    """Which songs the filters start from: the run's, or a selection handed over (a lasso, a flow)."""
    return html.Div(
        [
            html.Span(id=_id("source"), role="status"),
            dbc.Button("Use every song", id=_id("every-song"), size="sm", color="secondary", outline=True,
                       class_name="ms-2", style={"display": "none"}),
        ],
        className="mb-2 small",
    )


def source_text(selection: dict | None) -> str:
    if not selection:
        return "From every song of the run."
    count = selection["count"]
    return f"From a selection of {count:,} song{'s' if count != 1 else ''}: {selection['label']}."


def _labelled(label: str, control, width: int = 4) -> dbc.Col:
    target = getattr(control, "id", None)
    return dbc.Col([dbc.Label(label, html_for=dom_id(target) if target else None, className="small mb-1"), control],
                   md=width)


def _cluster_picker(names: dict[int, str]) -> dcc.Dropdown:
    return dcc.Dropdown(id=_id("clusters"), options=cluster_options(names), multi=True, placeholder="All clusters")


def cluster_options(names: dict[int, str]) -> list[dict]:
    return [{"label": f"{cluster} · {name}", "value": cluster} for cluster, name in sorted(names.items())]


def _search_picker(part: str, placeholder: str) -> dcc.Dropdown:
    # Options arrive as the user types: the full file has thousands of genres and artists.
    return dcc.Dropdown(id=_id(part), options=[], multi=True, placeholder=placeholder)


def _bounds(values: pd.Series, step: float) -> tuple[float, float, float]:
    finite = values.to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return 0.0, 0.0, step
    return math.floor(finite.min() / step) * step, math.ceil(finite.max() / step) * step, step


def _feature_bounds(frame: pd.DataFrame) -> dict[str, list[float]]:
    """Each range column's slider: [low, high, step] with a step near one hundredth of the span."""
    bounds = {}
    for name in RANGE_COLUMNS:
        values = frame[name].to_numpy(dtype=np.float64)
        span = float(np.nanmax(values) - np.nanmin(values)) or 1.0
        step = 10.0 ** math.floor(math.log10(span / 100))
        bounds[name] = list(_bounds(frame[name], step))
    return bounds


def _range_slider(part: str, bounds: tuple[float, float, float]) -> dcc.RangeSlider:
    low, high, step = bounds
    return dcc.RangeSlider(
        id=_id(part),
        min=low,
        max=high,
        step=step,
        value=[low, high],
        marks=None,
        allowCross=False,
        tooltip={"placement": "bottom", "always_visible": False},
        disabled=low == high,
    )


def _feature_filter(frame: pd.DataFrame) -> html.Div:
    return html.Div(
        [
            dcc.Dropdown(
                id=_id("feature"),
                options=[{"label": _label(name), "value": name} for name in RANGE_COLUMNS],
                placeholder="No feature filter",
            ),
            _range_slider("feature-range", (0.0, 1.0, 0.01)),
            dcc.Store(id=_id("feature-bounds"), data=_feature_bounds(frame)),
        ]
    )


def _order_controls() -> list[dbc.Col]:
    orders = [
        {"label": "Closeness to the cluster centre", "value": ORDER_CENTRE},
        {"label": "Popularity", "value": ORDER_POPULARITY},
        {"label": "Closeness to the picked song", "value": ORDER_SEED},
        *({"label": _label(name), "value": name} for name in RANGE_COLUMNS),
    ]
    return [
        _labelled("Order by", dcc.Dropdown(id=_id("order"), options=orders, value=ORDER_CENTRE, clearable=False), 3),
        dbc.Col(
            [
                dbc.Switch(id=_id("descending"), label="Highest first", value=False),
                dbc.Switch(id=_id("dedupe"), label="One copy of each song", value=True),
            ],
            md=3,
        ),
        _labelled(
            f"Size limit (at most {PLAYLIST_MAX_SONGS:,})",
            dbc.Input(id=_id("limit"), type="number", min=1, max=PLAYLIST_MAX_SONGS, step=1,
                      value=PLAYLIST_DEFAULT_SONGS), 2
        ),
        _labelled(
            "Playlist name", dbc.Input(id=_id("name"), type="text", maxLength=PLAYLIST_NAME_MAX, value=DEFAULT_PLAYLIST_NAME), 4
        ),
    ]


def _like_bar() -> html.Div:
    return html.Div(
        [
            dbc.Button("More like this", id=_id("like"), size="sm", disabled=True),
            dbc.Switch(id=_id("within-cluster"), label="Within its cluster", value=False, className="mb-0"),
            dbc.Button("Back to the filters", id=_id("unlike"), size="sm", color="secondary", outline=True, disabled=True),
            dcc.Store(id=_id("like-row"), data=None),
        ],
        className="d-flex flex-wrap align-items-center gap-3",
    )


def _grid(view: RunView) -> dag.AgGrid:
    columns = [
        {"field": "name_song", "headerName": "Song", "pinned": "left"},
        {"field": "name_artists", "headerName": "Artist"},
        {"field": "cluster_name", "headerName": "Cluster name"},
        {"field": "cluster", "headerName": "Cluster", "width": 100},
        {"field": "distance", "headerName": "Distance", "valueFormatter": {"function": "d3.format('.3f')(params.value)"}},
        {"field": "popularity_songs", "headerName": "Popularity", "width": 120},
        {"field": "release_date", "headerName": "Released"},
        {"field": "genres", "headerName": "Genres"},
        *({"field": name, "headerName": _label(name)} for name in AUDIO_FEATURES if name != "popularity_songs"),
        {"field": "id_songs", "headerName": "Spotify id"},
    ]
    return dag.AgGrid(
        id=_id("grid"),
        columnDefs=columns,
        rowData=[],
        getRowId="params.data.row",
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 90},
        dashGridOptions={
            "rowSelection": {"mode": "singleRow", "enableClickSelection": True, "checkboxes": False},
            "animateRows": False,
            # One tab stop: arrow keys move inside the grid, Tab leaves it (not 1,000 cells later).
            "tabToNextCell": {"function": "false"},
            "tabToNextHeader": {"function": "false"},
        },
        style={"height": "460px"},
        className="ag-theme-alpine mt-2",
    )


def _export_buttons() -> html.Div:
    def link(part: str, text: str) -> dbc.Button:
        return dbc.Button(text, id=_id(part), href="", external_link=True, color="primary", size="sm")

    return html.Div(
        [
            link("export-csv", "Export CSV"),
            link("export-excel", "Export CSV for Excel"),
            link("export-uris", "Export Spotify URIs"),
        ],
        className="d-flex flex-wrap gap-2 mt-2",
    )


def _label(column: str) -> str:
    return {"popularity_songs": "Popularity", "popularity_artists": "Artist popularity", "duration_ms": "Duration (ms)"}.get(
        column, column.replace("_", " ").capitalize()
    )


def query_from_controls(controls: dict) -> PlaylistQuery:
    """The query the widgets describe; a slider at its full extent filters nothing."""
    feature_ranges = {}
    if controls["feature"] and _narrowed(controls["feature_range"], controls["feature_bounds"][controls["feature"]]):
        feature_ranges[controls["feature"]] = tuple(controls["feature_range"])
    return PlaylistQuery(
        clusters=tuple(controls["clusters"] or ()),
        genres=tuple(controls["genres"] or ()),
        artists=tuple(controls["artists"] or ()),
        years=_narrowed(controls["years"], controls["years_bounds"]),
        feature_ranges=feature_ranges,
        popularity=_narrowed(controls["popularity"], controls["popularity_bounds"]),
        dedupe=bool(controls["dedupe"]),
        limit=_limit(controls["limit"]),
        order_by=controls["order"],
        descending=bool(controls["descending"]),
        like_row=controls["like_row"],
        within_like_cluster=bool(controls["within_cluster"]),
        selection=controls.get("selection_id"),
    )


def _narrowed(value, bounds) -> tuple[float, float] | None:
    if not value or (value[0] <= bounds[0] and value[1] >= bounds[1]):
        return None
    return float(value[0]), float(value[1])


def _limit(value) -> int:
    if value is None:
        raise PlaylistError("enter a size limit (a whole number of songs)")
    return int(value)


def grid_rows(view, playlist: pd.DataFrame) -> list[dict]:
    """The table's rows: raw values, cluster names as text, at most ``GRID_ROWS``."""
    shown = playlist.head(GRID_ROWS)
    positions = shown["row"].to_numpy()
    songs = view.frame.iloc[positions]
    distance = shown["seed_distance"] if shown["seed_distance"].notna().any() else shown["centre_distance"]
    table = pd.DataFrame(
        {
            "row": positions.astype(str),  # the grid's row id, which AG Grid wants as text
            "id_songs": songs["id_songs"].to_numpy(),
            "name_song": songs["name_song"].to_numpy(),
            "name_artists": songs["name_artists"].to_numpy(),
            "cluster": shown["cluster"].to_numpy(),
            "cluster_name": [view.names.get(int(c), "") for c in shown["cluster"]],
            "distance": distance.round(4).to_numpy(),
            "genres": [", ".join(genres) for genres in songs["genre_list"]],
            "release_date": songs["release_date"].to_numpy(),
            **{name: songs[name].to_numpy() for name in AUDIO_FEATURES},
        }
    )
    return table.astype(object).where(table.notna(), None).to_dict("records")


def _count_text(total: int, matching: int, like_song: str | None) -> str:
    """"50 of 158 songs" when the size limit cut the list, else "158 songs"."""
    text = f"{total:,} of {matching:,} songs" if matching > total else f"{total:,} song{'s' if total != 1 else ''}"
    if matching > total:
        text += " (the size limit cuts the list)"
    if like_song:
        text += f" like {like_song}, closest first"
    if total > GRID_ROWS:
        text += f" (the table shows the first {GRID_ROWS:,}; the exports hold all)"
    return text


def register(host: PanelHost) -> None:
    tables = SongTables(host.store)
    register_playlist_files(host, tables)

    controls = {
        "clusters": Input(_id("clusters"), "value"),
        "genres": Input(_id("genres"), "value"),
        "artists": Input(_id("artists"), "value"),
        "years": Input(_id("years"), "value"),
        "popularity": Input(_id("popularity"), "value"),
        "feature": Input(_id("feature"), "value"),
        "feature_range": Input(_id("feature-range"), "value"),
        "order": Input(_id("order"), "value"),
        "descending": Input(_id("descending"), "value"),
        "dedupe": Input(_id("dedupe"), "value"),
        "limit": Input(_id("limit"), "value"),
        "like_row": Input(_id("like-row"), "data"),
        "within_cluster": Input(_id("within-cluster"), "value"),
        "name": Input(_id("name"), "value"),
        "names": host.on_names(),  # the grid shows cluster names
        "selection": host.on_selection(),
    }
    context = {
        "years_bounds": (State(_id("years"), "min"), State(_id("years"), "max")),
        "popularity_bounds": (State(_id("popularity"), "min"), State(_id("popularity"), "max")),
        "feature_bounds": State(_id("feature-bounds"), "data"),
        "shown": host.shown(),
    }

    @host.callback(
        output={
            "rows": Output(_id("grid"), "rowData"),
            "count": Output(_id("count"), "children"),
            "message": Output(_id("message"), "children"),
            "csv": Output(_id("export-csv"), "href"),
            "excel": Output(_id("export-excel"), "href"),
            "uris": Output(_id("export-uris"), "href"),
            "clusters": Output(_id("clusters"), "options"),
            "source": Output(_id("source"), "children"),
            "every_song": Output(_id("every-song"), "style"),
        },
        inputs=controls,
        state=context,
    )
    def show_playlist(**values):
        names, shown, selection = values.pop("names"), values.pop("shown"), values.pop("selection")
        view = host.view(shown)
        # A selection of another dataset's songs (made before the run changed) does not apply here.
        if selection and selection.get("dataset_id") != view.result.dataset_id:
            selection = None
        values["selection_id"] = selection["selection_id"] if selection else None
        source = {"source": source_text(selection), "every_song": {} if selection else {"display": "none"}}
        try:
            query = query_from_controls(values)
            playlist = tables.playlist(view, query)
        except PlaylistError as error:
            return {**_empty(str(error)), **source}
        like_song = _song_title(view, query.like_row)
        name = (values["name"] or "").strip() or DEFAULT_PLAYLIST_NAME
        renamed = names_for(shown, names) is not None
        return {
            "rows": grid_rows(view, playlist),
            "count": _count_text(len(playlist), playlist.attrs["matching"], like_song),
            "message": None,
            **playlist_links(host, view, query, name),
            "clusters": cluster_options(view.names) if renamed else no_update,
            **source,
        }

    @host.callback(host.selection_output(), Input(_id("every-song"), "n_clicks"), prevent_initial_call=True)
    def every_song(clicks):
        # A panel drawn anew calls this with no click: the selection handed over must stay.
        return None if clicks else no_update

    for vocabulary in ("genres", "artists"):
        _register_search(host, tables, vocabulary)

    @host.callback(
        Output(_id("feature-range"), "min"),
        Output(_id("feature-range"), "max"),
        Output(_id("feature-range"), "step"),
        Output(_id("feature-range"), "value"),
        Output(_id("feature-range"), "disabled"),
        Input(_id("feature"), "value"),
        State(_id("feature-bounds"), "data"),
    )
    def feature_slider(feature, bounds):
        if not feature:
            return 0, 1, 0.01, [0, 1], True
        low, high, step = bounds[feature]
        return low, high, step, [low, high], low == high

    @host.callback(Output(_id("like"), "disabled"), Input(_id("grid"), "selectedRows"))
    def like_enabled(selected):
        return not selected

    @host.callback(
        Output(_id("like-row"), "data"),
        Output(_id("order"), "value"),
        Output(_id("unlike"), "disabled"),
        Input(_id("like"), "n_clicks"),
        Input(_id("unlike"), "n_clicks"),
        State(_id("grid"), "selectedRows"),
        prevent_initial_call=True,
    )
    def pick_song(_like, _unlike, selected):
        if ctx.triggered_id == _id("like") and selected:
            return int(selected[0]["row"]), ORDER_SEED, False
        return None, ORDER_CENTRE, True


def _register_search(host: PanelHost, tables: SongTables, vocabulary: str) -> None:
    """Offer the ``SongTable`` vocabulary (``genres`` or ``artists``) that matches the typed text."""
    @host.callback(
        Output(_id(vocabulary), "options"),
        Input(_id(vocabulary), "search_value"),
        State(_id(vocabulary), "value"),
        host.shown(),
    )
    def search(typed, chosen, shown):
        values = getattr(tables.of(host.view(shown)), vocabulary)
        return [{"label": v, "value": v} for v in _matches(values, typed, chosen or [])]


def _matches(vocabulary: np.ndarray, typed: str | None, chosen: list[str]) -> list[str]:
    """The chosen values (so they stay visible) and the first values containing the typed text."""
    needle = (typed or "").strip().casefold()
    found = list(chosen)
    for value in vocabulary:
        if len(found) >= len(chosen) + SEARCH_OPTIONS:
            break
        if needle in value.casefold() and value not in chosen:
            found.append(value)
    return found


def _song_title(view, row: int | None) -> str | None:
    if row is None:
        return None
    song = view.frame.iloc[row]
    return f"“{song['name_song']}” by {song['name_artists']}"


def _empty(message: str) -> dict:
    return {
        "rows": [],
        "count": "",
        "message": dbc.Alert(message, color="warning", className="py-1 px-2 mb-0"),
        "csv": "",
        "excel": "",
        "uris": "",
        "clusters": no_update,
    }


PANEL = Panel(
    name=NAME,
    title="Playlist builder",
    needs=frozenset({"models", "dataset"}),
    layout=layout,
    register=register,
    order=70,
    patches_names=True,
)
