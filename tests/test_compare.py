"""Two clusterings compared: the contingency table and ARI against brute force and scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from synthetic_run import pipeline_run  # noqa: F401 (a fixture)

from analysis.compare import LabelMismatch, adjusted_rand_index, compare, rows_in


def brute_table(a, b, k_a, k_b) -> list[list[int]]:
    table = [[0] * k_b for _ in range(k_a)]
    for x, y in zip(a, b):
        table[int(x)][int(y)] += 1
    return table


def check_against_brute_force(a, b, k_a, k_b) -> None:
    result = compare(a, b, k_a, k_b)
    assert result.table.tolist() == brute_table(a, b, k_a, k_b)
    assert result.ari == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    for cluster in range(k_a):
        size = sum(1 for x in a if x == cluster)
        expected = sorted(((y, n, n / size) for y, n in enumerate(brute_table(a, b, k_a, k_b)[cluster]) if n),
                          key=lambda item: -item[1])
        got = result.destinations(cluster)
        assert [(y, n) for y, n, _ in got] == [(y, n) for y, n, _ in expected]
        assert [share for *_, share in got] == pytest.approx([share for *_, share in expected])
        for y in range(k_b):
            rows = rows_in(a, b, cluster, y)
            assert rows.tolist() == [i for i, (p, q) in enumerate(zip(a, b)) if p == cluster and q == y]


@pytest.mark.parametrize("seed", range(5))
def test_random_labels_match_brute_force_and_sklearn(seed):
    generator = np.random.default_rng(seed)
    n, k_a, k_b = int(generator.integers(50, 400)), int(generator.integers(2, 7)), int(generator.integers(2, 9))
    a = generator.integers(0, k_a, n)
    # B follows A for most songs, so the ARI is far from 0 and its sign and size are checked too.
    b = np.where(generator.random(n) < 0.7, a % k_b, generator.integers(0, k_b, n))
    check_against_brute_force(a, b, k_a, k_b)


def test_two_k_of_a_real_run(pipeline_run):  # noqa: F811
    result, _dataset = pipeline_run
    a, b = result.models[3].labels, result.models[4].labels
    check_against_brute_force(a, b, 3, 4)
    comparison = compare(a, b, 3, 4)
    assert comparison.table.sum() == len(a)
    assert comparison.sizes_a.tolist() == result.models[3].sizes.tolist()
    assert comparison.sizes_b.tolist() == result.models[4].sizes.tolist()
    assert 0 < comparison.ari < 1


def test_identical_and_relabelled_clusterings_agree_fully():
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    assert compare(labels, labels).ari == 1.0
    assert compare(labels, (labels + 1) % 3).ari == pytest.approx(1.0)
    assert compare(np.zeros(5, int), np.zeros(5, int)).ari == 1.0


def test_an_empty_cluster_keeps_its_row_and_column():
    result = compare(np.array([0, 0, 2]), np.array([1, 1, 1]), k_a=4, k_b=3)
    assert result.table.tolist() == [[0, 2, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert result.shares[1].tolist() == [0, 0, 0]
    assert result.destinations(1) == []


def test_the_ari_of_a_table_alone_matches_sklearn():
    a = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    b = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    assert adjusted_rand_index(np.array(brute_table(a, b, 3, 3))) == pytest.approx(adjusted_rand_score(a, b))


@pytest.mark.parametrize(
    ("a", "b", "k_a", "message"),
    [
        (np.zeros(4, int), np.zeros(5, int), None, "A labels 4 songs and B 5"),
        (np.array([0.5, 1.0]), np.array([0, 1]), None, "one integer label per song"),
        (np.array([0, -1]), np.array([0, 1]), None, "negative label"),
        (np.array([0, 3]), np.array([0, 1]), 3, "label 3, beyond its k=3"),
    ],
)
def test_labels_that_cannot_be_compared_are_refused_in_one_line(a, b, k_a, message):
    with pytest.raises(LabelMismatch, match=message):
        compare(a, b, k_a)
    if len(a) != len(b):
        with pytest.raises(LabelMismatch, match="labels 4 songs"):
            rows_in(a, b, 0, 0)
