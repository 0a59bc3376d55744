"""Suggested cluster names: rules over z-scores, unique within a run, each with its reason."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.dataset import load_csv
from analysis.naming import suggest_names
from analysis.pipeline import run_analysis
from analysis.result import AUDIO_FEATURES, RunParams


def profiles(*clusters: dict[str, float], features=AUDIO_FEATURES) -> pd.DataFrame:
    """A clusters x features z-score table: 0 everywhere except the given values."""
    table = pd.DataFrame(0.0, index=range(len(clusters)), columns=list(features))
    for row, values in enumerate(clusters):
        for feature, z in values.items():
            table.loc[row, feature] = z
    return table


def names_of(zscores: pd.DataFrame) -> list[str]:
    return [suggestion.name for suggestion in suggest_names(zscores)]


def test_party_tracks_with_its_reason():
    suggestion, = suggest_names(profiles({"danceability": 1.2, "energy": 0.9, "valence": 0.8, "tempo": 0.1}))
    assert suggestion.name == "Party Tracks"
    assert suggestion.reason == "danceability +1.2σ, energy +0.9σ, valence +0.8σ"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"speechiness": 2.5, "liveness": 0.8}, "Spoken Word"),
        ({"acousticness": 1.1, "energy": -1.0}, "Chill Acoustic"),
        ({"instrumentalness": 2.0}, "Instrumental"),
        ({"liveness": 1.6}, "Live Recordings"),
        ({"valence": -1.0, "energy": -0.7, "acousticness": 0.2}, "Melancholy"),
        ({"loudness": 1.0, "energy": 0.8, "valence": -0.3}, "Loud & Intense"),
        ({"duration_ms": 3.0}, "Long Tracks"),
        ({"popularity_songs": 1.5}, "Popular Hits"),
        ({"popularity_artists": -1.2}, "Niche Artists"),
    ],
)
def test_each_recognisable_profile_gets_its_name(profile, expected):
    assert names_of(profiles(profile)) == [expected]


def test_a_clash_goes_to_the_best_score_and_the_other_cluster_is_described():
    zscores = profiles({"speechiness": 1.5, "tempo": -0.8}, {"speechiness": 3.0, "liveness": 0.9})
    first, second = suggest_names(zscores)
    assert second.name == "Spoken Word"
    assert first.name == "Wordy & Slow"
    assert first.reason == "speechiness +1.5σ, tempo -0.8σ"


def test_a_cluster_that_fits_two_rules_takes_the_free_one():
    zscores = profiles({"speechiness": 1.4, "liveness": 1.3}, {"speechiness": 2.8})
    assert names_of(zscores) == ["Live Recordings", "Spoken Word"]


def test_clusters_near_the_mean_are_numbered():
    zscores = profiles({"tempo": 0.1}, {"energy": -0.2}, {})
    assert names_of(zscores) == ["Middle of the Road", "Middle of the Road II", "Middle of the Road III"]


def test_rules_need_their_features_among_the_chosen_ones():
    zscores = profiles({"energy": -1.0, "tempo": 0.2}, features=("energy", "tempo"))
    assert names_of(zscores) == ["Calm"]  # tempo +0.2σ is too weak a trait to be named


def test_many_clusters_always_get_unique_names_deterministically():
    rng = np.random.default_rng(11)
    zscores = pd.DataFrame(rng.normal(0, 1.2, (50, len(AUDIO_FEATURES))), columns=list(AUDIO_FEATURES))
    names = names_of(zscores)
    assert len({name.casefold() for name in names}) == 50
    assert all(0 < len(name) <= 60 for name in names)  # the limit every cluster name obeys
    assert suggest_names(zscores) == suggest_names(zscores.copy())


@pytest.fixture(scope="module")
def sample_run(sample_csv):
    return run_analysis(load_csv(sample_csv), RunParams())


def test_the_real_samples_names_lead_with_one_of_each_clusters_two_strongest_traits(sample_run, capsys):
    """At every k from 2 to 12: the table of names and leading traits (shown with -s), and both rules."""
    rows = []
    for k in range(2, 13):
        model = sample_run.models[k]
        z = model.zscores
        for cluster, suggestion in enumerate(model.suggested_names):
            strongest = z.loc[cluster].abs().sort_values(ascending=False, kind="stable").index[:2].tolist()
            lead = suggestion.traits[0] if suggestion.traits else None
            rows.append((k, cluster, suggestion.name, lead, strongest))
            if lead is None:
                assert suggestion.name.startswith("Middle of the Road"), suggestion
                assert z.loc[cluster].abs().max() < 0.8, (k, cluster, suggestion)
                continue
            feature, sign = lead
            assert feature in strongest, (k, cluster, suggestion, strongest)
            assert sign * z.loc[cluster, feature] >= 0.8, (k, cluster, suggestion, z.loc[cluster, feature])
        suggestions = model.suggested_names
        for first in range(k):
            for second in range(first + 1, k):
                a, b = suggestions[first], suggestions[second]
                if a.traits and b.traits and a.traits[0] == b.traits[0]:
                    # One lead, two clusters: the names must say how they differ, by a further trait.
                    assert a.traits != b.traits and max(len(a.traits), len(b.traits)) > 1, (k, a, b)
    with capsys.disabled():
        print("\n k  cluster  name                              leading trait           two strongest")
        for k, cluster, name, lead, strongest in rows:
            shown = f"{lead[0]} {'+' if lead[1] > 0 else '-'}" if lead else "-"
            print(f"{k:>2}  {cluster:>7}  {name:<32}  {shown:<22}  {', '.join(strongest)}")


@pytest.mark.parametrize(("profile", "expected"), [
    ({"duration_ms": -2.0}, "Short Tracks"),
    ({"popularity_songs": -1.4}, "Deep Cuts"),
    ({"danceability": 1.3, "energy": 1.0, "valence": 0.9}, "Party Tracks"),
    ({"acousticness": 1.5, "energy": -1.2}, "Chill Acoustic"),
])
def test_the_vocabulary_covers_what_real_clusters_show(profile, expected):
    assert names_of(profiles(profile)) == [expected]


def test_a_weak_trait_never_leads_a_name():
    # energy is the cluster's fourth strongest trait: no "High Energy" however well the rule's numbers fit.
    zscores = profiles({"instrumentalness": 2.0, "acousticness": -1.5, "speechiness": 1.2, "energy": 0.9})
    (suggestion,) = suggest_names(zscores)
    assert suggestion.traits[0][0] in ("instrumentalness", "acousticness")


def test_one_feature_runs_still_get_unique_names():
    zscores = profiles({"energy": 1.5}, {"energy": 1.2}, {"energy": -1.4}, features=("energy",))
    assert names_of(zscores) == ["Energetic", "Energetic II", "Calm"]
