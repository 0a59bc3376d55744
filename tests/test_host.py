"""The panel host without a browser: the one view resolution and its failure rules, routes and their links
under a URL prefix, and the partial updates a rename sends."""
from __future__ import annotations

import dataclasses

import dash
import pytest
from dash import html
from synthetic_run import frame, run, store, synthetic_dataset  # noqa: F401 (fixtures)

from dashboard.host import PanelHost, ViewUnavailable, names_for, resolve_view
from dashboard.panels.common import renamed_axis
from dashboard.store import ResultsStore


def test_a_state_resolves_to_the_run_at_its_k_with_the_teams_names(store, run):
    store.rename(run.run_id, 4, 1, "Loud", base_version=0)

    view = resolve_view(store, {"run_id": run.run_id, "k": 4}, songs=True)

    assert (view.run_id, view.k, view.names_version) == (run.run_id, 4, 1)
    assert view.names[1] == "Loud" and [c.new for c in view.history] == ["Loud"]
    assert view.model is run.models[4] and len(view.frame) == len(view.dataset.frame)


def test_a_state_without_k_shows_the_runs_chosen_k(store, run):
    assert resolve_view(store, {"run_id": run.run_id}).k == run.chosen_k


@pytest.mark.parametrize(("state", "message"), [
    (None, "no run yet"),
    ({"run_id": ""}, "no run yet"),
    ({"run_id": "nosuchrun", "k": 3}, "no stored run has the id 'nosuchrun'"),
    ({"run_id": "<run>", "k": 9}, "has no k=9; its sweep covers k=2–4"),
    ({"run_id": "<run>", "k": "three"}, "k='three' is not a whole number"),
])
def test_each_failure_is_one_clear_line(store, run, state, message):
    if state and state.get("run_id") == "<run>":
        state = {**state, "run_id": run.run_id}
    with pytest.raises(ViewUnavailable, match=message):
        resolve_view(store, state)


def test_a_run_whose_songs_are_gone_is_unavailable_only_to_who_needs_the_songs(tmp_path, run):
    store = ResultsStore.open(tmp_path / "store")
    store.put_run(dataclasses.replace(run, run_id="orphan", dataset_id="gone"))

    assert resolve_view(store, {"run_id": "orphan", "k": 3}).dataset is None
    with pytest.raises(ViewUnavailable, match="the songs of .* are no longer stored"):
        resolve_view(store, {"run_id": "orphan", "k": 3}, songs=True)


@pytest.fixture
def prefixed(store):
    """An app served under /team/ (as behind a proxy), with one route of a panel's."""
    app = dash.Dash(__name__, routes_pathname_prefix="/team/", requests_pathname_prefix="/team/")
    app.layout = html.Div()
    host = PanelHost(app, store, "probe", needs_songs=True)

    def answer():
        view = host.requested_view()
        return f"{view.run_id} at k={view.k}, {len(view.frame)} songs"

    host.route("songs.txt", answer)
    return host


def test_routes_and_their_links_carry_the_url_prefix(prefixed, run):
    link = prefixed.href("songs.txt", run=run.run_id, k=3)

    assert link == f"/team/_amc/probe/songs.txt?run={run.run_id}&k=3"

    answer = prefixed.app.server.test_client().get(link)
    assert answer.status_code == 200 and answer.get_data(as_text=True).startswith(f"{run.run_id} at k=3,")
    assert prefixed.app.server.test_client().get(f"/_amc/probe/songs.txt?run={run.run_id}&k=3").status_code == 404


@pytest.mark.parametrize(("query", "status", "message"), [
    ("run=nosuchrun&k=3", 404, "no stored run has the id 'nosuchrun'"),
    ("run=<run>&k=7", 404, "has no k=7"),
    ("run=../x&k=3", 400, "names no valid run"),
    ("run=<run>&k=-1", 400, "is not a whole number"),
])
def test_a_bad_route_link_gets_one_line_with_its_status(prefixed, run, query, status, message):
    answer = prefixed.app.server.test_client().get("/team/_amc/probe/songs.txt?" + query.replace("<run>", run.run_id))
    text = answer.get_data(as_text=True)
    assert answer.status_code == status and message in text and text.count("\n") == 1


def test_a_callback_that_meets_an_unknown_run_shows_the_reason_in_the_panel(store):
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    host = PanelHost(app, store, "probe")

    @host.callback(dash.Output("out", "children"), dash.Input("in", "value"))
    def show(value):
        return host.view({"run_id": value, "k": 3}).run_id

    app.layout = html.Div()
    client = app.server.test_client()
    client.get("/")
    body = {"output": "out.children", "outputs": {"id": "out", "property": "children"},
            "inputs": [{"id": "in", "property": "value", "value": "missing"}], "changedPropIds": ["in.value"]}
    answer = client.post("/_dash-update-component", json=body).get_json()

    assert "response" not in answer or "out" not in answer.get("response", {})
    [(status, props)] = answer["sideUpdate"].items()
    assert '"host":"status"' in status and "no stored run has the id 'missing'" in str(props)


def test_names_reach_a_panel_only_for_the_run_and_k_it_shows(run):
    names = {"run_id": run.run_id, "k": 3, "version": 2, "names": ["A", "B", "<C>"]}
    assert names_for({"run_id": run.run_id, "k": 3}, names) == ["A", "B", "<C>"]
    assert names_for({"run_id": run.run_id, "k": 4}, names) is None
    assert names_for(None, names) is None
    long = "A name far longer than any axis has room for"
    axis = renamed_axis(["<C>", long], "yaxis", "hovertext", columns=2).to_plotly_json()
    assert [(op["location"], op["params"]["value"]) for op in axis["operations"]] == [
        (["layout", "yaxis", "ticktext"], ["&lt;C&gt;", "A name far longer than…"]),
        (["data", 0, "hovertext"], [["&lt;C&gt;", "&lt;C&gt;"], [long, long]])]
    violins = renamed_axis(["A", long], "xaxis", "traces").to_plotly_json()
    assert [(op["location"], op["params"]["value"]) for op in violins["operations"]][1:] == [
        (["data", 0, "name"], "A"), (["data", 1, "name"], long)]
    assert renamed_axis(None, "xaxis", "traces") is dash.no_update


def test_switching_k_goes_through_the_host_and_keeps_the_names_version_of_that_k(store, run):
    host = PanelHost(dash.Dash(__name__), store, "probe")
    store.rename(run.run_id, 2, 0, "Two", base_version=0)
    state = {"dataset_id": run.dataset_id, "run_id": run.run_id, "k": 3, "names_version": 0}

    assert host.with_k(state, 2) == {**state, "k": 2, "names_version": 1}
    assert host.with_names_version(state, 0) is dash.no_update
    assert host.with_names_version(state, 5)["names_version"] == 5
