"""The results store over a real diskcache directory: datasets, runs, and the team's cluster names."""
from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import stat

import pytest
from synthetic_run import synthetic_dataset, synthetic_frame, synthetic_run

from analysis.dataset import load_csv
from dashboard.store import InvalidName, NameConflict, ResultsStore, UnknownRun


@pytest.fixture(scope="module")
def run():
    return synthetic_run(synthetic_frame(rows=120), ks=(2, 3))


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def store(store_dir, run):
    store = ResultsStore.open(store_dir)
    store.put_run(run)
    return store


def test_dataset_round_trip_and_listing(store_dir, sample_csv):
    store = ResultsStore.open(store_dir)
    dataset = load_csv(sample_csv)

    dataset_id = store.put_dataset(dataset)
    store.put_dataset(dataset)  # the same file again is the same entry

    assert dataset_id == dataset.fingerprint
    [info] = store.list_datasets()
    assert (info.dataset_id, info.name, info.rows) == (dataset_id, sample_csv.name, dataset.report.rows_kept)
    fresh = ResultsStore.open(store_dir).get_dataset(dataset_id)
    assert fresh.raw.equals(dataset.raw)
    assert store.get_dataset("no-such-dataset") is None


def test_run_is_memoised_and_survives_reopening(store, store_dir, run):
    assert store.get_run(run.run_id) is store.get_run(run.run_id)

    reopened = ResultsStore.open(store_dir)
    assert reopened.has_run(run.run_id)
    loaded = reopened.get_run(run.run_id)
    assert loaded is reopened.get_run(run.run_id)
    assert (loaded.models[3].labels == run.models[3].labels).all()
    assert reopened.get_run("missing") is None and not reopened.has_run("missing")


def test_a_run_that_cannot_be_pickled_leaves_nothing_behind(store_dir, run):
    store = ResultsStore.open(store_dir)
    broken = dataclasses.replace(run, run_id="broken", timings={"stage": lambda: None})

    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        store.put_run(broken)

    assert not ResultsStore.open(store_dir).has_run("broken")


def test_names_start_as_the_suggestions(store, run):
    sheet = store.get_names(run.run_id, 3)

    assert sheet.version == 0 and sheet.saved == {} and sheet.history == ()
    assert sheet.names == {c: s.name for c, s in enumerate(run.models[3].suggested_names)}


def test_rename_trims_versions_and_records_history(store, run):
    sheet = store.rename(run.run_id, 3, 1, "  Late-night   acoustic ", base_version=0)

    assert sheet.version == 1
    assert sheet.names[1] == sheet.saved[1] == "Late-night acoustic"
    [change] = sheet.history
    assert (change.version, change.cluster, change.new) == (1, 1, "Late-night acoustic")
    assert change.old == run.models[3].suggested_names[1].name
    assert store.get_names(run.run_id, 2).version == 0  # names belong to one k


@pytest.mark.parametrize(
    ("name", "problem"),
    [("   ", "empty"), ("x" * 61, "at most 60"), ("Taken", "already the name of cluster 0")],
)
def test_invalid_names_are_refused(store, run, name, problem):
    store.rename(run.run_id, 3, 0, "Taken", base_version=0)

    with pytest.raises(InvalidName, match=problem):
        store.rename(run.run_id, 3, 2, name, base_version=1)
    assert store.get_names(run.run_id, 3).version == 1


def test_duplicate_check_ignores_case_and_covers_suggested_names(store, run):
    suggestion = run.models[3].suggested_names[0].name

    with pytest.raises(InvalidName, match="cluster 0"):
        store.rename(run.run_id, 3, 1, suggestion.upper(), base_version=0)


def test_hostile_names_are_kept_as_plain_text(store, run):
    hostile = "<img src=x onerror=alert(1)>"
    assert store.rename(run.run_id, 3, 0, hostile, base_version=0).names[0] == hostile


def test_stale_save_conflicts_and_shows_the_other_name(store, run):
    store.rename(run.run_id, 3, 2, "Spoken word", base_version=0)

    with pytest.raises(NameConflict, match="'Spoken word'") as conflict:
        store.rename(run.run_id, 3, 2, "Podcasts", base_version=0)

    assert conflict.value.their_name == "Spoken word"
    assert conflict.value.current.version == 1
    assert store.get_names(run.run_id, 3).names[2] == "Spoken word"


def test_stale_save_of_another_cluster_is_accepted(store, run):
    store.rename(run.run_id, 3, 2, "Spoken word", base_version=0)
    sheet = store.rename(run.run_id, 3, 0, "Party", base_version=0)

    assert sheet.version == 2 and sheet.names[0] == "Party" and sheet.names[2] == "Spoken word"


def test_revert_restores_the_old_name_as_a_new_change(store, run):
    suggested = run.models[3].suggested_names[1].name
    store.rename(run.run_id, 3, 1, "Chill", base_version=0)
    store.rename(run.run_id, 3, 1, "Very chill", base_version=1)

    sheet = store.revert(run.run_id, 3, change_version=2, base_version=2)
    assert (sheet.version, sheet.names[1]) == (3, "Chill")
    sheet = store.revert(run.run_id, 3, change_version=1, base_version=3)
    assert sheet.names[1] == suggested and 1 not in sheet.saved
    assert [c.new for c in sheet.history] == ["Chill", "Very chill", "Chill", suggested]

    with pytest.raises(NameConflict):
        store.revert(run.run_id, 3, change_version=1, base_version=2)
    with pytest.raises(InvalidName, match="no name change with version 9"):
        store.revert(run.run_id, 3, change_version=9, base_version=4)


def test_names_of_an_unknown_run_or_k(store, run):
    with pytest.raises(UnknownRun):
        store.get_names("missing", 3)
    with pytest.raises(UnknownRun, match="k=7"):
        store.rename(run.run_id, 7, 0, "x", base_version=0)
    with pytest.raises(InvalidName, match="no cluster 5"):
        store.rename(run.run_id, 3, 5, "x", base_version=0)


def test_two_stores_over_one_directory_see_each_other(store, store_dir, run):
    other = ResultsStore.open(store_dir)

    store.rename(run.run_id, 3, 0, "Mine", base_version=0)
    assert other.get_names(run.run_id, 3).names[0] == "Mine"
    with pytest.raises(NameConflict, match="'Mine'"):
        other.rename(run.run_id, 3, 0, "Theirs", base_version=0)


def _save_from_another_process(store_dir, run_id, name, start, results):
    store = ResultsStore.open(store_dir)
    store.get_run(run_id)  # unpickled before the race starts
    start.wait()
    try:
        store.rename(run_id, 3, 0, name, base_version=0)
        results.put(("saved", name))
    except NameConflict as conflict:
        results.put(("conflict", conflict.their_name))


def test_two_processes_saving_at_once_cannot_both_win(store, store_dir, run):
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_save_from_another_process, args=(store_dir, run.run_id, name, start, results))
        for name in ("Alice's name", "Bob's name")
    ]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=20) for _ in workers)
    for worker in workers:
        worker.join(timeout=20)

    [(_, loser_saw), (_, winner)] = outcomes
    assert [kind for kind, _ in outcomes] == ["conflict", "saved"]
    assert loser_saw == winner
    sheet = ResultsStore.open(store_dir).get_names(run.run_id, 3)
    assert sheet.version == 1 and sheet.names[0] == winner


def _rename_repeatedly(store_dir, run_id, cluster, times, start):
    store = ResultsStore.open(store_dir)
    store.get_run(run_id)
    start.wait()
    for i in range(times):
        store.rename(run_id, 3, cluster, f"cluster {cluster} take {i}", store.get_names(run_id, 3).version)


def test_concurrent_saves_from_two_processes_lose_no_change(store, store_dir, run):
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_rename_repeatedly, args=(store_dir, run.run_id, cluster, 40, start))
        for cluster in (0, 1)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert [worker.exitcode for worker in workers] == [0, 0]
    sheet = ResultsStore.open(store_dir).get_names(run.run_id, 3)
    assert sheet.version == len(sheet.history) == 80
    assert [c.version for c in sheet.history] == list(range(1, 81))


def test_each_change_records_its_author_as_one_printable_line(store, run):
    sheet = store.rename(run.run_id, 3, 0, "Calm", 0, author="  alice\x00 \u202e smith ")
    sheet = store.revert(run.run_id, 3, 1, sheet.version, author="bob")

    assert [(c.new, c.author) for c in sheet.history] == [("Calm", "alice smith"), (sheet.names[0], "bob")]
    assert store.rename(run.run_id, 3, 1, "Loud", sheet.version).history[-1].author == ""


def test_a_save_on_a_version_the_names_never_had_is_refused(store, run):
    store.rename(run.run_id, 3, 0, "Calm", 0)
    with pytest.raises(InvalidName, match="at version 1; a save cannot build on version 7"):
        store.rename(run.run_id, 3, 1, "Loud", 7)


def test_the_history_is_bounded_and_a_save_older_than_it_is_a_conflict(store, run, monkeypatch):
    monkeypatch.setattr("dashboard.store.HISTORY_KEPT", 5)
    version = 0
    for turn in range(8):
        version = store.rename(run.run_id, 3, 0, f"Name {turn}", version).version

    sheet = store.get_names(run.run_id, 3)
    assert sheet.version == 8 and [c.version for c in sheet.history] == [4, 5, 6, 7, 8]
    # Whether cluster 1 changed after version 1 is no longer on record: refused rather than guessed.
    with pytest.raises(NameConflict):
        store.rename(run.run_id, 3, 1, "Loud", 1)
    assert store.rename(run.run_id, 3, 1, "Loud", 4).names[1] == "Loud"  # within the record: cluster 1 unchanged


def test_the_secret_key_is_made_once_and_readable_by_its_owner_only(store_dir):
    key = ResultsStore.open(store_dir).secret_key()

    assert len(key) == 64 and ResultsStore.open(store_dir).secret_key() == key
    assert stat.S_IMODE((store_dir / "secret_key").stat().st_mode) == 0o600


def test_a_removed_dataset_is_gone_for_every_process_and_its_runs_stay(store_dir, run):
    first, second = ResultsStore.open(store_dir), ResultsStore.open(store_dir)
    dataset_id = first.put_dataset(synthetic_dataset(synthetic_frame()), added_by="alice")
    first.put_run(run)
    assert second.get_dataset(dataset_id) is not None  # now in the second process's memo
    assert [(i.name, i.added_by) for i in first.list_datasets()] == [("synthetic.csv", "alice")]

    removed = first.remove_dataset(dataset_id)

    assert removed.added_by == "alice" and first.list_datasets() == []
    assert second.get_dataset(dataset_id) is None and second.get_run(run.run_id) is not None


def test_a_store_that_lost_its_data_serves_nothing_from_a_processs_memory(store, run):
    """A Redis restarted without its data: this process unpickled the run before, and must not answer with it."""
    assert store.get_run(run.run_id) is not None  # now in this process's memo
    store.backend.delete(f"run:{run.run_id}")
    assert store.get_run(run.run_id) is None and not store.has_run(run.run_id)


def test_the_run_history_lists_each_dataset_s_runs_newest_first_with_who_started_them(store_dir, run):
    store = ResultsStore.open(store_dir)
    other_params = dataclasses.replace(run.params, seed=7)
    rerun = dataclasses.replace(run, run_id="second-run", params=other_params)
    elsewhere = dataclasses.replace(run, run_id="other-data-run", dataset_id="other-data")

    store.put_run(run, started_by="alice")
    store.put_run(rerun, started_by="bob\u202e\n")
    store.put_run(elsewhere)
    store.put_run(run, started_by="mallory")  # stored already: its first entry stays

    listed = ResultsStore.open(store_dir).list_runs(run.dataset_id)
    assert [(i.run_id, i.started_by) for i in listed] == [("second-run", "bob"), (run.run_id, "alice")]
    newest = listed[0]
    assert newest.params.seed == 7 and newest.dataset_id == run.dataset_id
    assert (newest.recommended_k, newest.chosen_k) == (run.sweep.recommended_k, run.chosen_k)
    assert listed[0].stored_at >= listed[1].stored_at
    assert [i.run_id for i in store.list_runs("other-data")] == ["other-data-run"]
    assert store.list_runs("no-such-dataset") == []


def _store_runs(store_dir, run, first, count, start):
    store = ResultsStore.open(store_dir)
    start.wait()
    for number in range(first, first + count):
        store.put_run(dataclasses.replace(run, run_id=f"run-{number}"), started_by=f"user {number}")


def test_runs_stored_by_several_processes_at_once_are_all_listed(store_dir, run):
    context = multiprocessing.get_context("fork")
    start = context.Barrier(3)
    workers = [context.Process(target=_store_runs, args=(store_dir, run, first, 15, start)) for first in (0, 15, 30)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    listed = ResultsStore.open(store_dir).list_runs(run.dataset_id)
    assert sorted(i.run_id for i in listed) == sorted(f"run-{n}" for n in range(45))
    assert all(i.started_by == f"user {i.run_id[4:]}" for i in listed)
