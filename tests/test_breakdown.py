"""Artists and genres per cluster, checked against hand-counted answers."""
from __future__ import annotations


import numpy as np
import pandas as pd

from analysis.breakdown import TOP_PER_CLUSTER, build_breakdown


def songs(rows: list[tuple[str, str, tuple[str, ...], int]]) -> tuple[pd.DataFrame, np.ndarray]:
    """(artist id, artist name, genres, cluster) per song -> (frame, labels)."""
    frame = pd.DataFrame(
        {
            "id_artists": [row[0] for row in rows],
            "name_artists": [row[1] for row in rows],
            "genre_list": [row[2] for row in rows],
        }
    )
    return frame, np.array([row[3] for row in rows], dtype=np.int16)


def small_catalogue() -> tuple[pd.DataFrame, np.ndarray]:
    rows = [
        ("a", "Abba", ("pop",), 0),
        ("a", "Abba", ("pop",), 0),
        ("a", "Abba", ("pop", "disco"), 0),
        ("b", "Björk", ("art pop",), 0),
        ("b", "Björk", ("art pop",), 1),
        ("b", "Björk", ("art pop",), 1),
        ("c", "Cher", (), 1),
        ("d", "Cher", ("pop",), 1),
        ("e", "Enya", ("new age",), 2),
        ("e", "Enya", ("new age",), 2),
        ("e", "Enya", ("new age",), 2),
        ("e", "Enya", ("new age",), 2),
        ("e", "Enya", ("new age",), 2),
        ("e", "Enya", ("new age",), 1),
    ]
    return songs(rows)


def test_top_artists_per_cluster_with_shares():
    frame, labels = small_catalogue()
    top = build_breakdown(frame, labels).top_artists

    assert list(top.columns) == ["cluster", "artist", "songs", "share"]
    cluster_0 = top[top["cluster"] == 0]
    assert list(cluster_0["artist"]) == ["Abba", "Björk"]
    assert list(cluster_0["songs"]) == [3, 1]
    assert np.allclose(cluster_0["share"], [3 / 4, 1 / 4])
    # Two artists called Cher are two artists: ties are listed alphabetically, each with one song.
    cluster_1 = top[top["cluster"] == 1]
    assert list(cluster_1["artist"]) == ["Björk", "Cher", "Cher", "Enya"]
    assert list(cluster_1["songs"]) == [2, 1, 1, 1]


def test_top_genres_count_each_song_once_per_genre():
    frame, labels = small_catalogue()
    top = build_breakdown(frame, labels).top_genres

    cluster_0 = top[top["cluster"] == 0]
    assert list(zip(cluster_0["genre"], cluster_0["songs"])) == [("pop", 3), ("art pop", 1), ("disco", 1)]
    assert np.allclose(cluster_0["share"], [3 / 4, 1 / 4, 1 / 4])
    assert list(top[top["cluster"] == 2]["genre"]) == ["new age"]


def test_spanning_artists_with_their_cluster_counts():
    frame, labels = small_catalogue()
    spanning = build_breakdown(frame, labels).spanning_artists

    assert list(spanning.columns) == ["artist", "clusters", "songs", "counts"]
    assert spanning.to_dict("records") == [
        {"artist": "Enya", "clusters": 2, "songs": 6, "counts": "2:5 1:1"},
        {"artist": "Björk", "clusters": 2, "songs": 3, "counts": "1:2 0:1"},
    ]


def test_genre_purity_lists_genres_with_at_least_five_songs():
    frame, labels = small_catalogue()
    purity = build_breakdown(frame, labels).genre_purity

    assert purity.to_dict("records") == [{"genre": "new age", "songs": 6, "top_cluster": 2, "purity": 5 / 6}]


def test_at_most_ten_per_cluster_and_empty_clusters_are_absent():
    rows = [(f"id{i}", f"Artist {i:02d}", (f"genre {i:02d}",), 0) for i in range(25)]
    frame, labels = songs(rows)
    breakdown = build_breakdown(frame, np.where(labels == 0, 2, labels))

    assert len(breakdown.top_artists) == TOP_PER_CLUSTER
    assert set(breakdown.top_artists["cluster"]) == {2}
    assert list(breakdown.top_artists["artist"]) == [f"Artist {i:02d}" for i in range(TOP_PER_CLUSTER)]
    assert breakdown.spanning_artists.empty and breakdown.genre_purity.empty


def test_a_whole_catalogue_without_genres():
    frame, labels = songs([("a", "Abba", (), 0), ("b", "Bee Gees", (), 1)])
    breakdown = build_breakdown(frame, labels)
    assert breakdown.top_genres.empty
    assert len(breakdown.top_artists) == 2
