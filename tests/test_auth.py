"""Login for the whole server: every route asks for it, /health shows only its status, bad headers are refusals."""
from __future__ import annotations

import base64

import dash
import pytest
from dash import Input, Output, html
from werkzeug.security import generate_password_hash

from dashboard.auth import AuthError, auth_settings, protect, session_owner

DOWNLOAD = "/download/playlist.csv"


def tiny_app(health_stand_in: bool = True) -> dash.Dash:
    app = dash.Dash(__name__)
    app.server.secret_key = "test secret"
    app.layout = html.Div([html.Button(id="go"), html.Div(id="out")])
    app.callback(Output("out", "children"), Input("go", "n_clicks"))(lambda clicks: f"clicked {clicks}")

    @app.server.route(DOWNLOAD)
    def download():
        return "song,cluster\n"

    if health_stand_in:
        app.server.add_url_rule("/health", "health", lambda: {"status": "ok"})

    @app.server.route("/whoami")
    def whoami():
        return session_owner()

    return app


CALLBACK = {
    "output": "out.children",
    "outputs": {"id": "out", "property": "children"},
    "inputs": [{"id": "go", "property": "n_clicks", "value": 1}],
    "changedPropIds": ["go.n_clicks"],
}


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def every_route(client, headers=None) -> dict[str, int]:
    return {
        "page": client.get("/", headers=headers).status_code,
        "layout": client.get("/_dash-layout", headers=headers).status_code,
        "callback": client.post("/_dash-update-component", json=CALLBACK, headers=headers).status_code,
        "download": client.get(DOWNLOAD, headers=headers).status_code,
    }


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text("# the team\nalice:wonder:land\n\nbob:" + generate_password_hash("builder") + "\n")
    return path


def test_without_settings_nothing_is_gated():
    settings = auth_settings(None, None, None)
    app = tiny_app()

    assert not settings.enabled and protect(app, settings) is None
    assert set(every_route(app.server.test_client()).values()) == {200}


def test_basic_auth_gates_every_route_but_the_health_status(users_file):
    app = tiny_app()
    protect(app, auth_settings(users_file, None, None))
    client = app.server.test_client()

    assert every_route(client) == dict.fromkeys(("page", "layout", "callback", "download"), 401)
    assert "Basic" in client.get("/").headers["WWW-Authenticate"]
    assert client.get("/health").status_code == 200
    assert set(every_route(client, basic("alice", "wonder:land")).values()) == {200}
    assert set(every_route(client, basic("bob", "builder")).values()) == {200}  # a hashed password
    assert every_route(client, basic("bob", "wrong"))["page"] == 401
    assert every_route(client, basic("mallory", "builder"))["callback"] == 401


@pytest.mark.parametrize("header", ["Basic", "Basic !!!notbase64", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode(),
                                    "Basic " + base64.b64encode(b"\xff\xfe:x").decode()])
def test_malformed_credentials_are_refused_not_a_server_error(users_file, header):
    app = tiny_app()
    protect(app, auth_settings(users_file, None, None))

    assert app.server.test_client().get("/", headers={"Authorization": header}).status_code == 401


def test_users_from_the_environment_variable():
    app = tiny_app()
    protect(app, auth_settings(None, "alice:one, bob:two", None))
    client = app.server.test_client()

    assert client.get("/", headers=basic("bob", "two")).status_code == 200
    assert client.get("/", headers=basic("bob", "one")).status_code == 401


def test_a_trusted_header_from_the_proxy_signs_in():
    app = tiny_app()
    protect(app, auth_settings(None, None, "X-Forwarded-User"))
    client = app.server.test_client()

    assert every_route(client) == dict.fromkeys(("page", "layout", "callback", "download"), 401)
    assert "X-Forwarded-User" in client.get("/").get_data(as_text=True)
    assert set(every_route(client, {"X-Forwarded-User": "alice"}).values()) == {200}
    assert client.get("/whoami", headers={"X-Forwarded-User": "alice"}).get_data(as_text=True) == "user:alice"
    assert client.get("/", headers={"X-Forwarded-User": "  "}).status_code == 401


def test_the_trusted_header_from_anyone_but_the_proxy_is_refused():
    app = tiny_app()
    protect(app, auth_settings(None, None, "X-Forwarded-User", ("10.0.0.5/32",)))
    from_proxy = app.server.test_client()
    from_proxy.environ_base["REMOTE_ADDR"] = "10.0.0.5"
    elsewhere = app.server.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.7"

    assert set(every_route(from_proxy, {"X-Forwarded-User": "alice"}).values()) == {200}
    assert every_route(elsewhere, {"X-Forwarded-User": "mallory"}) == dict.fromkeys(
        ("page", "layout", "callback", "download"), 401)
    # Loopback is trusted only while no proxy is named.
    assert every_route(app.server.test_client(), {"X-Forwarded-User": "mallory"})["layout"] == 401


def test_without_login_each_browser_session_is_its_own_owner():
    app = tiny_app()
    first, second = app.server.test_client(), app.server.test_client()

    mine = first.get("/whoami").get_data(as_text=True)
    assert mine.startswith("session:")
    assert first.get("/whoami").get_data(as_text=True) == mine
    assert second.get("/whoami").get_data(as_text=True) != mine
    # without a gate a claimed name means nothing
    assert first.get("/whoami", headers=basic("alice", "x")).get_data(as_text=True) == mine


def test_signed_in_users_own_their_runs_across_browsers(users_file):
    app = tiny_app()
    protect(app, auth_settings(users_file, None, None))

    answers = {app.server.test_client().get("/whoami", headers=basic("alice", "wonder:land")).get_data(as_text=True)
               for _ in range(2)}
    assert answers == {"user:alice"}


@pytest.mark.parametrize(
    ("file_text", "users", "header", "message"),
    [
        ("alice\n", None, None, r"users.txt entry 1: expected user:password, got 'alice'"),
        ("ok:fine\n:secret\n", None, None, r"entry 2: expected user:password, got ''"),
        ("bob:\n", None, None, r"got 'bob' \(the password part is not shown\)"),
        ("# nobody\n", None, None, "names no user"),
        (None, "alice:x,carol", None, "AMC_USERS entry 2"),
        (None, "alice:x", "X-User", "not both"),
    ],
)
def test_unusable_settings_are_one_line_messages(tmp_path, file_text, users, header, message):
    path = None
    if file_text is not None:
        path = tmp_path / "users.txt"
        path.write_text(file_text)
    with pytest.raises(AuthError, match=message):
        auth_settings(path, users, header)


def test_a_missing_users_file_is_named(tmp_path):
    with pytest.raises(AuthError, match="missing.txt: cannot be read"):
        auth_settings(tmp_path / "missing.txt", None, None)

