"""Downloads through the real Flask server: playlist CSV, Spotify URIs, the whole dataset and the names file."""
from __future__ import annotations

import base64
import csv
import io
import json
import re
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from dash_client import dash_call

from analysis.dataset import load_csv
from analysis.export import FORMULA_START, PLAIN_NUMBER
from analysis.names import NamesFileError, names_file_text, parse_names_file
from analysis.pipeline import run_analysis
from analysis.playlist import PlaylistQuery, encode_query
from analysis.result import RunParams
from dashboard.host import PanelHost
from dashboard.panels.names_file import NamesUploadConflict, apply_names_file
from dashboard.panels.playlist_files import SongTables, playlist_links
from dashboard.store import ResultsStore

K = 3
# Cells a spreadsheet would run as formulas, planted in the real sample's song names.
HOSTILE_SONGS = ['=HYPERLINK("http://evil.example","click")', "+1+1", "@SUM(A1:A9)", "-2+3", "\tTabbed", "-3.5"]


def hostile_sample(sample_csv) -> bytes:
    """The real sample with formula-like song names in its first rows (``-3.5`` is a plain number)."""
    rows = list(csv.reader(io.StringIO(sample_csv.read_bytes().decode("utf-8"), newline="")))
    for row, name in zip(rows[1:], HOSTILE_SONGS):
        row[1] = name
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def analysed(sample_csv):
    dataset = load_csv(hostile_sample(sample_csv), name="songs.csv")
    params = RunParams(k_min=2, k_max=4, k=K, silhouette_sample=200, silhouette_repeats=1)
    return dataset, run_analysis(dataset, params)


@pytest.fixture
def served(tmp_path, analysed):
    from dashboard.app import create_app
    from dashboard.config import Config
    from dashboard.panels import naming, playlist

    dataset, run = analysed
    config = Config(cache_dir=tmp_path)
    app = create_app(config, panels=[playlist.PANEL, naming.PANEL])
    store = ResultsStore.from_config(config)
    store.put_dataset(dataset)
    store.put_run(run)
    return SimpleNamespace(
        app=app, store=store, dataset=dataset, run=run, run_id=run.run_id, client=app.server.test_client()
    )


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8"), newline="")))


def expected_cell(cell: str) -> str:
    return "'" + cell if re.match(FORMULA_START, cell) and not re.fullmatch(PLAIN_NUMBER, cell) else cell


def test_full_dataset_round_trip_keeps_every_cell(served):
    response = served.client.get(f"/_amc/shell/dataset.csv?run={served.run_id}&k={K}")
    assert response.headers["Content-Disposition"] == 'attachment; filename="songs-k3-clusters.csv"'
    rows = read_csv(response)
    raw = served.dataset.raw
    assert rows[0] == [*raw.columns, "cluster", "cluster_name"]
    assert len(rows) - 1 == len(raw)
    names = served.store.get_names(served.run_id, K).names
    labels = dict(zip(served.dataset.frame.index, served.run.models[K].labels))
    changed = 0
    for position, row in enumerate(rows[1:]):
        original = list(raw.iloc[position])
        assert row[: len(original)] == [expected_cell(cell) for cell in original]
        changed += row[: len(original)] != original
        label = labels.get(position)
        assert row[-2:] == ([str(label), names[label]] if label is not None else ["", ""])
    assert changed == len(HOSTILE_SONGS) - 1  # every planted formula, but not the plain number -3.5
    assert rows[5][1] == "'\tTabbed" and rows[6][1] == "-3.5"


def test_downloads_stream_from_the_server(served):
    url = f"/_amc/shell/dataset.csv?run={served.run_id}&k={K}"
    with served.app.server.test_request_context(url):
        response = served.app.server.view_functions["amc_shell_dataset_csv"]()
        assert response.is_streamed
        first_chunk = next(iter(response.response))
    assert first_chunk.startswith(b"id_songs,name_song,")


def playlist_url(served, kind: str, query: PlaylistQuery, name: str = "Road trip") -> str:
    host = PanelHost(served.app, served.store, "playlist")
    view = host.view({"run_id": served.run_id, "k": K})
    return playlist_links(host, view, query, name)["csv" if kind == "playlist.csv" else "uris"]


def test_playlist_csv_holds_the_playlist_rows_in_order(served):
    query = PlaylistQuery(clusters=(1, 2), order_by="popularity", descending=True, limit=25)
    rows = read_csv(served.client.get(playlist_url(served, "playlist.csv", query)))
    view = PanelHost(served.app, served.store, "playlist").view({"run_id": served.run_id, "k": K}, songs=True)
    expected = SongTables(served.store).playlist(view, query)
    frame = served.dataset.frame
    assert [row[0] for row in rows[1:]] == list(frame["id_songs"].iloc[expected["row"]])
    assert len(rows) - 1 == 25
    popularity = [float(row[rows[0].index("popularity_songs")]) for row in rows[1:]]
    assert popularity == sorted(popularity, reverse=True)
    assert {row[-2] for row in rows[1:]} <= {"1", "2"}


def test_spotify_uris_list_the_playlist(served):
    query = PlaylistQuery(genres=("vintage chanson",), dedupe=False, limit=None, order_by="tempo")
    response = served.client.get(playlist_url(served, "playlist.txt", query, name="Chanson"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="Chanson.txt"'
    lines = response.get_data(as_text=True).splitlines()
    frame = served.dataset.frame
    chanson = frame[frame["genre_list"].map(lambda genres: "vintage chanson" in genres)]
    assert lines == [f"spotify:track:{song}" for song in chanson.sort_values("tempo", kind="stable")["id_songs"]]
    assert all(re.fullmatch(r"spotify:track:[0-9A-Za-z]{22}", line) for line in lines)


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("../../etc/passwd", "etc-passwd.csv"),
        ('=HYPERLINK("http://evil.example")', "HYPERLINK(-http-evil.example.csv"),
        ("", "playlist.csv"),
        ("CON", "CON_.csv"),
        ('Road "trip"; filename=x.exe', "Road-trip-filename-x.exe.csv"),
    ],
)
def test_playlist_file_names_are_made_safe(served, name, filename):
    response = served.client.get(playlist_url(served, "playlist.csv", PlaylistQuery(limit=3), name=name))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_names_outside_ascii_keep_their_letters_for_browsers_that_read_rfc6266(served):
    response = served.client.get(playlist_url(served, "playlist.csv", PlaylistQuery(limit=3), name="Müzik ชา"))
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Muzik.csv"; filename*=UTF-8\'\'')
    assert unquote(disposition.split("''", 1)[1]) == "Müzik-ชา.csv"


def test_hostile_cluster_names_are_exported_as_text(served):
    sheet = served.store.get_names(served.run_id, K)
    served.store.rename(served.run_id, K, 0, "=HYPERLINK(\"http://evil.example\")", sheet.version)
    rows = read_csv(served.client.get(playlist_url(served, "playlist.csv", PlaylistQuery(clusters=(0,), limit=5))))
    assert {row[-1] for row in rows[1:]} == {"'=HYPERLINK(\"http://evil.example\")"}


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/_amc/shell/dataset.csv?run=nosuchrun&k=3", 404, "no stored run has the id 'nosuchrun'"),
        ("/_amc/shell/dataset.csv?run=<run>&k=9", 404, "has no k=9"),
        ("/_amc/shell/dataset.csv?run=<run>&k=three", 400, "k='three' is not a whole number"),
        ("/_amc/shell/dataset.csv?k=3", 400, "names no valid run"),
        ("/_amc/shell/dataset.csv?run=../../x&k=3", 400, "names no valid run"),
        ("/_amc/playlist/playlist.csv?run=<run>&k=3&q=%25%25%25", 400, "damaged"),
        (f"/_amc/playlist/playlist.csv?run=<run>&k=3&q={encode_query(PlaylistQuery(like_row=99_999))}", 400,
         "row 99999"),
        ("/_amc/naming/names.json?run=nosuchrun&k=3", 404, "no stored run"),
    ],
)
def test_bad_links_get_a_one_line_answer(served, url, status, message):
    response = served.client.get(url.replace("<run>", served.run_id))
    assert response.status_code == status
    text = response.get_data(as_text=True)
    assert message in text and text.count("\n") == 1


def test_names_file_round_trip(served, tmp_path):
    store = served.store
    sheet = store.get_names(served.run_id, K)
    store.rename(served.run_id, K, 1, "Party", sheet.version)
    response = served.client.get(f"/_amc/naming/names.json?run={served.run_id}&k={K}")
    assert response.headers["Content-Disposition"] == f'attachment; filename="names-{served.run_id}-k3.json"'
    downloaded = parse_names_file(response.get_data())
    assert downloaded.run_id == served.run_id and downloaded.k == K
    assert downloaded.names == store.get_names(served.run_id, K).names

    # The same file applied to a fresh store over the same run gives the same names.
    other = ResultsStore.open(tmp_path / "other")
    other.put_run(served.run)
    sheet, summary = apply_names_file(other, served.run_id, K, 0, response.get_data(), "names.json")
    assert sheet.names == downloaded.names
    assert summary == "names.json: applied 1 name(s)"
    assert [(c.cluster, c.new) for c in sheet.history] == [(1, "Party")]


def test_an_upload_that_swaps_two_names_applies_in_a_working_order(served):
    store = served.store
    first = store.get_names(served.run_id, K)
    store.rename(served.run_id, K, 0, "Calm", first.version)
    sheet = store.rename(served.run_id, K, 1, "Loud", first.version + 1)
    text = names_file_text(served.run_id, K, {0: "Loud", 1: "Quiet"})
    after, summary = apply_names_file(store, served.run_id, K, sheet.version, text, "names.json")
    assert after.names[0] == "Loud" and after.names[1] == "Quiet"
    assert summary == "names.json: applied 2 name(s)"


def test_an_upload_reports_what_it_could_not_apply(served):
    store = served.store
    sheet = store.rename(served.run_id, K, 0, "Calm", store.get_names(served.run_id, K).version)
    sheet = store.rename(served.run_id, K, 1, "Loud", sheet.version)
    text = names_file_text(served.run_id, K, {0: "Loud", 1: "Calm"})  # a swap needs a third name in between
    after, summary = apply_names_file(store, served.run_id, K, sheet.version, text, "names.json")
    assert after.names == sheet.names
    assert "applied 0 name(s); not applied: cluster 0: 'Loud' is already the name of cluster 1" in summary


def test_an_upload_over_a_newer_name_is_a_conflict(served):
    store = served.store
    base = store.get_names(served.run_id, K).version
    store.rename(served.run_id, K, 2, "Theirs", base)  # someone else, after our page loaded
    with pytest.raises(NamesUploadConflict, match="applied 0 name.*'Theirs'"):
        apply_names_file(store, served.run_id, K, base, names_file_text(served.run_id, K, {2: "Mine"}), "names.json")
    assert store.get_names(served.run_id, K).names[2] == "Theirs"


def test_an_upload_that_meets_a_conflict_midway_says_what_it_saved_first(served):
    store = served.store
    base = store.get_names(served.run_id, K).version
    store.rename(served.run_id, K, 2, "Theirs", base)
    upload = names_file_text(served.run_id, K, {0: "Mine first", 2: "Mine"})
    with pytest.raises(NamesUploadConflict, match="applied 1 name.*'Theirs'") as stopped:
        apply_names_file(store, served.run_id, K, base, upload, "names.json")
    assert stopped.value.applied == 1
    assert store.get_names(served.run_id, K).names[0] == "Mine first"


def test_an_upload_for_another_k_is_refused(served):
    with pytest.raises(NamesFileError, match="names.json: it names clusters for k=4, but this view shows k=3"):
        apply_names_file(served.store, served.run_id, K, 0, names_file_text(served.run_id, 4, {0: "A"}), "names.json")


NAMES_OUTCOME = "names-io-outcome.data"
NAMES_UPLOAD = "names-io-upload.contents"


def upload_names(served, text: str, state: dict) -> dict:
    contents = "data:application/json;base64," + base64.b64encode(text.encode()).decode()
    values = {NAMES_UPLOAD: contents, "names-io-upload.filename": "team.json", "run-state.data": state}
    return dash_call(served.app, NAMES_OUTCOME, NAMES_UPLOAD, values)


def test_uploading_a_names_file_in_the_page_renames_and_moves_the_page_on(served):
    state = {"dataset_id": served.dataset.fingerprint, "run_id": served.run_id, "k": K, "names_version": 0}
    answer = upload_names(served, names_file_text(served.run_id, K, {0: "Party", 2: "Calm"}), state)
    assert "team.json: applied 2 name(s)" in json.dumps(answer)
    assert answer["run-state"]["data"]["names_version"] == 2
    assert served.store.get_names(served.run_id, K).saved == {0: "Party", 2: "Calm"}


def test_uploading_over_a_newer_name_shows_the_conflict_and_the_newer_names(served):
    state = {"dataset_id": served.dataset.fingerprint, "run_id": served.run_id, "k": K, "names_version": 0}
    served.store.rename(served.run_id, K, 1, "Theirs", 0)
    answer = upload_names(served, names_file_text(served.run_id, K, {1: "Mine"}), state)
    assert "'Theirs'" in json.dumps(answer)
    assert answer["run-state"]["data"]["names_version"] == 1
    assert served.store.get_names(served.run_id, K).names[1] == "Theirs"


def test_a_broken_upload_is_answered_in_one_line_and_changes_nothing(served):
    state = {"dataset_id": served.dataset.fingerprint, "run_id": served.run_id, "k": K, "names_version": 0}
    answer = upload_names(served, "{not json", state)
    assert "team.json: not JSON" in json.dumps(answer)
    assert "run-state" not in answer
    assert served.store.get_names(served.run_id, K).version == 0


def test_the_page_links_the_names_file_of_the_run_it_shows(served):
    shown = {"dataset_id": served.dataset.fingerprint, "run_id": served.run_id, "k": K}
    view = '{"host":"view","panel":"naming"}.data'
    answer = dash_call(served.app, "names-io-download.href", view, {view: shown})
    href = answer["names-io-download"]["href"]
    assert parse_names_file(served.client.get(href).get_data()).names == served.store.get_names(served.run_id, K).names


def test_exports_for_excel_start_with_a_byte_order_mark_and_hold_the_same_rows(served):
    query = PlaylistQuery(clusters=(1,), limit=10)
    plain_url = playlist_url(served, "playlist.csv", query)
    plain = served.client.get(plain_url).get_data()
    excel = served.client.get(plain_url + "&excel=1").get_data()
    assert not plain.startswith(b"\xef\xbb\xbf") and excel == b"\xef\xbb\xbf" + plain

    dataset_url = f"/_amc/shell/dataset.csv?run={served.run_id}&k={K}"
    whole = served.client.get(dataset_url).get_data()
    assert served.client.get(dataset_url + "&excel=1").get_data() == b"\xef\xbb\xbf" + whole


def test_the_playlist_links_offer_an_excel_copy(served):
    host = PanelHost(served.app, served.store, "playlist")
    links = playlist_links(host, host.view({"run_id": served.run_id, "k": K}), PlaylistQuery(limit=3), "Mix")
    assert links["excel"] == links["csv"] + "&excel=1"
