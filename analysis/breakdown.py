"""Artists and genres per cluster, computed with integer codes so that every k of a sweep stays cheap.

The artist codes and the exploded genre list do not depend on k: ``ArtistGenreIndex.of(frame)``
builds them once per run and ``build_breakdown`` reuses them for each k.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd

from analysis.result import Breakdown

TOP_PER_CLUSTER = 10
SPANNING_LIMIT = 100
MIN_GENRE_SONGS = 5


@dataclass(frozen=True)
class ArtistGenreIndex:
    """Per-row artist codes and the (row, genre) pairs of a frame, independent of any clustering."""

    artist_codes: np.ndarray  # (n_rows,) int64 into artist_names
    artist_names: np.ndarray  # (n_artists,) display name of each artist, alphabetical
    genre_rows: np.ndarray  # (n_pairs,) row position of each (song, genre) pair
    genre_codes: np.ndarray  # (n_pairs,) int64 into genre_names
    genre_names: np.ndarray  # (n_genres,)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "ArtistGenreIndex":
        # Artists are told apart by id (two artists may share a name) and shown by name; codes
        # follow the names' alphabetical order so that ties rank alphabetically.
        id_codes, artist_ids = pd.factorize(frame["id_artists"], sort=True)
        first_row = np.full(len(artist_ids), len(frame), dtype=np.int64)
        np.minimum.at(first_row, id_codes, np.arange(len(frame)))
        names_by_id = frame["name_artists"].to_numpy(dtype=str)[first_row]
        alphabetical = np.argsort(names_by_id, kind="stable")
        code_of_id = np.empty_like(alphabetical)
        code_of_id[alphabetical] = np.arange(len(alphabetical))
        artist_codes = code_of_id[id_codes]
        artist_names = names_by_id[alphabetical]
        genre_lists = frame["genre_list"].tolist()
        genre_rows = np.repeat(np.arange(len(frame)), [len(genres) for genres in genre_lists])
        all_genres = np.array(list(chain.from_iterable(genre_lists)), dtype=object)
        genre_codes, genre_names = pd.factorize(all_genres, sort=True)
        return cls(
            artist_codes=artist_codes.astype(np.int64),
            artist_names=artist_names,
            genre_rows=genre_rows,
            genre_codes=genre_codes.astype(np.int64),
            genre_names=np.asarray(genre_names, dtype=object),
        )


def build_breakdown(frame: pd.DataFrame, labels: np.ndarray, index: ArtistGenreIndex | None = None) -> Breakdown:
    """Top artists and genres per cluster, artists spanning clusters, and how pure each genre is."""
    index = index or ArtistGenreIndex.of(frame)
    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels)
    artist_pairs = _pair_counts(labels, index.artist_codes, len(index.artist_names))
    genre_pairs = _pair_counts(labels[index.genre_rows], index.genre_codes, len(index.genre_names))
    return Breakdown(
        top_artists=_top_per_cluster(artist_pairs, sizes, index.artist_names, "artist"),
        top_genres=_top_per_cluster(genre_pairs, sizes, index.genre_names, "genre"),
        spanning_artists=_spanning_artists(artist_pairs, index),
        genre_purity=_genre_purity(genre_pairs, index),
    )


@dataclass(frozen=True)
class _PairCounts:
    """Songs per (cluster, item) pair that occurs, sorted by cluster then item."""

    cluster: np.ndarray
    item: np.ndarray
    songs: np.ndarray


def _pair_counts(labels: np.ndarray, codes: np.ndarray, n_items: int) -> _PairCounts:
    width = max(n_items, 1)
    keys = labels * width + codes
    if len(labels) and (labels.max() + 1) * width <= 4 * len(keys) + 1_000_000:
        counts = np.bincount(keys)  # a dense count beats sorting while the table stays small
        keys = np.flatnonzero(counts)
        songs = counts[keys]
    else:
        keys, songs = np.unique(keys, return_counts=True)
    return _PairCounts(cluster=keys // width, item=keys % width, songs=songs)


def _descending_order(group: np.ndarray, songs: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Order by group ascending, songs descending, tie ascending: one integer sort instead of a lexsort."""
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    most = int(songs.max()) + 1
    tie_width = int(tie.max()) + 1
    key = (group * most + (most - 1 - songs)) * tie_width + tie
    return np.argsort(key, kind="stable")


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal values in an already grouped array."""
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    run_lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, run_lengths)


def _top_per_cluster(pairs: _PairCounts, sizes: np.ndarray, names: np.ndarray, column: str) -> pd.DataFrame:
    # Most songs first; ties go to the alphabetically first name (codes are sorted names).
    order = _descending_order(pairs.cluster, pairs.songs, pairs.item)
    cluster, item, songs = pairs.cluster[order], pairs.item[order], pairs.songs[order]
    keep = _rank_within(cluster) < TOP_PER_CLUSTER
    return pd.DataFrame(
        {
            "cluster": cluster[keep].astype(np.int64),
            column: names[item[keep]].astype(str),
            "songs": songs[keep].astype(np.int64),
            "share": songs[keep] / sizes[cluster[keep]],
        }
    )


def _spanning_artists(pairs: _PairCounts, index: ArtistGenreIndex) -> pd.DataFrame:
    n_artists = len(index.artist_names)
    clusters_per_artist = np.bincount(pairs.item, minlength=n_artists)
    songs_per_artist = np.bincount(index.artist_codes, minlength=n_artists)
    spanning = np.flatnonzero(clusters_per_artist >= 2)
    order = np.lexsort((spanning, -songs_per_artist[spanning], -clusters_per_artist[spanning]))
    chosen = spanning[order][:SPANNING_LIMIT]
    return pd.DataFrame(
        {
            "artist": index.artist_names[chosen].astype(str),
            "clusters": clusters_per_artist[chosen].astype(np.int64),
            "songs": songs_per_artist[chosen].astype(np.int64),
            "counts": _counts_text(pairs, chosen),
        }
    )


def _counts_text(pairs: _PairCounts, artists: np.ndarray) -> list[str]:
    """"0:12 3:4" per artist: songs in each cluster the artist appears in, largest first."""
    wanted = np.isin(pairs.item, artists)
    item, cluster, songs = pairs.item[wanted], pairs.cluster[wanted], pairs.songs[wanted]
    order = _descending_order(item, songs, cluster)
    by_artist: dict[int, list[str]] = {}
    for artist, c, n in zip(item[order].tolist(), cluster[order].tolist(), songs[order].tolist()):
        by_artist.setdefault(artist, []).append(f"{c}:{n}")
    return [" ".join(by_artist[artist]) for artist in artists.tolist()]


def _genre_purity(pairs: _PairCounts, index: ArtistGenreIndex) -> pd.DataFrame:
    n_genres = len(index.genre_names)
    songs_per_genre = np.bincount(index.genre_codes, minlength=n_genres)
    # Per genre, the pair with the most songs (ties: the lower cluster) comes first.
    order = _descending_order(pairs.item, pairs.songs, pairs.cluster)
    item, cluster, songs = pairs.item[order], pairs.cluster[order], pairs.songs[order]
    first = _rank_within(item) == 0
    top_item, top_cluster, top_songs = item[first], cluster[first], songs[first]
    keep = songs_per_genre[top_item] >= MIN_GENRE_SONGS
    top_item, top_cluster, top_songs = top_item[keep], top_cluster[keep], top_songs[keep]
    totals = songs_per_genre[top_item]
    ranking = np.lexsort((top_item, -totals))
    return pd.DataFrame(
        {
            "genre": index.genre_names[top_item[ranking]].astype(str),
            "songs": totals[ranking].astype(np.int64),
            "top_cluster": top_cluster[ranking].astype(np.int64),
            "purity": top_songs[ranking] / totals[ranking],
        }
    )
