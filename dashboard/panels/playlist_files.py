"""The playlist builder's files: its songs prepared once per run, and the CSV and Spotify URI downloads.

The browser holds only a link (run id, k, an encoded playlist query and a playlist name); the server
rebuilds the rows from the results store and streams them through the one export writer.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
from flask import request

from analysis.export import clustered_frame, csv_chunks, safe_filename, spotify_uris
from analysis.limits import PLAYLIST_NAME_MAX
from analysis.playlist import PlaylistError, PlaylistQuery, SongTable, build_playlist, decode_query, encode_query
from dashboard.exports import attachment, for_excel
from dashboard.host import PanelHost, RouteError, RunView

CSV_ROUTE = "playlist.csv"
URIS_ROUTE = "playlist.txt"
SONG_TABLES_KEPT = 4  # runs whose prepared songs each server process keeps


class SongTables:
    """Each run's ``SongTable``, built once and reused by every query (a few runs per process)."""

    def __init__(self, store, size: int = SONG_TABLES_KEPT) -> None:
        self.store = store  # dashboard.store.ResultsStore: it keeps the selections a query may name
        self.size = size
        self._tables: OrderedDict[str, SongTable] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, view: RunView) -> SongTable:
        with self._lock:
            table = self._tables.get(view.run_id)
            if table is not None:
                self._tables.move_to_end(view.run_id)
                return table
        table = SongTable.build(view.frame, view.result.transform)
        with self._lock:
            self._tables[view.run_id] = table
            while len(self._tables) > self.size:
                self._tables.popitem(last=False)
        return table

    def playlist(self, view: RunView, query: PlaylistQuery) -> pd.DataFrame:
        return build_playlist(self.of(view), view.model, query, self.selected_rows(view, query))

    def selected_rows(self, view: RunView, query: PlaylistQuery) -> np.ndarray | None:
        """The rows of the selection the query names, or ``PlaylistError`` when it is gone or of other songs."""
        if query.selection is None:
            return None
        selection = self.store.get_selection(query.selection)
        if selection is None:
            raise PlaylistError("the selection of songs is no longer stored; select them again on the scatter")
        if selection.dataset_id != view.result.dataset_id:
            raise PlaylistError("the selection holds songs of another dataset than this run's")
        return selection.rows


def playlist_links(host: PanelHost, view: RunView, query: PlaylistQuery, name: str) -> dict[str, str]:
    """The download links of a playlist: CSV, CSV for Excel (with a byte-order mark) and Spotify URIs."""
    args = {"run": view.run_id, "k": view.k, "q": encode_query(query), "name": name}
    return {"csv": host.href(CSV_ROUTE, **args), "excel": host.href(CSV_ROUTE, **args, excel=1),
            "uris": host.href(URIS_ROUTE, **args)}


def register_playlist_files(host: PanelHost, tables: SongTables) -> None:
    def requested() -> tuple[RunView, pd.DataFrame, str]:
        view = host.requested_view(songs=True)
        try:
            playlist = tables.playlist(view, decode_query(request.args.get("q", "")))
        except PlaylistError as error:
            raise RouteError(400, str(error)) from None
        return view, playlist, request.args.get("name", "")[:PLAYLIST_NAME_MAX]

    def playlist_csv():
        view, playlist, name = requested()
        frame = clustered_frame(view.dataset, view.model.labels, view.names)
        rows = frame.loc[view.frame.index[playlist["row"].to_numpy()]]
        return attachment(csv_chunks(rows, excel=for_excel()), safe_filename(name, "csv"), "text/csv")

    def playlist_uris():
        view, playlist, name = requested()
        song_ids = view.frame.iloc[playlist["row"].to_numpy()][["id_songs"]]
        return attachment(spotify_uris(song_ids), safe_filename(name, "txt"), "text/plain")

    host.route(CSV_ROUTE, playlist_csv)
    host.route(URIS_ROUTE, playlist_uris)
