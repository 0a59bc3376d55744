"""The whole analysis on the real 651-song sample: every k profiled, spoken word found, reproducible."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from broken_sample import with_cells

from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.result import AUDIO_FEATURES, DataAction, ParameterError, RunCancelled, RunParams, run_id_for


@pytest.fixture(scope="module")
def dataset(sample_csv):
    return load_csv(sample_csv)


@pytest.fixture(scope="module")
def recorded(dataset):
    calls = []
    result = run_analysis(dataset, RunParams(k=3), progress=lambda *call: calls.append(call))
    return result, calls


def test_every_k_of_the_sweep_is_profiled(dataset, recorded):
    result, _ = recorded
    rows = len(dataset.frame)
    assert sorted(result.models) == list(range(2, 13))
    for k, model in result.models.items():
        assert model.labels.shape == (rows,) and set(np.unique(model.labels)) <= set(range(k))
        assert model.sizes.sum() == rows
        assert len(model.suggested_names) == k
        assert len({s.name for s in model.suggested_names}) == k
    assert result.pca.coords.shape == (rows, 2)
    assert result.chosen_k == 3 and result.model().k == 3
    assert result.transform.features == AUDIO_FEATURES
    assert set(result.timings) >= {"features", "sweep", "profiles", "pca", "total"}


def test_a_spoken_word_cluster_appears_at_k3_and_is_named_so(recorded):
    result, _ = recorded
    model = result.models[3]
    names = [s.name for s in model.suggested_names]
    assert "Spoken Word" in names
    spoken = names.index("Spoken Word")
    assert model.means_raw.loc[spoken, "speechiness"] > 0.5
    assert model.means_raw["speechiness"].idxmax() == spoken
    assert model.top_features[spoken][0][0] == "speechiness"
    assert "speechiness +" in model.suggested_names[spoken].reason
    # German radio plays ("kleine hoerspiel") are the sample's spoken word: all of them land there.
    purity = model.breakdown.genre_purity.set_index("genre").loc["kleine hoerspiel"]
    assert purity["top_cluster"] == spoken and purity["purity"] == 1.0


def test_progress_once_per_k_then_profiling(recorded):
    _, calls = recorded
    assert [done for done, _, _ in calls] == list(range(1, 13))
    assert {total for _, total, _ in calls} == {12}
    assert "profiled" in calls[-1][2]


def test_two_runs_give_identical_labels_and_run_ids(dataset, recorded):
    first, _ = recorded
    second = run_analysis(dataset, RunParams(k=3))
    assert first.run_id == second.run_id == run_id_for(dataset.fingerprint, RunParams(k=3))
    for k in first.models:
        assert np.array_equal(first.models[k].labels, second.models[k].labels), k
    assert np.array_equal(first.pca.coords, second.pca.coords)
    assert first.models[3].suggested_names == second.models[3].suggested_names


def test_other_parameters_make_another_run(dataset):
    params = RunParams(k_max=4, seed=7, log_features=("duration_ms", "followers"), clip_percentiles=(1.0, 99.0))
    result = run_analysis(dataset, params)
    assert result.run_id != run_id_for(dataset.fingerprint, RunParams(k_max=4))
    assert result.transform.log_features == ("duration_ms", "followers")
    assert set(result.transform.clip_bounds) == set(AUDIO_FEATURES)
    assert sorted(result.models) == [2, 3, 4]


def test_a_progress_callback_can_cancel_the_run(dataset):
    def cancel(done, total, message):
        raise RunCancelled("stop")

    with pytest.raises(RunCancelled):
        run_analysis(dataset, RunParams(k_max=4), progress=cancel)


def test_fewer_rows_than_k_max_plus_one_is_refused(sample_csv):
    lines = sample_csv.read_bytes().splitlines(keepends=True)
    small = load_csv(b"".join(lines[:9]), name="small.csv")
    with pytest.raises(ParameterError, match="small.csv: the data has 8 usable rows"):
        run_analysis(small, RunParams())


def test_a_constant_feature_is_dropped_from_every_part_of_the_run_without_a_warning(sample_csv):
    flat = load_csv(with_cells(sample_csv, "energy", "0.5"), name="flat-energy.csv")
    params = RunParams(k_max=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarnings included, in the sweep's threads too
        result = run_analysis(flat, params)

    used = tuple(f for f in AUDIO_FEATURES if f != "energy")
    assert result.params == params and result.run_id == run_id_for(flat.fingerprint, params)  # the run as asked
    assert result.transform.features == used and len(result.transform.scaler_mean) == len(used)
    assert list(result.pca.loadings.index) == list(used) and 0 < sum(result.pca.explained_variance_ratio) <= 1
    for model in result.models.values():
        assert list(model.zscores.columns) == list(used) and list(model.means_raw.columns) == list(used)
        assert model.centroids.shape == (model.k, len(used)) and (model.sizes > 0).all()
    assert result.data_report.actions[-1] == DataAction(
        "energy", "is the same value (0.5)", "dropped from the features: it cannot tell songs apart", 651, ())
    assert flat.report.actions == result.data_report.actions[:-1]  # the loader's own report is left as it was


def test_every_chosen_feature_constant_is_refused_naming_the_file(sample_csv):
    flat = load_csv(with_cells(sample_csv, "tempo", "120"), name="flat-tempo.csv")
    with pytest.raises(ParameterError, match=r"^flat-tempo.csv: every chosen feature has one value in every row \(tempo = 120\)"):
        run_analysis(flat, RunParams(features=("tempo",), k_max=4))
