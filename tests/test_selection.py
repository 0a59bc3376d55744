"""Songs inside a lasso or a box on the PCA scatter (analysis.selection), kept by the store and used as a
playlist's source (analysis.playlist)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.playlist import PlaylistError, PlaylistQuery, decode_query, encode_query
from analysis.selection import MAX_LASSO_VERTICES, SelectionError, Shape, songs_in_shape
from dashboard.store import ResultsStore


def brute_force_inside(x: float, y: float, xs, ys) -> bool:
    """The even-odd rule, one point and one edge at a time."""
    inside = False
    j = len(xs) - 1
    for i in range(len(xs)):
        if (ys[i] > y) != (ys[j] > y) and x < xs[i] + (y - ys[i]) * (xs[j] - xs[i]) / (ys[j] - ys[i]):
            inside = not inside
        j = i
    return inside


@pytest.fixture
def songs():
    rng = np.random.default_rng(3)
    return rng.normal(size=(3_000, 3)), rng.integers(0, 5, 3_000)


def star(points: int = 9, wobble: float = 0.6) -> Shape:
    angles = np.linspace(0, 2 * np.pi, 2 * points, endpoint=False)
    radius = np.where(np.arange(2 * points) % 2 == 0, 1.6, 1.6 * wobble)
    return Shape.from_plotly({"lassoPoints": {"x": list(radius * np.cos(angles)), "y": list(radius * np.sin(angles))}})


def test_a_lasso_keeps_exactly_the_songs_inside_it_by_the_even_odd_rule(songs):
    coords, labels = songs
    shape = star()
    rows = songs_in_shape(coords, labels, None, shape)
    plane = coords[:, :2].astype(np.float32).astype(np.float64)
    expected = [i for i, (x, y) in enumerate(plane) if brute_force_inside(x, y, shape.xs, shape.ys)]
    assert rows.tolist() == expected
    assert 0 < len(rows) < len(coords)


def test_a_self_crossing_lasso_leaves_out_what_it_wraps_twice():
    # A figure of eight drawn twice around its centre: the even-odd rule leaves the doubly wrapped middle out.
    figure = Shape.from_plotly({"lassoPoints": {"x": [-2, 2, 2, -1, -1, 1, 1, -2], "y": [-2, -2, 1, 1, -1, -1, 2, 2]}})
    coords = np.array([[0.0, 0.0], [1.5, -1.5], [0.0, 1.5], [3.0, 0.0]])
    assert songs_in_shape(coords, np.zeros(4, int), None, figure).tolist() == [
        i for i, (x, y) in enumerate(coords) if brute_force_inside(x, y, figure.xs, figure.ys)]


def test_a_box_keeps_the_songs_within_its_ranges_and_the_clusters_shown(songs):
    coords, labels = songs
    box = Shape.from_plotly({"range": {"x": [0.5, -0.5], "y": [-1, 0.25]}})
    rows = songs_in_shape(coords, labels, (1, 3), box)
    x, y = coords[:, 0].astype(np.float32), coords[:, 1].astype(np.float32)
    expected = np.flatnonzero((x >= -0.5) & (x <= 0.5) & (y >= -1) & (y <= 0.25) & np.isin(labels, (1, 3)))
    assert rows.tolist() == expected.tolist()
    assert songs_in_shape(coords, labels, (), box).size == 0  # every cluster hidden: nothing selected


@pytest.mark.parametrize("selected, message", [
    (None, "lasso or a box"),
    ({"points": []}, "lasso or a box"),
    ({"lassoPoints": {"x": [0, 1], "y": [0, 1]}}, "at least three"),
    ({"lassoPoints": {"x": [0, 1, "a"], "y": [0, 1, 2]}}, "numbers"),
    ({"lassoPoints": {"x": [0, 1, float("nan")], "y": [0, 1, 2]}}, "finite"),
    ({"lassoPoints": {"x": [0, 1, 2], "y": [0, 1]}}, "same length"),
    ({"lassoPoints": {"x": list(range(MAX_LASSO_VERTICES + 1)), "y": [0] * (MAX_LASSO_VERTICES + 1)}}, "accepted"),
    ({"range": {"x": [0], "y": [1]}}, "two x"),
])
def test_a_shape_that_cannot_be_used_is_refused_in_one_line(selected, message):
    with pytest.raises(SelectionError, match=message):
        Shape.from_plotly(selected)


def test_the_store_keeps_a_selection_under_an_id_its_songs_decide(tmp_path):
    store = ResultsStore.open(tmp_path)
    first = store.put_selection("dataset-a", [5, 1, 5, 3], "lasso on the PCA scatter at k=4")
    assert first.rows.tolist() == [1, 3, 5]
    again = store.put_selection("dataset-a", [3, 1, 5], "box on the PCA scatter at k=4")
    assert again.selection_id == first.selection_id
    assert store.put_selection("dataset-b", [1, 3, 5], "x").selection_id != first.selection_id
    kept = store.get_selection(first.selection_id)
    assert (kept.dataset_id, kept.rows.tolist(), kept.label) == ("dataset-a", [1, 3, 5], "box on the PCA scatter at k=4")
    assert store.get_selection("0" * len(first.selection_id)) is None
    assert store.get_selection("../../etc/passwd") is None


def test_a_playlist_query_carries_its_selection_through_a_link():
    query = PlaylistQuery(selection="a76a039a6b83320102f9", limit=50)
    assert decode_query(encode_query(query)) == query
    with pytest.raises(PlaylistError, match="not a selection id"):
        PlaylistQuery.from_dict({"selection": "../x"})
