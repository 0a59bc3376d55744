"""The six built-in panels: their layouts on a small real run, and their callbacks through a real host and store."""
from __future__ import annotations

import base64
import gzip
import json
from types import SimpleNamespace

import dash
import flask
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
import zstandard
from dash import dcc, html, no_update

from analysis.figures import pca_data
from analysis.names import parse_names_file
from dashboard.auth import SIGN_IN_KEY
from dashboard.host import PanelHost, RunView
from dashboard.panels import artists, heatmap, naming, pca
from dashboard.panels.registry import builtin_panels
from dashboard.store import NameChange, ResultsStore
from synthetic_run import HOSTILE_ARTIST, frame, pipeline_run, run, store, synthetic_dataset  # noqa: F401 (fixtures)

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
EXPECTED_PARTS = {
    "elbow": {"graph", "k"},
    "silhouette": {"by-k", "per-cluster"},
    "pca": {"scatter", "source", "loadings"},
    "heatmap": {"heatmap", "feature", "distribution", "sizes"},
    "naming": {"base", "drawn", "alert", "history", "name", "save"},
    "artists": {"top-artists", "top-genres", "spanning", "search", "found"},
}

SIX_PANELS = [panel for panel in builtin_panels() if panel.name in EXPECTED_PARTS]
FETCHED_BY_THE_BROWSER = {"scatter"}  # the PCA scatter comes by its own route, tested below


@pytest.fixture
def state(run):
    return {"dataset_id": run.dataset_id, "run_id": run.run_id, "k": 3, "names_version": 0}


def view_of(run, frame, k=3, names=None) -> RunView:
    names = names or {cluster: suggestion.name for cluster, suggestion in enumerate(run.models[k].suggested_names)}
    return RunView(result=run, k=k, names=names, dataset=synthetic_dataset(frame))


def host_for(panel, store, jobs=None) -> PanelHost:
    """A Dash app with the panel registered through its host, as the shell does."""
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    app.layout = html.Div()  # the routes are served by the app's Flask server, which sets the app up first
    host = PanelHost(app, store, panel.name, needs_songs="dataset" in panel.needs, jobs=jobs)
    panel.register(host)
    return host


def components(tree):
    """Every component of a layout, depth first."""
    yield tree
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            yield from components(child)


def parts_of(tree, panel_name):
    return {c.id["part"] for c in components(tree) if isinstance(getattr(c, "id", None), dict)
            and c.id.get("panel") == panel_name}


def test_the_registry_lists_the_six_panels_in_reading_order():
    assert [panel.name for panel in sorted(SIX_PANELS, key=lambda panel: panel.order)] == list(EXPECTED_PARTS)


@pytest.mark.parametrize("panel", SIX_PANELS, ids=lambda panel: panel.name)
def test_layout_has_its_parts_and_draws_real_figures(panel, run, frame):
    tree = panel.layout(view_of(run, frame))
    assert parts_of(tree, panel.name) >= EXPECTED_PARTS[panel.name]
    for graph in drawn_graphs(tree):
        assert len(traces(graph)) > 0, graph.id


@pytest.mark.parametrize("panel", SIX_PANELS, ids=lambda panel: panel.name)
def test_layout_draws_the_pipelines_own_run(panel, pipeline_run):
    result, dataset = pipeline_run
    tree = panel.layout(RunView(result=result, k=result.chosen_k, names={}, dataset=dataset))
    assert parts_of(tree, panel.name) >= EXPECTED_PARTS[panel.name]
    for graph in drawn_graphs(tree):
        assert len(traces(graph)) > 0, graph.id


def traces(graph) -> list:
    """A graph's traces, whether its figure is a plotly Figure or the plain JSON a panel keeps per run."""
    return graph.figure["data"] if isinstance(graph.figure, dict) else graph.figure.data


def drawn_graphs(tree):
    return [c for c in components(tree) if isinstance(c, dcc.Graph) and c.id["part"] not in FETCHED_BY_THE_BROWSER]


def test_the_pca_panel_comes_with_the_link_of_its_songs(run, frame):
    tree = pca.layout(view_of(run, frame, 4))
    source = next(c for c in components(tree) if getattr(c, "id", None) == pca.PANEL.part_id("source"))
    assert f"_amc/pca/pca.json?run={run.run_id}&k=4" in source.data["url"] and source.data["k"] == 4


def test_the_scatters_source_follows_the_views_k_and_names(run, frame):
    names = {0: "Quiet", 1: "Loud", 2: HOSTILE_NAME, 3: "Fast"}
    source = pca.scatter_source(lambda path, **query: f"/{path}?{sorted(query.items())}", view_of(run, frame, 4, names))
    # Names travel as data; the browser escapes them as it puts them on the traces (pca.js).
    assert source["names"] == ["Quiet", "Loud", HOSTILE_NAME, "Fast"]
    assert (source["run_id"], source["k"]) == (run.run_id, 4) and source["url"].startswith("/pca.json?")


@pytest.fixture
def pca_host(tmp_path, pipeline_run):
    result, dataset = pipeline_run
    store = ResultsStore.open(tmp_path / "store")
    store.put_run(result)
    store.put_dataset(dataset)
    return host_for(pca.PANEL, store)


@pytest.fixture
def pca_route(pca_host):
    return pca_host.app.server.test_client()


def test_the_pca_route_serves_every_song_packed_for_the_browser_to_keep(pca_host, pca_route, pipeline_run):
    result, dataset = pipeline_run
    k = result.chosen_k
    link = pca_host.href(pca.ROUTE, run=result.run_id, k=k)
    # plotly's own figure writes its arrays as typed arrays too
    expected = json.loads(pio.to_json(go.Figure(pca_data(result, dataset.frame, k, {}))))

    zipped = pca_route.get(link, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert "immutable" in zipped.headers["Cache-Control"] and zipped.headers["Vary"] == "Accept-Encoding"
    assert json.loads(gzip.decompress(zipped.get_data())) == expected
    plain = pca_route.get(link, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and json.loads(plain.get_data()) == expected
    # Chromium's header: zstd, the quicker to pack, wins over gzip.
    packed = pca_route.get(link, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert packed.headers["Content-Encoding"] == "zstd"
    assert json.loads(zstandard.ZstdDecompressor().decompress(packed.get_data())) == expected


def test_a_new_runs_first_scatter_is_packed_in_its_job_and_served_from_the_store(tmp_path, pipeline_run):
    result, dataset = pipeline_run
    store = ResultsStore.open(tmp_path / "store")
    store.put_run(result)
    store.put_dataset(dataset)
    jobs = SimpleNamespace(after_store=[])
    host = host_for(pca.PANEL, store, jobs)
    [store_first_scatter] = jobs.after_store

    store_first_scatter(result, dataset.frame)  # what the run's job does once the run is stored

    packed = store.get_artifact(pca.scatter_key(result.run_id, result.chosen_k))
    assert packed == pca.packed_scatter(result, dataset.frame, result.chosen_k)
    link = host.href(pca.ROUTE, run=result.run_id, k=result.chosen_k)
    store.put_artifact(pca.scatter_key(result.run_id, result.chosen_k), b"stored")  # which the route must serve
    served = host.app.server.test_client().get(link, headers={"Accept-Encoding": "zstd"})
    assert served.get_data() == b"stored"


@pytest.mark.parametrize("accepted, coding", [
    ("gzip, deflate, br, zstd", "zstd"), ("gzip;q=1.0, ZSTD;q=0.5", "zstd"), ("gzip, deflate", "gzip"),
    ("br", "identity"), ("", "identity"), ("zstd;q=0, gzip", "gzip"),
])
def test_the_scatter_is_packed_in_the_best_coding_the_browser_takes(accepted, coding):
    assert pca.content_coding(accepted) == coding


@pytest.mark.parametrize("query, message", [
    ("run=nosuchrun&k=2", "no stored run has the id 'nosuchrun'"),
    ("run={run_id}&k=99", "has no k=99"),
    ("run=../x&k=2", "the link names no valid run"),
])
def test_the_pca_route_answers_a_bad_link_in_one_line(pca_route, pipeline_run, query, message):
    answer = pca_route.get("/_amc/pca/pca.json?" + query.format(run_id=pipeline_run[0].run_id))
    assert answer.status_code in (400, 404) and message in answer.get_data(as_text=True)


def test_naming_layout_shows_every_cluster_with_its_name_in_an_input(run, frame):
    names = {0: HOSTILE_NAME, 1: "Loud", 2: "Spoken"}
    tree = naming.layout(view_of(run, frame, names=names))
    inputs = {c.id["cluster"]: c.value for c in components(tree) if getattr(c, "id", {}) and
              isinstance(c.id, dict) and c.id["part"] == "name"}
    assert inputs == names


def test_the_six_panels_register_their_callbacks_on_one_app(store):
    app = dash.Dash(__name__, suppress_callback_exceptions=True)
    for panel in SIX_PANELS:
        if panel.register:
            panel.register(PanelHost(app, store, panel.name))
    outputs = " ".join(app.callback_map)
    for part in ('"heatmap","part":"distribution"', '"naming","part":"history"', '"naming","part":"alert"',
                 '"artists","part":"found"'):
        assert part in outputs
    # elbow's k, naming's version and the names file upload, all beside the shell's own
    assert outputs.count("run-state.data@") == 3


def test_the_naming_panel_offers_the_names_file_for_download_and_upload(run, frame):
    tree = naming.layout(view_of(run, frame))
    plain_ids = {c.id for c in components(tree) if isinstance(getattr(c, "id", None), str)}
    assert {"names-io-download", "names-io-upload", "names-io-message"} <= plain_ids


def test_the_naming_panel_serves_the_names_file_amc_cluster_reads(tmp_path, pipeline_run):
    result, dataset = pipeline_run
    k = result.chosen_k
    store = ResultsStore.open(tmp_path / "store")
    store.put_run(result)
    store.rename(result.run_id, k, 0, "Quiet", base_version=0)
    host = host_for(naming.PANEL, store)
    answer = host.app.server.test_client().get(f"/_amc/naming/names.json?run={result.run_id}&k={k}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    names_file = parse_names_file(answer.get_data())
    assert (names_file.run_id, names_file.k) == (result.run_id, k)
    assert names_file.names == store.get_names(result.run_id, k).names and names_file.names[0] == "Quiet"


@pytest.fixture
def host(store):
    return PanelHost(dash.Dash(__name__), store, "naming")


def test_choosing_a_k_in_the_sweep_makes_it_active(host, state):
    assert host.with_k(state, 4) == {**state, "k": 4, "names_version": 0}
    assert host.with_k(state, 3) is no_update
    assert host.with_k(state, 9) is no_update


def drawn_at(store, run, version=0, k=3) -> dict:
    """The naming panel's record of what each field was given, as drawn at ``version``."""
    return {"names": list(store.get_names(run.run_id, k).names.values()), "seen": [version] * k}


def test_saving_a_name_bumps_the_version_every_panel_follows(host, store, state, run):
    new_state, names, message, drawn, history = naming.apply_change(
        host, state, {"part": "save", "cluster": 1}, {1: "  Loud  "}, drawn_at(store, run), 0, "alice")
    assert new_state == {**state, "names_version": 1} and message is None and drawn is no_update
    assert names["version"] == 1 and names["names"][1] == "Loud" and (names["run_id"], names["k"]) == (run.run_id, 3)
    assert "Loud" in str(history)  # the saving page sees its change without waiting for the names
    assert store.get_names(run.run_id, 3).names[1] == "Loud"
    assert store.get_names(run.run_id, 3).history[-1].author == "alice"


def test_a_save_over_a_name_the_page_never_showed_is_a_conflict_and_a_second_save_wins(host, store, state, run):
    drawn = drawn_at(store, run)
    store.rename(run.run_id, 3, 1, "Theirs", base_version=0)
    new_state, _, message, drawn, history = naming.apply_change(
        host, state, {"part": "save", "cluster": 1}, {1: "Mine"}, drawn, 0, "")
    assert new_state is no_update and drawn["seen"] == [0, 1, 0]
    assert "Theirs" in message.children and message.color == "warning"
    assert len(history.children[0].children) == 1  # the change that beat this save
    again, *_ = naming.apply_change(host, state, {"part": "save", "cluster": 1}, {1: "Mine"}, drawn, 1, "")
    assert again["names_version"] == 2 and store.get_names(run.run_id, 3).names[1] == "Mine"


def test_saving_another_cluster_on_a_stale_page_is_no_conflict(host, store, state, run):
    drawn = drawn_at(store, run)
    store.rename(run.run_id, 3, 1, "Theirs", base_version=0)
    new_state, _, message, _, _ = naming.apply_change(host, state, {"part": "save", "cluster": 2}, {2: "Mine"},
                                                   drawn, 0, "")
    assert new_state["names_version"] == 2 and message is None
    assert store.get_names(run.run_id, 3).names == {**store.get_names(run.run_id, 3).names, 1: "Theirs", 2: "Mine"}


@pytest.mark.parametrize("typed", ["", "x" * 61, "Party\u202eTracks"])
def test_an_invalid_name_is_refused_with_the_stores_reason(host, store, run, state, typed):
    new_state, _, message, drawn, _ = naming.apply_change(host, state, {"part": "save", "cluster": 0}, {0: typed},
                                                       drawn_at(store, run), 0, "")
    assert new_state is no_update and drawn is no_update and message.color == "danger" and message.children


def test_reverting_a_change_restores_the_old_name(host, store, state, run):
    before = store.get_names(run.run_id, 3).names[2]
    store.rename(run.run_id, 3, 2, "Temporary", base_version=0, author="bob")
    new_state, *_ = naming.apply_change(host, {**state, "names_version": 1}, {"part": "revert", "version": 1},
                                             {}, drawn_at(store, run, 1), 1, "alice")
    assert new_state["names_version"] == 2 and store.get_names(run.run_id, 3).names[2] == before
    history = naming.history_list(store.get_names(run.run_id, 3).history, naming.HISTORY_PAGE)
    assert len(history.children[0].children) == 2


def test_the_team_s_names_replace_untouched_fields_and_keep_typed_text():
    drawn = {"names": ["Calm", "Loud", "Spoken"], "seen": [0, 0, 0]}
    typed = ["Calm", "My own idea", "Spoken"]  # the user is typing in cluster 1
    fields, drawn, kept = naming.follow_names(drawn, typed, ["Quiet", "Noisy", "Spoken"], 2)
    assert fields == ["Quiet", no_update, no_update]
    assert drawn == {"names": ["Quiet", "Noisy", "Spoken"], "seen": [2, 0, 2]} and kept == [1]
    assert "cluster 1 is now 'Noisy'" in naming.kept_note(kept, ["Quiet", "Noisy", "Spoken"])


def test_the_history_names_who_and_when_and_shows_fifty_then_more():
    changes = [NameChange(version=v, cluster=0, old=f"n{v - 1}", new=f"n{v}", at=1000.0 + v, author="alice")
               for v in range(1, 121)]
    history = naming.history_list(tuple(changes), naming.HISTORY_PAGE, now=1000.0 + 120 + 125)
    listed, more = history.children
    assert len(listed.children) == 50 and "Show more (70 older)" in str(more.children)
    assert "renamed by alice, 2 min ago" in str(listed.children[0])


def test_artist_search_is_a_case_insensitive_substring_with_counts_per_cluster(run, frame):
    names = {0: "A", 1: "B", 2: "C"}
    found = artists.search_results(frame, run.models[3].labels, 3, names, "tom & <B>")
    parts = {c.id["part"]: c for c in components(found) if isinstance(getattr(c, "id", None), dict)}
    songs_of_artist = int((frame["name_artists"] == HOSTILE_ARTIST).sum())
    assert typed_array(parts["search-graph"].figure["data"][0]["y"]).sum() == songs_of_artist
    assert len(parts["search-songs"].children[1].children) == min(songs_of_artist, artists.SONGS_LISTED)


def typed_array(value) -> np.ndarray:
    """A plotly JSON array, plain or typed (``{"dtype", "bdata"}``, base64)."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def test_artist_search_lists_at_most_fifty_songs(run, frame):
    found = artists.search_results(frame, run.models[2].labels, 2, {}, "A")
    table = next(c for c in components(found) if getattr(c, "id", None) == artists.PANEL.part_id("search-songs"))
    assert len(table.children[1].children) == artists.SONGS_LISTED


def test_artist_search_without_a_match_says_so(run, frame):
    found = artists.search_results(frame, run.models[2].labels, 2, {}, "nobody at all")
    assert "nobody at all" in found.children


def test_spanning_artists_show_cluster_names(run, frame):
    assert artists.named_counts("0:12 2:4", {0: "Loud", 2: "Calm"}) == "Loud: 12 · Calm: 4"


def test_heatmap_starts_on_the_feature_that_separates_clusters_most(run, frame):
    view = view_of(run, frame)
    zscores = run.models[3].zscores
    spread = zscores.max() - zscores.min()
    assert heatmap.most_separating_feature(view) == spread.idxmax()


def test_a_change_is_recorded_as_the_login_name_when_login_is_on():
    server = flask.Flask(__name__)
    with server.test_request_context():  # no login: the name the user gave
        assert naming.author_of("Robin") == "Robin" and naming.author_of(None) == ""
    server.config[SIGN_IN_KEY] = ("basic", None)
    signed_in = {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}
    with server.test_request_context(headers=signed_in):
        assert naming.author_of("Robin") == "alice"
