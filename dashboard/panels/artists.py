"""Artist breakdown panel: top artists and genres per cluster, artists whose songs span clusters,
and a search: type part of an artist's name and see where their songs fall."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, html, no_update

from analysis.figures import artist_spread_figure
from dashboard.host import Panel, PanelHost, RunView, names_for
from dashboard.panels.common import graph

TOP_PER_CLUSTER = 5
SPANNING_SHOWN = 15
SONGS_LISTED = 50


def layout(view: RunView):
    breakdown = view.result.models[view.k].breakdown
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col([html.H6("Top artists"), html.Div(top_artists(view), id=PANEL.part_id("top-artists"))],
                            lg=6),
                    dbc.Col([html.H6("Top genres"), html.Div(top_genres(view), id=PANEL.part_id("top-genres"))],
                            lg=6),
                ]
            ),
            html.H6("Artists spanning clusters", className="mt-3"),
            html.Div(spanning_table(breakdown.spanning_artists, view), id=PANEL.part_id("spanning")),
            html.H6("Find an artist", className="mt-3"),
            dbc.Input(id=PANEL.part_id("search"), type="search", debounce=300,
                      placeholder="Type part of an artist's name, e.g. abba"),
            html.Div(id=PANEL.part_id("found"), className="mt-2"),
        ]
    )


def top_artists(view: RunView) -> dbc.Table:
    return top_table(view.model.breakdown.top_artists, "artist", view)


def top_genres(view: RunView) -> dbc.Table:
    return top_table(view.model.breakdown.top_genres, "genre", view)


def top_table(top: pd.DataFrame, column: str, view: RunView) -> dbc.Table:
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
    return dbc.Table([header, html.Tbody(rows)], size="sm", striped=True)


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
    return dbc.Table([header, html.Tbody(rows)], size="sm", striped=True)


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


def register(host: PanelHost) -> None:
    @host.callback(
        Output(PANEL.part_id("found"), "children"),
        Input(PANEL.part_id("search"), "value"),
        host.on_names(),
        host.shown(),
        prevent_initial_call=True,
    )
    def search(query, _names, shown):
        query = (query or "").strip()
        if not query:
            return None
        view = host.view(shown)
        return search_results(view.frame, view.model.labels, view.k, view.names, query)

    @host.callback(
        Output(PANEL.part_id("top-artists"), "children"),
        Output(PANEL.part_id("top-genres"), "children"),
        Output(PANEL.part_id("spanning"), "children"),
        host.on_names(),
        host.shown(),
        prevent_initial_call=True,
    )
    def rename(names, shown):
        """The tables' cluster names follow a rename; the tables are small, so their rows are sent again."""
        if names_for(shown, names) is None:
            return no_update, no_update, no_update
        view = host.view(shown)
        return top_artists(view), top_genres(view), spanning_table(view.model.breakdown.spanning_artists, view)


PANEL = Panel(
    name="artists",
    title="Artist breakdown",
    needs=frozenset({"models", "breakdown", "dataset"}),
    layout=layout,
    register=register,
    order=60,
    patches_names=True,
)
