"""The Compare & history panel through a real app and store: the history, the default and linked choice,
the comparison's numbers and names."""
from __future__ import annotations

import dataclasses
import json

import dash
import numpy as np
import pytest
from dash import html
from dash_client import CallbackSkipped, dash_call
from panel_calls import dash_id
from synthetic_run import frame, run, store  # noqa: F401 (fixtures)

from analysis.compare import compare, rows_in
from analysis.result import RunParams
from dashboard.host import PANEL_LINK, SELECTION, PanelHost
from dashboard.panels import compare as panel

PART = panel.PANEL.part_id


@pytest.fixture
def second(run, store):  # noqa: F811
    """Another run of the same songs, stored after the first by bob, whose k=3 clusters are the first's k=2."""
    params = dataclasses.replace(run.params, seed=7)
    models = {**run.models, 3: dataclasses.replace(run.models[3], labels=run.models[2].labels)}
    other = dataclasses.replace(run, run_id="second-run", params=params, models=models)
    store.put_run(other, started_by="bob")
    return other


@pytest.fixture
def app(store):  # noqa: F811
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    app.layout = html.Div()
    panel.PANEL.register(PanelHost(app, store, "compare"))
    return app


def shown(run, k=3) -> dict:  # noqa: F811
    return {"dataset_id": run.dataset_id, "run_id": run.run_id, "k": k}


def setup(app, run, link=None, k=3):  # noqa: F811
    view = dash_id(PART("view"))
    return dash_call(app, f"{dash_id(PART('history'))}.children", f"{view}.data",
                     {f"{view}.data": shown(run, k), f"{PANEL_LINK}.data": {"compare": link or {}}})


def show(app, run, a, b, linked=None):  # noqa: F811
    values = {f"{dash_id(PART('view'))}.data": shown(run), f"{dash_id(PART('choice'))}.data": linked}
    for side, (run_id, k) in zip("ab", (a, b)):
        values[f"{dash_id(PART('run', side=side))}.value"] = run_id
        values[f"{dash_id(PART('k', side=side))}.value"] = str(k)
    return dash_call(app, f"{dash_id(PART('comparison'))}.children", f"{dash_id(PART('run', side='a'))}.value", values)


def value_of(tree, component_id: dict):
    """The ``value`` of the component with ``component_id`` in a layout as Dash answers it (JSON)."""
    if isinstance(tree, dict):
        props = tree.get("props", {})
        if props.get("id") == component_id:
            return props.get("value")
        children = [*tree.values()]
    else:
        children = tree if isinstance(tree, list) else []
    return next((found for child in children if (found := value_of(child, component_id)) is not None), None)


def selected(chooser) -> list:
    """The (run, k) each side of a drawn chooser starts with."""
    return [(value_of(chooser, PART("run", side=side)), int(value_of(chooser, PART("k", side=side))))
            for side in "ab"]


def test_the_parameters_are_told_only_where_they_differ_from_the_defaults():
    assert panel.params_summary(RunParams()) == "defaults"
    chosen = RunParams(features=("energy", "tempo", "followers", "danceability"), log_features=(), seed=7,
                       clip_percentiles=(1.0, 99.0), k_min=3, k_max=6)
    assert panel.params_summary(chosen) == ("only energy, tempo, followers, danceability · no log1p · "
                                            "clipped to percentiles 1–99 · k 3–6 · seed 7")
    assert panel.params_summary(RunParams(silhouette_sample=20_000)) == "silhouette sample 20000"


def test_the_history_lists_both_runs_newest_first_with_who_started_them(app, run, second):  # noqa: F811
    answer = setup(app, run)
    history = json.dumps(answer[dash_id(PART("history"))]["children"])
    assert history.index("second-run") < history.index(run.run_id)
    assert "bob" in history and "seed 7" in history and '"Shown"' in history
    # By default: the run on screen at its k against its next k.
    assert selected(answer[dash_id(PART("chooser"))]["children"]) == [(run.run_id, 3), (run.run_id, 4)]


def test_a_link_restores_its_comparison_and_a_link_to_nothing_here_falls_back(app, run, second):  # noqa: F811
    linked = {"a": second.run_id, "ak": "3", "b": run.run_id, "bk": "2"}
    chooser = setup(app, run, linked)[dash_id(PART("chooser"))]["children"]
    assert selected(chooser) == [(second.run_id, 3), (run.run_id, 2)]
    for bad in ({**linked, "a": "nope"}, {**linked, "ak": "99"}, {"a": second.run_id, "ak": "3"}):
        assert selected(setup(app, run, bad)[dash_id(PART("chooser"))]["children"])[0] == (run.run_id, 3)


def test_the_comparison_shows_the_ari_the_team_s_names_and_goes_into_the_link(app, store, run, second):  # noqa: F811
    store.rename(run.run_id, 3, 0, "Late-night <b>jazz</b>", 0)
    answer = show(app, run, (run.run_id, 3), (second.run_id, 3))

    expected = compare(run.models[3].labels, run.models[2].labels, 3, 3).ari
    shown_text = json.dumps(answer[dash_id(PART("comparison"))]["children"], ensure_ascii=False)
    assert f"ARI {expected:.3f}" in shown_text and "run 2, k=3" in shown_text
    assert "Late-night &lt;b&gt;jazz&lt;/b&gt;" in shown_text  # escaped in the figures' labels
    assert "Late-night <b>jazz</b>" in shown_text  # as typed in the table, which Dash writes as text
    assert answer[dash_id(PART("choice"))]["data"] == {"a": run.run_id, "ak": "3", "b": "second-run", "bk": "3"}


def test_the_default_comparison_keeps_the_link_short_and_a_k_the_run_lacks_is_corrected(app, run):  # noqa: F811
    answer = show(app, run, (run.run_id, 3), (run.run_id, 4))
    assert dash_id(PART("choice")) not in answer  # drawn first at its default: the link is left alone
    back = show(app, run, (run.run_id, 3), (run.run_id, 4), linked={"a": run.run_id, "ak": "2"})
    assert back[dash_id(PART("choice"))]["data"] == {}  # back to the default: out of the link
    assert "ARI 1.000" not in json.dumps(answer)

    corrected = show(app, run, (run.run_id, 3), (run.run_id, 9))
    assert corrected[dash_id(PART("k", side="b"))]["value"] == str(run.chosen_k)


def click(app, run, part: str, point: dict, pair: dict):  # noqa: F811
    graph = dash_id(PART(part))
    values = {f"{graph}.clickData": {"points": [point]}, f"{dash_id(PART('pair'))}.data": pair,
              f"{dash_id(PART('view'))}.data": shown(run)}
    return dash_call(app, f"{SELECTION}.data", f"{graph}.clickData", values)[SELECTION]["data"]


def test_a_clicked_cell_or_band_hands_its_songs_to_the_playlist_builder(app, store, run, second):  # noqa: F811
    pair = {"a": run.run_id, "ak": "3", "b": second.run_id, "bk": "3"}
    labels_a, labels_b = run.models[3].labels, second.models[3].labels
    names_a, names_b = store.get_names(run.run_id, 3).names, store.get_names(second.run_id, 3).names

    handed = click(app, run, "table", {"x": 1, "y": 0, "z": 50}, pair)

    expected = [i for i, (x, y) in enumerate(zip(labels_a, labels_b)) if x == 0 and y == 1]
    kept = store.get_selection(handed["selection_id"])
    assert kept.rows.tolist() == expected and handed["count"] == len(expected) and handed["show"] == "playlist"
    assert handed["label"] == f"{names_a[0]} → {names_b[1]} (k=3 → run 2, k=3)"
    # The Sankey's bands are the pairs that share songs, row by row: the second band is the second such pair.
    a, b = np.nonzero(compare(labels_a, labels_b, 3, 3).table)
    band = click(app, run, "flow", {"pointNumber": 1, "value": 5}, pair)
    assert store.get_selection(band["selection_id"]).rows.tolist() == rows_in(labels_a, labels_b, a[1], b[1]).tolist()


def test_a_click_on_a_sankey_node_makes_no_playlist(app, run, second):  # noqa: F811
    with pytest.raises(CallbackSkipped):
        click(app, run, "flow", {"pointNumber": 0, "depth": 0, "label": "x"},
              {"a": run.run_id, "ak": "3", "b": second.run_id, "bk": "3"})
