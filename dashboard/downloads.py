"""File downloads as plain Flask routes, streamed from the server.

The browser holds only a link (run id, k, an encoded playlist query and a playlist name); the
server rebuilds the rows from the results store and streams them through the one export writer.
"""
from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
from flask import Flask, Response, request, stream_with_context

from analysis.dataset import Dataset
from analysis.export import clustered_frame, csv_chunks, safe_filename, spotify_uris
from analysis.playlist import PlaylistError, PlaylistQuery, SongTable, build_playlist, decode_query, encode_query
from analysis.result import ClusterModel, RunResult

DOWNLOAD_PREFIX = "download/"
MAX_ID_CHARS = 64
MAX_PLAYLIST_NAME = 200


class DownloadError(Exception):
    """A download that cannot be served; ``status`` is the HTTP status, the message one line for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StoredView:
    """One stored run at one k with its dataset, the team's current names and the prepared songs."""

    run: RunResult
    dataset: Dataset
    k: int
    names: dict[int, str]
    songs: SongTable

    @property
    def model(self) -> ClusterModel:
        return self.run.models[self.k]

    def playlist(self, query: PlaylistQuery) -> pd.DataFrame:
        return build_playlist(self.songs, self.model, query)

    def export_frame(self, rows: Iterable[int] | None = None) -> pd.DataFrame:
        """Raw input columns plus cluster and cluster name; the given frame rows in their order, else every row."""
        frame = clustered_frame(self.dataset, self.model.labels, self.names)
        if rows is None:
            return frame
        return frame.loc[self.dataset.frame.index[np.asarray(rows, dtype=np.int64)]]


class PlaylistSource:
    """Reads runs from the store and keeps each run's ``SongTable`` (built once, reused by every query)."""

    def __init__(self, store, size: int = 4) -> None:
        self.store = store
        self.size = size
        self._songs: OrderedDict[str, SongTable] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, run_id: str, k: int) -> StoredView:
        run = self.store.get_run(run_id)
        if run is None:
            raise DownloadError(404, f"no stored run {run_id!r}; run the analysis again")
        if k not in run.models:
            raise DownloadError(404, f"run {run_id} has no k={k}; its sweep covers {min(run.models)}..{max(run.models)}")
        dataset = self.store.get_dataset(run.dataset_id)
        if dataset is None:
            raise DownloadError(404, f"the data of run {run_id} ({run.dataset_name}) is no longer stored")
        names = self.store.get_names(run_id, k).names
        return StoredView(run=run, dataset=dataset, k=k, names=names, songs=self._song_table(run, dataset))

    def _song_table(self, run: RunResult, dataset: Dataset) -> SongTable:
        with self._lock:
            songs = self._songs.get(run.run_id)
            if songs is not None:
                self._songs.move_to_end(run.run_id)
                return songs
        songs = SongTable.build(dataset.frame, run.transform)
        with self._lock:
            self._songs[run.run_id] = songs
            while len(self._songs) > self.size:
                self._songs.popitem(last=False)
        return songs


def download_href(app, kind: str, run_id: str, k: int, **extra: str) -> str:
    """The link of a download route (``kind`` is e.g. ``playlist.csv``), relative to the app's base path."""
    return app.get_relative_path(f"/{DOWNLOAD_PREFIX}{kind}") + "?" + urlencode({"run": run_id, "k": k, **extra})


def playlist_href(app, kind: str, run_id: str, k: int, query: PlaylistQuery, name: str) -> str:
    return download_href(app, kind, run_id, k, q=encode_query(query), name=name)


def register_downloads(app, source: PlaylistSource) -> None:
    """Add the playlist and dataset download routes to the app's Flask server."""
    server: Flask = app.server
    base = app.config.routes_pathname_prefix + DOWNLOAD_PREFIX

    @server.route(base + "playlist.csv", endpoint="amc_playlist_csv")
    def playlist_csv():
        return _serve(lambda: _playlist_csv(source))

    @server.route(base + "playlist.txt", endpoint="amc_playlist_uris")
    def playlist_uris():
        return _serve(lambda: _playlist_uris(source))

    @server.route(base + "dataset.csv", endpoint="amc_dataset_csv")
    def dataset_csv():
        return _serve(lambda: _dataset_csv(source))


def requested_run() -> tuple[str, int]:
    """The ``run`` and ``k`` arguments of the current request, checked."""
    run_id = request.args.get("run", "")
    if not run_id or len(run_id) > MAX_ID_CHARS or not run_id.isalnum():
        raise DownloadError(400, "the link names no valid run (?run=<run id>)")
    k_text = request.args.get("k", "")
    if not (k_text.isascii() and k_text.isdigit()) or len(k_text) > 3:
        raise DownloadError(400, f"the link's k={k_text!r} is not a whole number")
    return run_id, int(k_text)


def attachment(body, filename: str, mimetype: str) -> Response:
    """A download response; ``body`` is bytes, text or an iterator of chunks (streamed as it is produced)."""
    if not isinstance(body, str | bytes):
        body = stream_with_context(body)
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = _content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _serve(make_response) -> Response:
    try:
        return make_response()
    except DownloadError as error:
        return Response(f"{error}\n", status=error.status, mimetype="text/plain")
    except PlaylistError as error:
        return Response(f"{error}\n", status=400, mimetype="text/plain")


def _requested_playlist(source: PlaylistSource) -> tuple[StoredView, pd.DataFrame, str]:
    view = source.view(*requested_run())
    query = decode_query(request.args.get("q", ""))
    name = request.args.get("name", "")[:MAX_PLAYLIST_NAME]
    return view, view.playlist(query), name


def _playlist_csv(source: PlaylistSource) -> Response:
    view, playlist, name = _requested_playlist(source)
    frame = view.export_frame(playlist["row"])
    return attachment(csv_chunks(frame), safe_filename(name, "csv"), "text/csv")


def _playlist_uris(source: PlaylistSource) -> Response:
    view, playlist, name = _requested_playlist(source)
    song_ids = view.dataset.frame.iloc[playlist["row"].to_numpy()][["id_songs"]]
    return attachment(spotify_uris(song_ids), safe_filename(name, "txt"), "text/plain")


def _dataset_csv(source: PlaylistSource) -> Response:
    view = source.view(*requested_run())
    stem = view.run.dataset_name.rsplit(".", 1)[0]
    filename = safe_filename(f"{stem}-k{view.k}-clusters", "csv")
    return attachment(csv_chunks(view.export_frame()), filename, "text/csv")


def _content_disposition(filename: str) -> str:
    """``filename`` for every browser, plus RFC 6266 ``filename*`` for names outside ASCII."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    suffix = filename.rpartition(".")[2]
    fallback = safe_filename(ascii_name.rpartition(".")[0], suffix)
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value
