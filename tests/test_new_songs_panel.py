"""The "Add new songs" panel through the real server: upload, where the songs land, the export and the link."""
from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

import pytest
from broken_sample import csv_of, sample_table
from dash_client import dash_call, sent_upload
from panel_calls import dash_id, draw_panel, shown_at

from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.result import RunParams
from dashboard import ids
from dashboard.app import create_app
from dashboard.config import Config
from dashboard.guard import CALLBACK_BODY_BYTES
from dashboard.host import PANEL_LINK, UPLOADED_FILE, link_params_of
from dashboard.panels import new_songs
from dashboard.store import ResultsStore

K = 3
PART = {part: dash_id({"panel": new_songs.NAME, "part": part})
        for part in ("summary", "view", "map", "counts", "flagged", "export-csv", "upload-message", UPLOADED_FILE, "refused")}
LINK = f"{PANEL_LINK}.data"


@pytest.fixture(scope="module")
def analysed(sample_csv):
    dataset = load_csv(sample_csv)
    return dataset, run_analysis(dataset, RunParams(k_max=4, k=K, silhouette_sample=200))


@pytest.fixture
def served(tmp_path, analysed):
    dataset, run = analysed
    config = Config(cache_dir=tmp_path)
    app = create_app(config, panels=[new_songs.PANEL])
    store = ResultsStore.from_config(config)
    store.put_dataset(dataset)
    store.put_run(run)
    client = app.server.test_client()
    client.get("/")
    return SimpleNamespace(app=app, store=store, run=run, dataset=dataset, client=client)


def upload(served, filename: str, data: bytes) -> dict:
    values = {f"{PART[UPLOADED_FILE]}.data": sent_upload(served.client, filename, data)}
    return dash_call(served.app, LINK, f"{PART[UPLOADED_FILE]}.data", values, client=served.client)


def draw(served, link: dict | None) -> dict:
    values = {f"{PART['view']}.data": {"run_id": served.run.run_id, "k": K}, LINK: link}
    return dash_call(served.app, f"{PART['summary']}.children", f"{PART['view']}.data", values, client=served.client)


def far_away_songs(sample_csv, rows: int = 40) -> bytes:
    """The sample's first ``rows`` songs, the fourth made unlike any song of the run."""
    header, table = sample_table(sample_csv)
    table = table[:rows]
    for column, value in {"tempo": "249", "loudness": "-59", "duration_ms": "4900000", "speechiness": "0.5",
                          "liveness": "1", "followers": "90000000", "popularity_artists": "100"}.items():
        table[3][header.index(column)] = value
    return csv_of(header, table)


def patched_entry(patch: dict, key: str):
    """The value a ``dash.Patch`` answer assigns to ``key``: a panel changes its own entry of the link only."""
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    (assigned,) = [op["params"]["value"] for op in patch["operations"] if op["location"] == [key]]
    assert len(patch["operations"]) == 1, "a panel's link change touches only its own entry"
    return assigned


def test_an_upload_becomes_a_batch_named_in_the_pages_link(served, sample_csv):
    answer = upload(served, "week.csv", far_away_songs(sample_csv))

    link = patched_entry(answer[PANEL_LINK]["data"], new_songs.NAME)
    assert served.store.get_batch(link["batch"]).report.rows_kept == 40
    # The file's bytes leave the page.
    assert answer[PART[UPLOADED_FILE]]["data"] is None


def test_the_panel_shows_counts_per_named_cluster_and_the_flagged_songs(served, sample_csv):
    batch = patched_entry(upload(served, "week.csv", far_away_songs(sample_csv))[PANEL_LINK]["data"], new_songs.NAME)

    answer = draw(served, {new_songs.NAME: batch})

    text = json.dumps(answer, ensure_ascii=False)
    assert answer[PART["summary"]]["children"].startswith("week.csv: 40 new songs placed")
    names = served.store.get_names(served.run.run_id, K).names
    assert all(name in json.dumps(answer[PART["counts"]]) for name in names.values())
    header, table = sample_table(sample_csv)
    assert table[3][header.index("name_song")] in json.dumps(answer[PART["flagged"]], ensure_ascii=False)
    assert "fitting no cluster well" in text
    # The run's songs faint behind, one trace per cluster; the new ones in their clusters' colours, the far one a cross.
    figure = answer[PART["map"]]["figure"]
    new = [trace for trace in figure["data"] if trace["type"] == "scatter"]
    assert len(figure["data"]) - len(new) == K and sum(len(trace["x"]) for trace in new) == 40
    assert sum(trace["marker"]["symbol"].count("x") for trace in new) >= 1


def test_the_export_carries_every_row_and_the_teams_current_names(served, sample_csv):
    batch = patched_entry(upload(served, "week.csv", far_away_songs(sample_csv))[PANEL_LINK]["data"], new_songs.NAME)
    first = int(served.run.model(K).labels[0])  # the batch's first song is the run's first
    served.store.rename(served.run.run_id, K, first, "=Team pick", base_version=0)

    href = draw(served, {new_songs.NAME: batch})[PART["export-csv"]]["href"]
    answer = served.client.get(href)

    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert len(rows) == 40 and list(rows[0])[-4:] == ["cluster", "cluster_name", "distance_to_centre",
                                                      "fits_no_cluster"]
    assert rows[0]["cluster"] == str(first)
    assert {row["cluster_name"] for row in rows if row["cluster"] == str(first)} == {"'=Team pick"}
    assert rows[3]["fits_no_cluster"] == "true"


def test_a_link_to_a_batch_nobody_stored_says_so(served):
    answer = draw(served, {new_songs.NAME: {"batch": "gone"}})
    assert "no longer stored" in answer[PART["summary"]]["children"]
    assert served.client.get(f"/_amc/{new_songs.NAME}/assigned.csv?run={served.run.run_id}&k={K}&batch=gone"
                             ).status_code == 404


def test_a_bad_file_is_refused_in_one_line(served):
    answer = upload(served, "notes.csv", b"title,artist\nA,B\n")
    message = json.dumps(answer[PART["upload-message"]]["children"])
    assert "Upload refused" in message and "notes.csv" in message
    assert PANEL_LINK not in answer


def test_an_upload_over_the_callback_limit_is_not_cut_off(served, sample_csv):
    header, table = sample_table(sample_csv)
    data = csv_of(header, table * 12)
    assert len(data) * 4 / 3 > CALLBACK_BODY_BYTES

    link = patched_entry(upload(served, "big.csv", data)[PANEL_LINK]["data"], new_songs.NAME)

    assert served.store.get_batch(link["batch"]).report.rows_read == 12 * len(table)


def test_opening_a_link_hands_the_panel_its_batch(served):
    search = f"?run={served.run.run_id}&k={K}&panel={new_songs.NAME}&batch=abc123"
    answer = dash_call(served.app, f"{ids.RUN_STATE}.data", f"{ids.LINK_OPENED}.data",
                       {f"{ids.LINK_OPENED}.data": {"search": search, "at": 1}}, client=served.client)
    assert answer[PANEL_LINK]["data"] == {new_songs.NAME: {"batch": "abc123"}}


def test_only_short_ids_become_a_panels_link_parameters():
    query = {"run": ["r"], "k": ["3"], "panel": ["p"], "batch": ["a_b-1"], "evil": ["<script>"], "x" * 65: ["1"]}
    assert link_params_of(query) == {"batch": "a_b-1"}


def test_the_panel_draws_through_the_shell(served):
    answer = draw_panel(served.app, new_songs.NAME, shown_at(served.run, K))
    assert new_songs.WAITING in json.dumps(answer)


def test_a_file_the_browser_kept_back_is_explained(served):
    values = {f"{PART['refused']}.data": {"filename": "huge.csv", "bytes": 60 * 1024 * 1024, "at": 1}}
    answer = dash_call(served.app, f"{PART['upload-message']}.children", f"{PART['refused']}.data", values,
                       client=served.client)
    assert "huge.csv: 60.0 MB is more than the upload limit of 50 MB; it was not sent" in json.dumps(answer)
    assert PANEL_LINK not in answer
