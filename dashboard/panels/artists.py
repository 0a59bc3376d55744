"""Artist breakdown panel: top artists and genres per cluster, artists whose songs span clusters,
and a search: type part of an artist's name and see where their songs fall."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, html

from analysis.figures import artist_spread_figure
from dashboard.ids import RUN_STATE
from dashboard.panels.common import current_run, graph
from dashboard.panels.registry import Panel, RunView

TOP_PER_CLUSTER = 5
SPANNING_SHOWN = 15
SONGS_LISTED = 50


def layout(view: RunView):
    breakdown = view.result.models[view.k].breakdown
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col([html.H6("Top artists"), top_table(breakdown.top_artists, "artist", view, "top-artists")],
                            lg=6),
                    dbc.Col([html.H6("Top genres"), top_table(breakdown.top_genres, "genre", view, "top-genres")],
                            lg=6),
                ]
            ),
            html.H6("Artists spanning clusters", className="mt-3"),
            spanning_table(breakdown.spanning_artists, view),
            html.H6("Find an artist", className="mt-3"),
            dbc.Input(id=PANEL.part_id("search"), type="search", debounce=300,
                      placeholder="Type part of an artist's name, e.g. abba"),
            html.Div(id=PANEL.part_id("found"), className="mt-2"),
        ]
    )


def top_table(top: pd.DataFrame, column: str, view: RunView, part: str) -> dbc.Table:
    """One row per cluster: its leading artists (or genres) with their song counts."""
    ordered = top.sort_values(["cluster", "songs"], ascending=[True, False], kind="stable")
    heads = ordered.groupby("cluster").head(TOP_PER_CLUSTER)
    leaders = {int(cluster): group for cluster, group in heads.groupby("cluster")}
    rows = []
    for cluster in range(view.k):
        group = leaders.get(cluster, ordered.iloc[:0])
        listed = ", ".join(f"{item} ({songs:,})" for item, songs in zip(group[column], group["songs"]))
        rows.append(html.Tr([html.Td(view.names.get(cluster, f"Cluster {cluster}")), html.Td(listed or "–")]))
    header = html.Thead(html.Tr([html.Th("cluster"), html.Th(f"{column}s (songs)")]))
    return dbc.Table([header, html.Tbody(rows)], id=PANEL.part_id(part), size="sm", striped=True)


def spanning_table(spanning: pd.DataFrame, view: RunView) -> dbc.Table | html.P:
    shown = spanning[spanning["clusters"] > 1].head(SPANNING_SHOWN)
    if shown.empty:
        return html.P("Every artist's songs sit in a single cluster.", className="text-muted small")
    rows = [
        html.Tr([html.Td(row.artist), html.Td(row.clusters), html.Td(f"{row.songs:,}"),
                 html.Td(named_counts(row.counts, view.names))])
        for row in shown.itertuples()
    ]
    header = html.Thead(html.Tr([html.Th(title) for title in ("artist", "clusters", "songs", "songs per cluster")]))
    return dbc.Table([header, html.Tbody(rows)], id=PANEL.part_id("spanning"), size="sm", striped=True)


def named_counts(counts: str, names: dict[int, str]) -> str:
    """'0:12 3:4' -> 'Loud: 12 · Calm: 4'."""
    pairs = (item.split(":") for item in counts.split())
    return " · ".join(f"{names.get(int(cluster), f'Cluster {cluster}')}: {songs}" for cluster, songs in pairs)


def artist_matches(frame: pd.DataFrame, query: str) -> np.ndarray:
    """Positions of the songs whose artist contains ``query``, ignoring case."""
    return np.flatnonzero(frame["name_artists"].str.contains(query, case=False, regex=False).to_numpy(dtype=bool))


def search_results(frame: pd.DataFrame, labels: np.ndarray, k: int, names: dict[int, str], query: str):
    found = artist_matches(frame, query)
    if found.size == 0:
        return html.P(f"No artist name contains “{query}”.", className="text-muted")
    counts = np.bincount(labels[found], minlength=k)
    songs = frame.iloc[found].assign(cluster=labels[found])
    listed = songs.nlargest(SONGS_LISTED, "popularity_songs")
    rows = [
        html.Tr([html.Td(row.name_song), html.Td(row.name_artists),
                 html.Td(names.get(row.cluster, f"Cluster {row.cluster}"))])
        for row in listed.itertuples()
    ]
    caption = f"{found.size:,} songs" + (f"; the {len(listed)} most popular listed" if found.size > len(listed) else "")
    header = html.Thead(html.Tr([html.Th("song"), html.Th("artist"), html.Th("cluster")]))
    return html.Div(
        [
            graph(PANEL.part_id("search-graph"), artist_spread_figure(counts, names, query)),
            html.Small(caption, className="text-muted"),
            dbc.Table([header, html.Tbody(rows)], id=PANEL.part_id("search-songs"), size="sm", striped=True),
        ]
    )


def register(app, store) -> None:
    @app.callback(
        Output(PANEL.part_id("found"), "children"),
        Input(PANEL.part_id("search"), "value"),
        State(RUN_STATE, "data"),
        prevent_initial_call=True,
    )
    def search(query, state):
        query = (query or "").strip()
        if not query:
            return None
        run = current_run(store, state)
        dataset = store.get_dataset(run.dataset_id)
        if dataset is None:
            return html.P("The songs of this run are no longer stored; run it again to search.",
                          className="text-danger")
        return search_results(dataset.frame, run.result.models[run.k].labels, run.k, run.names, query)


PANEL = Panel(
    name="artists",
    title="Artist breakdown",
    needs=frozenset({"models", "breakdown", "dataset"}),
    layout=layout,
    register=register,
    order=60,
)
