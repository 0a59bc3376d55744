"""A server for a team: production arguments, one run per session, errors as words with the traceback in the log."""
from __future__ import annotations

import base64
import dataclasses
import json
import logging

import pytest
from dash import Input, Output, html
from dash_client import dash_call
from test_app_layout import FORM_DEFAULTS

from analysis.dataset import load_csv
from dashboard import ids
from dashboard.app import create_app
from dashboard.config import Config
from dashboard.limits import RunQueue
from dashboard.panels.registry import Panel
from dashboard.server import serve_main
from dashboard.store import DiskcacheBackend, StoreFull
from dashboard.worker import worker_main


@pytest.fixture
def config(tmp_path):
    return Config.from_env({}, cache_dir=tmp_path / "cache", max_concurrent_runs=1)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "2", "--debug"], "--debug is for the development server only"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--workers", "2", "--threads", "0"], "--threads must be at least 1"),
        (["--host", "0.0.0.0", "--debug"], "--debug serves on loopback only"),
    ],
)
def test_production_arguments_are_checked_before_anything_starts(argv, message, capsys):
    assert serve_main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_login_settings_stop_the_server_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AMC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AMC_USERS", "alice")

    assert serve_main(["--workers", "2"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == "amc serve: AMC_USERS entry 1: expected user:password, got 'alice'"


def run_click(app, demo_id, client):
    values = {f"{ids.DATASET_PICKER}.value": demo_id, f"{ids.RUN_BUTTON}.n_clicks": 1, **FORM_DEFAULTS}
    return dash_call(app, f"{ids.RUN_REQUEST}.data", f"{ids.RUN_BUTTON}.n_clicks", values, client=client)


def test_a_session_runs_one_run_at_a_time_and_sees_its_place(config, demo_csv):
    app = create_app(config, panels=[])
    demo_id = load_csv(demo_csv).fingerprint
    alice, bob = app.server.test_client(), app.server.test_client()

    first = run_click(app, demo_id, alice)[ids.RUN_REQUEST]["data"]
    again = run_click(app, demo_id, alice)
    bobs = run_click(app, demo_id, bob)[ids.RUN_REQUEST]["data"]

    assert ids.RUN_REQUEST not in again
    assert "One run at a time" in json.dumps(again[ids.JOB_ALERT]) and "waiting at place 1" in json.dumps(again)
    assert app_queue_place(config, bobs["ticket"]) == 2 and app_queue_place(config, first["ticket"]) == 1


def app_queue_place(config, ticket):
    return RunQueue(DiskcacheBackend(config.jobs_dir), config.max_concurrent_runs).place(ticket)


def failing_panel(error: Exception) -> Panel:
    def register(host):
        @host.callback(Output("boom-out", "children"), Input("boom", "n_clicks"), prevent_initial_call=True)
        def explode(_clicks):
            raise error

        def explode_download():
            raise error

        host.route("boom.csv", explode_download)

    return Panel(name="boom", title="Boom", needs=frozenset(), layout=lambda view: html.Div(), register=register)


def test_an_unforeseen_error_shows_words_and_logs_the_traceback_only(config, caplog):
    app = create_app(config, panels=[failing_panel(KeyError("secret internals"))])

    with caplog.at_level(logging.ERROR, logger="dashboard.app"):
        answer = json.dumps(dash_call(app, "boom-out.children", "boom.n_clicks", {"boom.n_clicks": 1}))

    assert "something went wrong on the server" in answer
    assert "secret internals" not in answer and "Traceback" not in answer
    [record] = [r for r in caplog.records if r.name == "dashboard.app"]
    reference = record.getMessage().split("reference ")[1].rstrip(")")
    assert reference in answer and record.exc_info[0] is KeyError


def test_a_full_store_is_named_to_the_user(config):
    app = create_app(config, panels=[failing_panel(StoreFull("the results store in /x is full"))])

    answer = json.dumps(dash_call(app, "boom-out.children", "boom.n_clicks", {"boom.n_clicks": 1}))

    assert "the results store in /x is full" in answer


def test_a_download_that_meets_a_full_store_answers_in_one_line(config):
    app = create_app(config, panels=[failing_panel(StoreFull("the results store in /x is full"))])

    answer = app.server.test_client().get("/_amc/boom/boom.csv")

    assert answer.status_code == 503
    assert answer.get_data(as_text=True) == "the results store in /x is full\n"


def test_login_guards_the_real_app_and_its_health_details(config, tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("alice:wonderland\n")
    app = create_app(dataclasses.replace(config, users_file=users), panels=[])
    client = app.server.test_client()
    signed_in = {"Authorization": "Basic " + base64.b64encode(b"alice:wonderland").decode()}

    assert client.get("/").status_code == 401 and client.get("/_dash-layout").status_code == 401
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/", headers=signed_in).status_code == 200
    assert client.get("/health", headers=signed_in).get_json()["jobs"]["backend"] == "diskcache"


def test_a_worker_needs_redis_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AMC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("AMC_REDIS_URL", raising=False)

    assert worker_main([]) == 2
    assert "AMC_REDIS_URL is not set" in capsys.readouterr().err
