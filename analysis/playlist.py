"""Playlists from a stored run: filter songs, drop repeats of the same song, order them, find similar ones.

Everything works from stored data only: the dataset's typed frame, the run's ``TransformRecord``
(to rebuild the model's scaled space) and one ``ClusterModel`` (labels and centroids). Nothing is refitted.
A query is plain values (``PlaylistQuery``) so the browser can carry it in a download link.
"""
from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import pandas as pd

from analysis.features import apply_transform
from analysis.limits import PLAYLIST_MAX_SONGS
from analysis.result import AUDIO_FEATURES, CATEGORICAL_NUMERIC, ClusterModel, TransformRecord

RANGE_COLUMNS: tuple[str, ...] = AUDIO_FEATURES + CATEGORICAL_NUMERIC
ORDER_CENTRE = "centre"  # closeness to the song's cluster centre in the model space
ORDER_POPULARITY = "popularity"
ORDER_SEED = "seed"  # closeness to the picked song ("more like this")
ORDERS: tuple[str, ...] = (ORDER_CENTRE, ORDER_POPULARITY, ORDER_SEED, *RANGE_COLUMNS)
# A query travels in a URL: a bound on its size keeps a hostile link from costing memory.
MAX_ENCODED_CHARS = 16_000
MAX_SELECTION_ID_CHARS = 64


class PlaylistError(ValueError):
    """A query that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class PlaylistQuery:
    """What a playlist keeps and how it is ordered. Empty selections and ``None`` ranges keep everything.

    Ranges are inclusive and in raw units (the values of the input file). ``like_row`` is a row
    position in ``Dataset.frame``: with it, ``order_by="seed"`` orders by closeness to that song.
    ``selection`` names songs chosen by hand (a lasso on the scatter), kept by whoever stores them: the
    caller hands their rows to ``build_playlist``, which then keeps only those.
    """

    clusters: tuple[int, ...] = ()
    genres: tuple[str, ...] = ()
    artists: tuple[str, ...] = ()
    years: tuple[float, float] | None = None
    feature_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    popularity: tuple[float, float] | None = None
    dedupe: bool = True
    limit: int | None = 100
    order_by: str = ORDER_CENTRE
    descending: bool = False
    like_row: int | None = None
    within_like_cluster: bool = False
    selection: str | None = None

    def validate(self) -> "PlaylistQuery":
        if self.order_by not in ORDERS:
            raise PlaylistError(f"cannot order by {self.order_by!r}; choose from {', '.join(ORDERS)}")
        if self.order_by == ORDER_SEED and self.like_row is None:
            raise PlaylistError("ordering by closeness to a song needs a picked song")
        unknown = [name for name in self.feature_ranges if name not in RANGE_COLUMNS]
        if unknown:
            raise PlaylistError(f"no range filter for {', '.join(unknown)}; choose from {', '.join(RANGE_COLUMNS)}")
        for label, bounds in (("years", self.years), ("popularity", self.popularity), *self.feature_ranges.items()):
            if bounds is not None and not bounds[0] <= bounds[1]:
                raise PlaylistError(f"{label} range runs backwards: {bounds[0]:g} > {bounds[1]:g}")
        if self.limit is not None and not 1 <= self.limit <= PLAYLIST_MAX_SONGS:
            raise PlaylistError(f"the size limit must lie between 1 and {PLAYLIST_MAX_SONGS:,}, got {self.limit}")
        return self

    def to_dict(self) -> dict:
        """Only the values that differ from the defaults, as JSON-ready lists."""
        default = PlaylistQuery()
        return {key: value for key, value in asdict(self).items() if value != getattr(default, key)}

    @classmethod
    def from_dict(cls, values: object) -> "PlaylistQuery":
        if not isinstance(values, dict):
            raise PlaylistError("a playlist query is a JSON object")
        known = {f.name for f in fields(cls)}
        stray = sorted(set(values) - known)
        if stray:
            raise PlaylistError(f"unknown playlist setting(s) {', '.join(map(str, stray))}")
        return cls(**{key: _PARSERS[key](value) for key, value in values.items()}).validate()


def _ints(value: object) -> tuple[int, ...]:
    return tuple(_int(v) for v in _list(value))


def _texts(value: object) -> tuple[str, ...]:
    items = _list(value)
    if not all(isinstance(v, str) for v in items):
        raise PlaylistError("genres and artists are lists of text")
    return tuple(items)


def _list(value: object) -> list:
    if not isinstance(value, list | tuple):
        raise PlaylistError(f"expected a list, got {type(value).__name__}")
    return list(value)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlaylistError(f"expected a whole number, got {value!r}")
    return value


def _optional_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise PlaylistError(f"expected true or false, got {value!r}")
    return value


def _range(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    items = _list(value)
    if len(items) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        raise PlaylistError(f"a range is two numbers, got {value!r}")
    if not all(np.isfinite(items)):
        raise PlaylistError(f"a range needs finite numbers, got {value!r}")
    return float(items[0]), float(items[1])


def _ranges(value: object) -> dict[str, tuple[float, float]]:
    if not isinstance(value, dict):
        raise PlaylistError("feature ranges are an object of feature -> [low, high]")
    return {str(name): _range(bounds) for name, bounds in value.items()}


def _selection_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SELECTION_ID_CHARS or not value.isalnum():
        raise PlaylistError(f"{str(value)[:40]!r} is not a selection id")
    return value


def _order(value: object) -> str:
    if not isinstance(value, str):
        raise PlaylistError(f"order_by is text, got {value!r}")
    return value


_PARSERS = {
    "clusters": _ints,
    "genres": _texts,
    "artists": _texts,
    "years": _range,
    "feature_ranges": _ranges,
    "popularity": _range,
    "dedupe": _bool,
    "limit": _optional_int,
    "order_by": _order,
    "descending": _bool,
    "like_row": _optional_int,
    "within_like_cluster": _bool,
    "selection": _selection_id,
}


def encode_query(query: PlaylistQuery) -> str:
    """A short URL-safe text for a download link."""
    payload = json.dumps(query.to_dict(), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")


def decode_query(text: str) -> PlaylistQuery:
    """The query back from ``encode_query``'s text; anything else raises ``PlaylistError``."""
    if len(text) > MAX_ENCODED_CHARS:
        raise PlaylistError(f"the playlist query is too long ({len(text):,} characters)")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        payload = inflater.decompress(packed, 4 * MAX_ENCODED_CHARS)
        if inflater.unconsumed_tail:
            raise PlaylistError("the playlist query is too long once unpacked")
        values = json.loads(payload)
    except (ValueError, zlib.error):
        raise PlaylistError("the playlist query in the link is damaged") from None
    return PlaylistQuery.from_dict(values)


def song_key(name: str, artist: str) -> str:
    """Equal for the same song under several ids: name and artist, trimmed, case-insensitive."""
    return f"{name.strip().casefold()}\x1f{artist.strip().casefold()}"


@dataclass(frozen=True, eq=False)
class SongTable:
    """One dataset seen in one run's model space, prepared once so each query is a few array operations."""

    frame: pd.DataFrame
    matrix: np.ndarray  # (n, d) float32, the run's scaled space
    song_codes: np.ndarray  # (n,) int64, equal for the same song (``song_key``)
    artist_codes: np.ndarray  # (n,) int64 into ``artists``
    artists: np.ndarray  # sorted distinct artist names (object)
    genre_rows: np.ndarray  # row position of each (song, genre) pair
    genre_codes: np.ndarray  # code into ``genres`` of each pair
    genres: np.ndarray  # sorted distinct genres (object)

    @classmethod
    def build(cls, frame: pd.DataFrame, transform: TransformRecord) -> "SongTable":
        keys = [song_key(n, a) for n, a in zip(frame["name_song"], frame["name_artists"])]
        song_codes, _ = pd.factorize(pd.Series(keys, dtype=object))
        artist_codes, artists = pd.factorize(frame["name_artists"].astype(object), sort=True)
        pairs = frame["genre_list"].reset_index(drop=True).explode().dropna()
        genre_codes, genres = pd.factorize(pairs.astype(object), sort=True)
        return cls(
            frame=frame,
            matrix=apply_transform(frame, transform),
            song_codes=song_codes.astype(np.int64),
            artist_codes=artist_codes.astype(np.int64),
            artists=np.asarray(artists, dtype=object),
            genre_rows=pairs.index.to_numpy(dtype=np.int64),
            genre_codes=genre_codes.astype(np.int64),
            genres=np.asarray(genres, dtype=object),
        )

    def __len__(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> np.ndarray:
        return self.frame[name].to_numpy(dtype=np.float64)


def build_playlist(songs: SongTable, model: ClusterModel, query: PlaylistQuery,
                   selected: np.ndarray | None = None) -> pd.DataFrame:
    """The songs the query keeps, in its order, at most ``query.limit`` of them.

    ``selected``: the rows of ``query.selection`` (positions in ``Dataset.frame``); only they can be kept.

    Returns columns ``row`` (position in ``Dataset.frame``), ``cluster``, ``centre_distance``
    (to the song's own cluster centre in the model space) and ``seed_distance`` (to the picked
    song; NaN without one). De-duplication keeps the most popular copy of each song among the matches.
    ``playlist.attrs["matching"]`` is how many songs matched before the size limit cut the list.
    """
    query.validate()
    if query.like_row is not None and not 0 <= query.like_row < len(songs):
        raise PlaylistError(f"the picked song (row {query.like_row}) is not in this dataset")
    mask = _filter_mask(songs, model.labels, query)
    if query.selection is not None:
        mask &= _selected_mask(len(songs), selected)
    rows = np.flatnonzero(mask)
    if query.dedupe:
        rows = _most_popular_copies(songs, rows)
    labels = model.labels[rows].astype(np.int64)
    playlist = pd.DataFrame(
        {
            "row": rows,
            "cluster": labels,
            "centre_distance": _distances(songs.matrix[rows], model.centroids[labels]),
            "seed_distance": _seed_distances(songs.matrix, rows, query.like_row),
        }
    )
    order = np.lexsort((rows, _order_values(songs, playlist, query)))
    kept = playlist.iloc[order[: query.limit]].reset_index(drop=True)
    kept.attrs["matching"] = len(rows)
    return kept


def _filter_mask(songs: SongTable, labels: np.ndarray, query: PlaylistQuery) -> np.ndarray:
    mask = np.ones(len(songs), dtype=bool)
    if query.clusters:
        mask &= np.isin(labels, query.clusters)
    if query.genres:
        wanted = np.isin(songs.genre_codes, _codes(songs.genres, query.genres))
        in_genre = np.zeros(len(songs), dtype=bool)
        in_genre[songs.genre_rows[wanted]] = True
        mask &= in_genre
    if query.artists:
        mask &= np.isin(songs.artist_codes, _codes(songs.artists, query.artists))
    ranges = dict(query.feature_ranges)
    if query.years is not None:
        ranges["release_year"] = query.years
    if query.popularity is not None:
        ranges["popularity_songs"] = query.popularity
    for name, (low, high) in ranges.items():
        values = songs.column(name)
        mask &= (values >= low) & (values <= high)
    if query.like_row is not None:
        mask &= _like_mask(songs, labels, query)
    return mask


def _selected_mask(n_songs: int, selected: np.ndarray | None) -> np.ndarray:
    if selected is None:
        raise PlaylistError("the playlist's selection of songs was not found")
    selected = np.asarray(selected, dtype=np.int64)
    if selected.size and not (0 <= selected.min() and selected.max() < n_songs):
        raise PlaylistError("the selection names songs this dataset does not have")
    mask = np.zeros(n_songs, dtype=bool)
    mask[selected] = True
    return mask


def _like_mask(songs: SongTable, labels: np.ndarray, query: PlaylistQuery) -> np.ndarray:
    """Everything but the picked song itself (and its other copies when de-duplicating)."""
    seed = query.like_row
    mask = np.ones(len(songs), dtype=bool)
    mask[seed] = False
    if query.dedupe:
        mask &= songs.song_codes != songs.song_codes[seed]
    if query.within_like_cluster:
        mask &= labels == labels[seed]
    return mask


def _codes(vocabulary: np.ndarray, wanted: tuple[str, ...]) -> np.ndarray:
    """Positions of the wanted values in a sorted vocabulary; values it lacks match nothing."""
    asked = np.asarray(wanted, dtype=object)
    found = np.searchsorted(vocabulary, asked)
    inside = found < len(vocabulary)
    found, asked = found[inside], asked[inside]
    return found[vocabulary[found] == asked]


def _most_popular_copies(songs: SongTable, rows: np.ndarray) -> np.ndarray:
    """Of each song's copies among ``rows``, the most popular (the first in the file on a tie)."""
    codes = songs.song_codes[rows]
    popularity = songs.column("popularity_songs")[rows]
    order = np.lexsort((rows, -popularity, codes))
    sorted_codes = codes[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_codes[1:] != sorted_codes[:-1]
    return np.sort(rows[order[first]])


def _distances(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Euclidean distance of each point to its target (one target row, or one per point)."""
    difference = points.astype(np.float64) - targets
    return np.sqrt(np.einsum("ij,ij->i", difference, difference))


def _seed_distances(matrix: np.ndarray, rows: np.ndarray, seed: int | None) -> np.ndarray:
    if seed is None:
        return np.full(len(rows), np.nan)
    return _distances(matrix[rows], matrix[seed].astype(np.float64))


def _order_values(songs: SongTable, playlist: pd.DataFrame, query: PlaylistQuery) -> np.ndarray:
    if query.order_by == ORDER_CENTRE:
        values = playlist["centre_distance"].to_numpy()
    elif query.order_by == ORDER_SEED:
        values = playlist["seed_distance"].to_numpy()
    else:
        column = "popularity_songs" if query.order_by == ORDER_POPULARITY else query.order_by
        values = songs.column(column)[playlist["row"].to_numpy()]
    return -values if query.descending else values


def nearest_songs(matrix: np.ndarray, row: int, n: int, within_labels: np.ndarray | None = None) -> pd.DataFrame:
    """The ``n`` rows closest to ``row`` in ``matrix`` (itself excluded), closest first.

    With ``within_labels`` (the model's labels), only rows of ``row``'s own cluster count.
    Ties are broken by row position, so the answer equals a full sort.
    Returns columns ``row`` and ``distance``.
    """
    if not 0 <= row < len(matrix):
        raise PlaylistError(f"row {row} is not in this dataset of {len(matrix)} rows")
    if within_labels is None:
        candidates = np.arange(len(matrix))
    else:
        candidates = np.flatnonzero(within_labels == within_labels[row])
    candidates = candidates[candidates != row]
    distances = _distances(matrix[candidates], matrix[row].astype(np.float64))
    if 0 < n < len(candidates):
        # argpartition may split a tie at the boundary: keep every row as close as the n-th, then sort.
        cutoff = np.partition(distances, n - 1)[n - 1]
        close = distances <= cutoff
        candidates, distances = candidates[close], distances[close]
    order = np.lexsort((candidates, distances))[: max(n, 0)]
    return pd.DataFrame({"row": candidates[order], "distance": distances[order]})
