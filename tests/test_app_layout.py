"""The shell without a browser: its layout, limits, and callbacks called over HTTP like the renderer does."""
from __future__ import annotations

import base64
import dataclasses
import gzip
import json

import plotly.utils
import pytest
from broken_sample import with_cells
from dash_client import CallbackSkipped, dash_call, sent_upload
from panel_calls import draw_panel
from synthetic_run import synthetic_frame, synthetic_run

from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.result import ParameterError, RunParams, run_id_for
from dashboard import ids
from dashboard.app import FORM_PARTS, card_id, create_app, params_from_form
from dashboard.config import Config
from dashboard.host import Panel
from dashboard.panels.registry import load_panels
from dashboard.store import DiskcacheBackend, ResultsStore

FORM_DEFAULTS = {
    f"{ids.FEATURES}.value": list(RunParams().features),
    f"{ids.LOG_FEATURES}.value": ["duration_ms", "followers"],
    f"{ids.CLIP}.value": False,
    f"{ids.CLIP_RANGE}.value": [1, 99],
    f"{ids.K_MIN}.value": 2,
    f"{ids.K_MAX}.value": 6,
    f"{ids.SEED}.value": 42,
}


@pytest.fixture
def config(tmp_path):
    return Config.from_env({}, cache_dir=tmp_path / "cache", max_upload_mb=1)


@pytest.fixture
def app(config):
    return create_app(config, panels=[])


@pytest.fixture
def demo_id(demo_csv):
    return load_csv(demo_csv).fingerprint


def stored_run(config, dataset_id, params):
    """A small real run filed under the id a request for ``params`` on ``dataset_id`` would get."""
    run = synthetic_run(synthetic_frame(rows=90), ks=params.ks)
    run = dataclasses.replace(run, run_id=run_id_for(dataset_id, params), dataset_id=dataset_id, params=params)
    ResultsStore.open(config.store_dir).put_run(run)
    return run


def run_button(app, dataset_id, client=None, **form):
    values = {**FORM_DEFAULTS, **{f"{key}.value": value for key, value in form.items()}}
    values[f"{ids.DATASET_PICKER}.value"] = dataset_id
    values[f"{ids.RUN_BUTTON}.n_clicks"] = 1
    return dash_call(app, f"{ids.RUN_REQUEST}.data", f"{ids.RUN_BUTTON}.n_clicks", values, client=client)


def upload(app, filename, data: bytes):
    client = app.server.test_client()
    client.get("/")
    values = {f"{ids.UPLOAD_ACCEPTED}.data": sent_upload(client, filename, data)}
    return dash_call(app, f"{ids.UPLOAD_ALERT}.children", f"{ids.UPLOAD_ACCEPTED}.data", values, client=client)


def text_of(component) -> str:
    return json.dumps(component, ensure_ascii=False)


def test_layout_has_every_part_of_the_shell(app, demo_id):
    layout = app.layout()

    for part in (ids.URL, ids.DATASET_PICKER, ids.UPLOAD, ids.FEATURES, ids.LOG_FEATURES, ids.CLIP, ids.CLIP_RANGE,
                 ids.K_MIN, ids.K_MAX, ids.SEED, ids.RUN_BUTTON, ids.CANCEL_BUTTON, ids.PROGRESS,
                 ids.PROGRESS_WORDS, ids.RUN_SUMMARY, ids.PANEL_TABS, ids.PLOTLY_PRELOAD, ids.NAMES):
        assert layout[part] is not None
    assert getattr(layout[ids.RUN_STATE], "data", None) is None  # the browser starts with nothing
    assert layout[ids.CANCEL_BUTTON].disabled is True
    picker = layout[ids.DATASET_PICKER]
    assert picker.value == demo_id
    assert picker.options[0]["label"] == "demo_songs.csv · 5,000 songs · Demo"


def test_a_start_up_file_is_offered_first_and_chosen(tmp_path, sample_csv, demo_id):
    config = Config.from_env({"AMC_DATA": str(sample_csv)}, cache_dir=tmp_path / "cache")
    picker = create_app(config, panels=[]).layout()[ids.DATASET_PICKER]

    assert picker.value == load_csv(sample_csv).fingerprint
    assert {option["value"] for option in picker.options} == {picker.value, demo_id}


def test_the_demo_given_as_start_up_file_is_offered_once_as_the_demo(tmp_path, demo_csv, demo_id):
    config = Config.from_env({"AMC_DATA": str(demo_csv)}, cache_dir=tmp_path / "cache")
    picker = create_app(config, panels=[]).layout()[ids.DATASET_PICKER]

    assert [option["value"] for option in picker.options] == [demo_id] and picker.value == demo_id
    assert picker.options[0]["label"].endswith(" · Demo")


def test_page_serves_bootstrap_locally_and_limits_request_size(app, config):
    client = app.server.test_client()

    page = client.get("/").get_data(as_text=True)
    assert "/_amc/vendor/bootstrap.min.css" in page and "cdn" not in page.lower()
    css = client.get("/_amc/vendor/bootstrap.min.css")
    assert css.status_code == 200 and b"Bootstrap" in css.data[:200]
    assert config.max_upload_bytes < app.server.config["MAX_CONTENT_LENGTH"] < 2 * config.max_upload_bytes + 3 * 2**20
    too_big = client.post("/_dash-update-component", data=b"x" * (app.server.config["MAX_CONTENT_LENGTH"] + 1),
                          content_type="application/json")
    assert too_big.status_code == 413


def test_no_run_yet_shows_each_panel_waiting_for_one(config):
    probe = Panel(name="probe", title="Probe", needs=frozenset({"sweep"}), layout=lambda view: "probe was drawn")
    app = create_app(config, panels=[probe])

    card = json.dumps(app.layout()["panel-card-probe"], cls=plotly.utils.PlotlyJSONEncoder)

    assert "appears here once a run is done" in card and "probe was drawn" not in card
    with pytest.raises(CallbackSkipped):  # nothing to draw until a run is shown
        draw_panel(app, "probe", None)


def test_the_songs_map_is_the_first_panel_on_screen_and_the_others_wait(config):
    app = create_app(config)
    layout = app.layout()
    assert layout[ids.PANEL_TABS].active_tab == "pca"
    on_screen = [p.name for p in load_panels() if not layout[card_id(p.name)].hidden]
    assert on_screen == ["pca"]


def test_run_with_bad_parameters_explains_and_starts_nothing(app, demo_id):
    response = run_button(app, demo_id, **{ids.K_MIN: 8, ids.K_MAX: 3})

    assert ids.RUN_REQUEST not in response
    assert "k range must satisfy" in text_of(response[ids.JOB_ALERT])


def test_run_without_a_dataset_explains(app):
    response = run_button(app, None)
    assert "choose a dataset first" in text_of(response[ids.JOB_ALERT])


def test_each_run_request_gets_its_own_ticket(app, demo_id):
    first = run_button(app, demo_id)[ids.RUN_REQUEST]["data"]
    second = run_button(app, demo_id)[ids.RUN_REQUEST]["data"]

    assert first["run_id"] == second["run_id"] == run_id_for(demo_id, RunParams.from_dict(first["params"]))
    assert first["ticket"] != second["ticket"]
    assert RunParams.from_dict(first["params"]).log_features == ("duration_ms", "followers")


def test_a_stored_run_is_shown_at_once_without_a_job(app, config, demo_id):
    params = params_from_form(*(FORM_DEFAULTS[f"{part}.value"] for part in FORM_PARTS))
    run = stored_run(config, demo_id, params)

    response = run_button(app, demo_id)

    assert ids.RUN_REQUEST not in response  # no job: the answer itself shows the run
    state = response[ids.RUN_STATE]["data"]
    assert state == {"dataset_id": demo_id, "run_id": run.run_id, "k": run.chosen_k, "names_version": 0}


def test_a_finished_job_shows_its_run(app, config, demo_id):
    run = stored_run(config, demo_id, RunParams(k_min=2, k_max=4))
    done = {"ticket": "t", "dataset_id": demo_id, "run_id": run.run_id}
    state = dash_call(app, f"{ids.RUN_STATE}.data", f"{ids.JOB_OUTCOME}.data",
                      {f"{ids.JOB_OUTCOME}.data": done})[ids.RUN_STATE]["data"]
    assert state == {"dataset_id": demo_id, "run_id": run.run_id, "k": run.chosen_k, "names_version": 0}
    # The same end told again (by the settling, or a job's own answer after it) draws nothing twice.
    with pytest.raises(CallbackSkipped):
        dash_call(app, f"{ids.RUN_STATE}.data", f"{ids.JOB_OUTCOME}.data",
                  {f"{ids.JOB_OUTCOME}.data": done, f"{ids.RUN_STATE}.data": state})


def test_form_values_become_run_parameters():
    params = params_from_form(["tempo", "energy", "followers"], ["followers", "duration_ms"], True, [2, 98], 2, 5, 7)

    assert params.features == ("energy", "tempo", "followers")
    assert params.log_features == ("followers",)  # log1p only applies to a chosen feature
    assert params.clip_percentiles == (2.0, 98.0)
    with pytest.raises(ParameterError, match="k to must be a whole number"):
        params_from_form(["tempo"], [], False, [1, 99], 2, 4.5, 7)
    with pytest.raises(ParameterError, match="seed"):
        params_from_form(["tempo"], [], False, [1, 99], 2, 4, None)


def open_link(app, search: str) -> dict:
    """What the server does with a link the page handed over (``amc.linkOpened``: it names another run)."""
    return dash_call(app, f"{ids.RUN_STATE}.data", f"{ids.LINK_OPENED}.data",
                     {f"{ids.LINK_OPENED}.data": {"search": search, "at": 1}})


def sidebar_for(app, state: dict, sidebar_run: str | None = None) -> dict:
    """What the sidebar takes when the run state becomes ``state``."""
    return dash_call(app, f"{ids.SIDEBAR_RUN}.data", f"{ids.RUN_STATE}.data",
                     {f"{ids.RUN_STATE}.data": state, f"{ids.SIDEBAR_RUN}.data": sidebar_run})


def test_link_opens_the_run_at_its_k(app, config, demo_id):
    run = stored_run(config, demo_id, RunParams(k_min=2, k_max=4))

    response = open_link(app, f"?run={run.run_id}&k=4")

    assert response[ids.RUN_STATE]["data"] == {"dataset_id": demo_id, "run_id": run.run_id, "k": 4, "names_version": 0}
    assert sidebar_for(app, response[ids.RUN_STATE]["data"])[ids.DATASET_PICKER]["value"] == demo_id


def test_each_new_run_on_screen_puts_its_data_and_parameters_into_the_sidebar(app, config, demo_id):
    params = RunParams(features=("energy", "tempo", "followers"), log_features=("followers",),
                       clip_percentiles=(2.0, 98.0), k_min=3, k_max=5, seed=43)
    run = stored_run(config, demo_id, params)
    state = {"dataset_id": demo_id, "run_id": run.run_id, "k": 4, "names_version": 0}

    response = sidebar_for(app, state)

    form = [response[part]["value"] for part in FORM_PARTS]
    assert form == [["energy", "tempo", "followers"], ["followers"], True, [2.0, 98.0], 3, 5, 43]
    assert params_from_form(*form) == params  # pressing Run reruns the same analysis
    assert response[ids.SIDEBAR_RUN]["data"] == run.run_id
    # Another k of the same run keeps what the user has typed since.
    with pytest.raises(CallbackSkipped):
        sidebar_for(app, {**state, "k": 3}, sidebar_run=run.run_id)


def test_a_run_is_admitted_under_the_signed_in_user_for_its_history(tmp_path, demo_id):
    config = Config.from_env({"AMC_USERS": "alice:wonderland"}, cache_dir=tmp_path / "cache")
    app = create_app(config, panels=[])
    client = app.server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(b"alice:wonderland").decode()
    client.get("/")

    ticket = run_button(app, demo_id, client=client)[ids.RUN_REQUEST]["data"]

    assert DiskcacheBackend(config.jobs_dir).get(f"started-by:{ticket['ticket']}") == b"alice"


def test_link_to_an_unknown_run_explains(app):
    response = open_link(app, "?run=nope&k=3")
    assert "no stored run has the id 'nope'" in text_of(response[ids.JOB_ALERT])


def test_a_shared_link_opens_its_panel(config, demo_id):
    app = create_app(config)
    run = stored_run(config, demo_id, RunParams(k_min=2, k_max=4))

    response = open_link(app, f"?run={run.run_id}&k=3&panel=naming")

    assert response[ids.PANEL_TABS]["active_tab"] == "naming" and response[ids.RUN_STATE]["data"]["k"] == 3


def test_bad_upload_gets_the_loaders_message_and_changes_nothing(app):
    response = upload(app, "songs.csv", b"title;artist\nA;B\n")

    assert "songs.csv" in text_of(response[ids.UPLOAD_ALERT]) and "semicolons" in text_of(response[ids.UPLOAD_ALERT])
    assert response[ids.UPLOAD_ALERT]["children"]["props"]["dismissable"] is True
    assert ids.DATASET_PICKER not in response


def test_good_upload_is_stored_and_chosen(app, config, sample_csv):
    response = upload(app, "mine.csv", sample_csv.read_bytes())

    dataset_id = load_csv(sample_csv).fingerprint
    assert response[ids.DATASET_PICKER]["value"] == dataset_id
    labels = [option["label"] for option in response[ids.DATASET_PICKER]["options"]]
    assert "mine.csv · 651 songs · Uploaded" in labels
    assert "Loaded mine.csv" in text_of(response[ids.UPLOAD_ALERT])
    assert ResultsStore.open(config.store_dir).get_dataset(dataset_id) is not None


def test_upload_over_the_limit_is_refused_by_the_server_too(app, config, sample_csv):
    client = app.server.test_client()
    answer = client.post("/_amc/upload", data=sample_csv.read_bytes() + b" " * 2**20,
                         content_type="application/octet-stream")
    assert answer.status_code == 413 and answer.get_data(as_text=True) == "more than the upload limit of 1 MB\n"
    assert not config.uploads_dir.exists() or not any(config.uploads_dir.iterdir())  # nothing of it is kept


def test_an_upload_is_read_once_and_a_made_up_token_reads_nothing(app, config, sample_csv):
    client = app.server.test_client()
    client.get("/")
    sent = sent_upload(client, "mine.csv", sample_csv.read_bytes())
    values = {f"{ids.UPLOAD_ACCEPTED}.data": sent}
    first = dash_call(app, f"{ids.UPLOAD_ALERT}.children", f"{ids.UPLOAD_ACCEPTED}.data", values, client=client)
    assert "Loaded mine.csv" in text_of(first[ids.UPLOAD_ALERT]) and not any(config.uploads_dir.iterdir())
    again = dash_call(app, f"{ids.UPLOAD_ALERT}.children", f"{ids.UPLOAD_ACCEPTED}.data", values, client=client)
    assert "mine.csv: the upload was already read or has expired; upload the file again" in text_of(again)
    for token in ("../store/secret-key", "0" * 31, None):
        values = {f"{ids.UPLOAD_ACCEPTED}.data": {"filename": "x.csv", "upload": token}}
        made_up = dash_call(app, f"{ids.UPLOAD_ALERT}.children", f"{ids.UPLOAD_ACCEPTED}.data", values, client=client)
        assert "x.csv: the upload arrived damaged (no valid upload token); try again" in text_of(made_up)


def test_a_gzip_upload_is_read_like_the_csv_inside_and_a_gzip_bomb_is_refused(app, config, sample_csv):
    # The same reader as amc cluster: the upload limit (1 MB here) bounds the decompressed CSV too.
    response = upload(app, "mine.csv.gz", gzip.compress(sample_csv.read_bytes()))
    assert response[ids.DATASET_PICKER]["value"] == load_csv(sample_csv).fingerprint
    assert "Loaded mine.csv.gz: " in text_of(response[ids.UPLOAD_ALERT]) and "651 of 651 rows kept" in text_of(response[ids.UPLOAD_ALERT])

    bomb = gzip.compress(bytes(8 * 2**20))
    assert len(bomb) < 2**20
    response = upload(app, "bomb.csv.gz", bomb)
    assert "bomb.csv.gz: is more than the limit of 1 MB once decompressed" in text_of(response[ids.UPLOAD_ALERT])
    assert ids.DATASET_PICKER not in response


def test_upload_the_browser_refused_is_explained(app):
    values = {f"{ids.UPLOAD_REFUSED}.data": {"filename": "big.csv", "bytes": 5 * 2**20, "at": 1}}
    response = dash_call(app, f"{ids.UPLOAD_ALERT}.children", f"{ids.UPLOAD_REFUSED}.data", values)
    refusal = "big.csv: 5.0 MB is more than the upload limit of 1 MB; it was not sent"
    assert refusal in text_of(response[ids.UPLOAD_ALERT])
    values = {f"{ids.UPLOAD_REFUSED}.data": {"filename": "big.csv", "error": "more than the upload limit of 1 MB",
                                             "at": 2}}
    response = dash_call(app, f"{ids.UPLOAD_ALERT}.children", f"{ids.UPLOAD_REFUSED}.data", values)
    assert "big.csv: more than the upload limit of 1 MB" in text_of(response[ids.UPLOAD_ALERT])


def test_the_browser_drops_the_files_bytes_once_the_upload_is_handled(app, sample_csv):
    for response in (upload(app, "mine.csv", sample_csv.read_bytes()), upload(app, "bad.csv", b"x;y\n1;2\n")):
        assert response[ids.UPLOAD]["contents"] is None and response[ids.UPLOAD_ACCEPTED]["data"] is None

    with pytest.raises(CallbackSkipped):  # the drop itself changes nothing more
        dash_call(app, f"{ids.UPLOAD_ALERT}.children", f"{ids.UPLOAD_ACCEPTED}.data", {})


def test_a_runs_parameters_are_shown_with_its_results(app, config, sample_csv):
    # A real run on the sample whose energy is 0.5 everywhere: the features listed are the ones used.
    dataset = load_csv(with_cells(sample_csv, "energy", "0.5"), name="flat-energy.csv")
    params = RunParams(features=("energy", "tempo", "valence"), log_features=(), clip_percentiles=(1.0, 99.0),
                       k_min=2, k_max=3)
    run = run_analysis(dataset, params)
    ResultsStore.open(config.store_dir).put_run(run)
    state = {"dataset_id": run.dataset_id, "run_id": run.run_id, "k": 3, "names_version": 0}

    response = dash_call(app, f"{ids.RUN_SUMMARY}.children", f"{ids.RUN_STATE}.data", {f"{ids.RUN_STATE}.data": state})

    summary = text_of(response[ids.RUN_SUMMARY])
    for fact in ("tempo, valence", "1–99 percentiles of every feature", "2–3 (seed 42)", "k = 3", run.run_id,
                 "energy: is the same value (0.5) in 651 row(s): dropped from the features"):
        assert fact in summary
    assert "energy, tempo" not in summary


def test_a_run_on_features_that_are_all_constant_is_refused_at_once(app, sample_csv):
    flat = with_cells(sample_csv, "tempo", "120")
    dataset_id = load_csv(flat).fingerprint
    assert "Loaded flat.csv" in text_of(upload(app, "flat.csv", flat)[ids.UPLOAD_ALERT])

    response = run_button(app, dataset_id, **{ids.FEATURES: ["tempo"], ids.LOG_FEATURES: []})

    assert ids.RUN_REQUEST not in response
    assert "flat.csv: every chosen feature has one value in every row (tempo = 120)" in text_of(response[ids.JOB_ALERT])


def test_an_upload_can_be_removed_and_the_demo_cannot(app, config, sample_csv, demo_id):
    dataset_id = upload(app, "mine.csv", sample_csv.read_bytes())[ids.DATASET_PICKER]["value"]
    values = {f"{ids.REMOVE_DATASET}.submit_n_clicks": 1, f"{ids.DATASET_PICKER}.value": dataset_id}

    answer = dash_call(app, f"{ids.DATASET_PICKER}.options", f"{ids.REMOVE_DATASET}.submit_n_clicks", values)

    assert "Removed mine.csv (651 songs)" in text_of(answer[ids.UPLOAD_ALERT])
    assert [o["value"] for o in answer[ids.DATASET_PICKER]["options"]] == [demo_id]
    assert ResultsStore.open(config.store_dir).get_dataset(dataset_id) is None
    refused = dash_call(app, f"{ids.DATASET_PICKER}.options", f"{ids.REMOVE_DATASET}.submit_n_clicks",
                        {**values, f"{ids.DATASET_PICKER}.value": demo_id})
    assert "only an uploaded dataset can be removed" in text_of(refused[ids.UPLOAD_ALERT])


def test_with_login_only_the_uploader_removes_an_upload(config, sample_csv, monkeypatch):
    from dashboard import app as shell_module

    app = create_app(config, panels=[])
    monkeypatch.setattr(shell_module, "signed_in_user", lambda: "alice")
    dataset_id = upload(app, "hers.csv", sample_csv.read_bytes())[ids.DATASET_PICKER]["value"]
    monkeypatch.setattr(shell_module, "signed_in_user", lambda: "bob")
    values = {f"{ids.REMOVE_DATASET}.submit_n_clicks": 1, f"{ids.DATASET_PICKER}.value": dataset_id}

    answer = dash_call(app, f"{ids.DATASET_PICKER}.options", f"{ids.REMOVE_DATASET}.submit_n_clicks", values)

    assert "hers.csv was uploaded by alice; only they can remove it" in text_of(answer[ids.UPLOAD_ALERT])
    assert ResultsStore.open(config.store_dir).get_dataset(dataset_id) is not None
