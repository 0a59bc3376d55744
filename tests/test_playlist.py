"""The playlist builder: filters, de-duplication, ordering and nearest neighbours, on small frames and the real sample."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from analysis.dataset import load_csv
from analysis.features import build_matrix
from analysis.playlist import (
    PlaylistError,
    PlaylistQuery,
    SongTable,
    build_playlist,
    decode_query,
    encode_query,
    nearest_songs,
    song_key,
)
from analysis.result import RunParams

TWO_FEATURES = RunParams(features=("danceability", "energy"))


def small_frame() -> pd.DataFrame:
    """Eight songs; 'Hello' by Adele appears three times under different ids and spellings."""
    rows = [
        # name, artist, genres, year, popularity, danceability, energy
        ("Hello", "Adele", ("pop",), 2015, 50, 0.10, 0.10),
        ("hello ", "ADELE", ("pop",), 2015, 80, 0.11, 0.10),
        ("Hello", " Adele", ("pop", "soul"), 2016, 60, 0.10, 0.12),
        ("Rain", "Adele", ("soul",), 2008, 30, 0.20, 0.15),
        ("Rock On", "Band", ("rock",), 1990, 70, 0.90, 0.90),
        ("Rock Off", "Band", ("rock", "metal"), 1995, 20, 0.85, 0.95),
        ("Quiet", "Solo", (), np.nan, 10, 0.50, 0.50),
        ("Loud", "Solo", ("metal",), 2001, 90, 0.80, 0.99),
    ]
    frame = pd.DataFrame(
        rows, columns=["name_song", "name_artists", "genre_list", "release_year", "popularity_songs", "danceability", "energy"]
    )
    frame["name_song"] = frame["name_song"].astype("string")
    frame["name_artists"] = frame["name_artists"].astype("string")
    frame["popularity_songs"] = frame["popularity_songs"].astype(float)
    frame.index = [0, 1, 2, 3, 5, 6, 7, 9]  # raw positions: two rows were dropped by the loader
    return frame


def fitted(frame: pd.DataFrame, params: RunParams, k: int):
    matrix, transform = build_matrix(frame, params)
    fit = KMeans(n_clusters=k, n_init=4, random_state=0).fit(matrix)
    model = SimpleNamespace(labels=fit.labels_.astype(np.int16), centroids=fit.cluster_centers_.astype(np.float64))
    return SongTable.build(frame, transform), model


@pytest.fixture(scope="module")
def small():
    return fitted(small_frame(), TWO_FEATURES, 2)


@pytest.fixture(scope="module")
def sample(sample_csv):
    frame = load_csv(sample_csv).frame
    return fitted(frame, RunParams(log_features=("duration_ms", "followers"), clip_percentiles=(1, 99)), 4)


def rows_of(songs, model, **query) -> list[int]:
    return build_playlist(songs, model, PlaylistQuery(**query))["row"].tolist()


def test_dedupe_keeps_the_most_popular_copy_of_a_song(small):
    songs, model = small
    assert rows_of(songs, model, dedupe=True, order_by="popularity", descending=True) == [7, 1, 4, 3, 5, 6]
    assert len(rows_of(songs, model, dedupe=False)) == 8


def test_dedupe_picks_the_most_popular_among_the_matches_only(small):
    songs, model = small
    # the copy with popularity 80 is filtered out, so the one with 60 stands for the song
    assert rows_of(songs, model, popularity=(50, 60)) == [2]


def test_each_filter_keeps_exactly_the_matching_rows(small):
    songs, model = small
    frame = songs.frame
    cluster_of_rock = int(model.labels[4])
    order = dict(dedupe=False, order_by="popularity")
    assert rows_of(songs, model, clusters=(cluster_of_rock,), **order) == sorted(
        np.flatnonzero(model.labels == cluster_of_rock), key=lambda r: frame["popularity_songs"].iloc[r]
    )
    assert rows_of(songs, model, genres=("soul", "metal"), **order) == [5, 3, 2, 7]
    assert rows_of(songs, model, genres=("no such genre",), **order) == []
    assert rows_of(songs, model, artists=("Band", "Nobody"), **order) == [5, 4]
    assert rows_of(songs, model, years=(2001, 2015), **order) == [3, 0, 1, 7]  # the unknown year is left out
    assert rows_of(songs, model, popularity=(60, 80), **order) == [2, 4, 1]
    assert rows_of(songs, model, feature_ranges={"energy": (0.9, 1.0), "danceability": (0.8, 0.85)}, **order) == [5, 7]


def test_filters_combine(small):
    songs, model = small
    assert rows_of(songs, model, genres=("pop",), years=(2015, 2015), dedupe=False, order_by="popularity") == [0, 1]


def test_ordering_by_feature_popularity_and_centre(small):
    songs, model = small
    assert rows_of(songs, model, dedupe=False, order_by="energy", limit=3) == [0, 1, 2]  # tie on 0.10: file order
    assert rows_of(songs, model, dedupe=False, order_by="danceability", descending=True, limit=2) == [4, 5]
    playlist = build_playlist(songs, model, PlaylistQuery(dedupe=False))
    assert playlist["centre_distance"].is_monotonic_increasing
    expected = np.linalg.norm(songs.matrix[playlist["row"]] - model.centroids[playlist["cluster"]], axis=1)
    np.testing.assert_allclose(playlist["centre_distance"], expected, rtol=1e-6)
    assert playlist["seed_distance"].isna().all()


def test_limit_cuts_after_ordering(small):
    songs, model = small
    assert rows_of(songs, model, dedupe=False, order_by="popularity", descending=True, limit=2) == [7, 1]


def test_more_like_this_leaves_out_the_song_and_its_copies(small):
    songs, model = small
    playlist = build_playlist(songs, model, PlaylistQuery(like_row=0, order_by="seed"))
    assert playlist["row"].tolist()[0] == 3  # 'Rain' is the nearest song that is not 'Hello'
    assert not {0, 1, 2} & set(playlist["row"])
    assert playlist["seed_distance"].is_monotonic_increasing
    with_copies = build_playlist(songs, model, PlaylistQuery(like_row=0, order_by="seed", dedupe=False))
    assert with_copies["row"].tolist()[:2] == [1, 2]


def test_more_like_this_within_the_cluster(small):
    songs, model = small
    rows = rows_of(songs, model, like_row=4, order_by="seed", within_like_cluster=True, dedupe=False)
    assert rows and set(model.labels[rows]) == {model.labels[4]}
    assert 4 not in rows


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (PlaylistQuery(order_by="seed"), "needs a picked song"),
        (PlaylistQuery(order_by="colour"), "cannot order by 'colour'"),
        (PlaylistQuery(feature_ranges={"id_songs": (0, 1)}), "no range filter for id_songs"),
        (PlaylistQuery(years=(2000, 1990)), "years range runs backwards"),
        (PlaylistQuery(limit=0), "size limit"),
        (PlaylistQuery(like_row=99), "row 99"),
    ],
)
def test_unusable_queries_are_refused_with_a_message(small, query, message):
    songs, model = small
    with pytest.raises(PlaylistError, match=message):
        build_playlist(songs, model, query)


def test_query_survives_the_download_link():
    query = PlaylistQuery(
        clusters=(0, 3),
        genres=("pop", "=HYPERLINK(\"x\")"),
        artists=("Ølaf ☂",),
        years=(1990.0, 2000.0),
        feature_ranges={"energy": (0.2, 0.8)},
        popularity=(10.0, 90.0),
        dedupe=False,
        limit=None,
        order_by="tempo",
        descending=True,
        like_row=12,
        within_like_cluster=True,
    )
    encoded = encode_query(query)
    assert encoded.isascii() and "/" not in encoded and "+" not in encoded
    assert decode_query(encoded) == query
    assert decode_query(encode_query(PlaylistQuery())) == PlaylistQuery()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not base64 at all!", "damaged"),
        ("eJyrVkrOzy0oSi0uzszPU7JSUMpIzcnJV6oFAF5gB64", "damaged"),  # cut short
        ("x" * 20_000, "too long"),
    ],
)
def test_damaged_links_are_refused(text, message):
    with pytest.raises(PlaylistError, match=message):
        decode_query(text)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1, 2], "JSON object"),
        ({"colour": "red"}, "unknown playlist setting"),
        ({"clusters": "0"}, "expected a list"),
        ({"clusters": [True]}, "whole number"),
        ({"years": [1990]}, "two numbers"),
        ({"genres": [1]}, "lists of text"),
        ({"dedupe": "yes"}, "true or false"),
        ({"feature_ranges": {"energy": [0, float("nan")]}}, "finite"),
    ],
)
def test_malformed_settings_are_refused(values, message):
    with pytest.raises(PlaylistError, match=message):
        PlaylistQuery.from_dict(values)


def test_the_song_table_holds_the_model_space(sample_csv):
    frame = load_csv(sample_csv).frame
    params = RunParams(log_features=("duration_ms", "followers"), clip_percentiles=(2, 98), clip_features=("tempo", "followers"))
    matrix, transform = build_matrix(frame, params)
    np.testing.assert_array_equal(SongTable.build(frame, transform).matrix, matrix)


def test_dedupe_on_the_real_sample_matches_a_groupby(sample):
    songs, model = sample
    frame = songs.frame.reset_index(drop=True)
    keys = [song_key(n, a) for n, a in zip(frame["name_song"], frame["name_artists"])]
    best = frame.assign(key=keys, row=range(len(frame))).sort_values(
        ["key", "popularity_songs", "row"], ascending=[True, False, True]
    )
    expected = sorted(best.drop_duplicates("key")["row"])
    got = sorted(rows_of(songs, model, limit=None))
    assert got == expected
    assert len(frame) - len(got) >= 10  # the sample holds real repeats of songs under other ids


def test_filters_on_the_real_sample_match_pandas(sample):
    songs, model = sample
    frame = songs.frame.reset_index(drop=True)
    genres = ["latin", "vintage chanson", "hoerspiel"]
    artists = list(frame["name_artists"].iloc[[0, 100, 300]])
    query = PlaylistQuery(
        clusters=(0, 1, 2),
        genres=tuple(genres),
        years=(1920, 2010),
        feature_ranges={"energy": (0.1, 0.9)},
        popularity=(0, 60),
        dedupe=False,
        limit=None,
    )
    expected = frame[
        np.isin(model.labels, [0, 1, 2])
        & frame["genre_list"].map(lambda g: bool(set(g) & set(genres)))
        & frame["release_year"].between(1920, 2010)
        & frame["energy"].between(0.1, 0.9)
        & frame["popularity_songs"].between(0, 60)
    ]
    assert sorted(build_playlist(songs, model, query)["row"]) == list(expected.index)
    assert len(expected) > 0
    by_artist = build_playlist(songs, model, PlaylistQuery(artists=tuple(artists), dedupe=False, limit=None))
    assert sorted(by_artist["row"]) == list(frame.index[frame["name_artists"].isin(artists)])


def brute_force_neighbours(matrix, row, n, labels=None):
    distances = np.sqrt(((matrix.astype(np.float64) - matrix[row].astype(np.float64)) ** 2).sum(axis=1))
    candidates = [r for r in range(len(matrix)) if r != row and (labels is None or labels[r] == labels[row])]
    return sorted(candidates, key=lambda r: (distances[r], r))[:n], distances


@pytest.mark.parametrize("row", [0, 7, 250, 650])
@pytest.mark.parametrize("within", [False, True])
def test_nearest_songs_equal_a_brute_force_sort(sample, row, within):
    songs, model = sample
    labels = model.labels if within else None
    expected, distances = brute_force_neighbours(songs.matrix, row, 15, labels)
    got = nearest_songs(songs.matrix, row, 15, within_labels=labels)
    assert got["row"].tolist() == expected
    np.testing.assert_allclose(got["distance"], distances[expected], rtol=1e-9)


def test_nearest_songs_break_ties_by_row():
    matrix = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [5, 5]], dtype=np.float32)
    assert nearest_songs(matrix, 0, 2)["row"].tolist() == [1, 2]
    assert nearest_songs(matrix, 0, 10)["row"].tolist() == [1, 2, 3, 4, 5]
    with pytest.raises(PlaylistError, match="row 6"):
        nearest_songs(matrix, 6, 2)


def test_more_like_this_in_the_builder_agrees_with_nearest_songs(sample):
    songs, model = sample
    playlist = build_playlist(songs, model, PlaylistQuery(like_row=42, order_by="seed", dedupe=False, limit=20))
    assert playlist["row"].tolist() == nearest_songs(songs.matrix, 42, 20)["row"].tolist()


def test_a_playlist_knows_how_many_songs_matched_before_the_limit(sample):
    songs, model = sample
    everything = build_playlist(songs, model, PlaylistQuery(limit=None))
    cut = build_playlist(songs, model, PlaylistQuery(limit=5))
    assert len(cut) == 5 and cut.attrs["matching"] == everything.attrs["matching"] == len(everything)
