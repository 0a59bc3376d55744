"""What a request must show before the server spends on it: the login from headers alone, a callback body
within its limit and of the renderer's shape, passwords verified once a session, failed sign-ins throttled."""
from __future__ import annotations

import io
import json

import pytest
from test_auth import CALLBACK, basic, tiny_app
from werkzeug.security import generate_password_hash

from dashboard import auth
from dashboard.auth import auth_settings, protect
from dashboard.config import Config
from dashboard.guard import CALLBACK_BODY_BYTES, LoginThrottle
from dashboard.store import DiskcacheBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def throttle(tmp_path):
    return LoginThrottle(DiskcacheBackend(tmp_path / "store"), limit=3, window=60, clock=Clock())


def gated(users: dict[str, str], throttle=None):
    app = tiny_app()
    protect(app, auth_settings(None, ",".join(f"{u}:{p}" for u, p in users.items()), None), throttle)
    from dashboard.guard import check_callback_shape

    app.server.before_request_funcs.setdefault(None, []).insert(1, check_callback_shape)
    return app


def test_an_unsigned_callback_is_refused_without_its_body_being_read():
    app = gated({"alice": "wonder"})
    body = json.dumps({**CALLBACK, "pad": "x" * (3 * CALLBACK_BODY_BYTES)})
    read = []
    stream = _CountingStream(body.encode(), read)
    answer = app.server.test_client().post("/_dash-update-component", input_stream=stream,
                                           content_type="application/json", content_length=len(body))
    assert answer.status_code == 401
    assert sum(read) == 0  # not one byte of the body


@pytest.mark.parametrize(("body", "problem"), [
    ("[1, 2]", "the body is not a JSON object"),
    ('{"inputs": 5}', '"output" must be text'),
    ('{"output": 5, "outputs": {}, "inputs": []}', '"output" must be text'),
    ('{"output": "out.children", "outputs": {}, "inputs": 5}', '"inputs" must be a list'),
    ('{"output": "out.children", "outputs": {}, "inputs": [{"id": 5, "property": "n"}]}', '"inputs" must be a list'),
    ('{"output": "out.children", "outputs": {}, "inputs": [], "changedPropIds": [3]}', '"changedPropIds"'),
    ("not json at all", "the body is not a JSON object"),
])
def test_a_malformed_callback_gets_one_line_400_not_a_server_error(body, problem):
    app = gated({"alice": "wonder"})
    answer = app.server.test_client().post("/_dash-update-component", data=body, content_type="application/json",
                                           headers=basic("alice", "wonder"))
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert text.startswith("malformed callback request: ") and problem in text and text.count("\n") == 1


def test_a_well_formed_callback_still_works():
    answer = gated({"alice": "wonder"}).server.test_client().post(
        "/_dash-update-component", json=CALLBACK, headers=basic("alice", "wonder"))
    assert answer.status_code == 200 and "clicked 1" in answer.get_data(as_text=True)


def test_a_hashed_password_is_verified_once_a_session(monkeypatch):
    app = gated({"alice": generate_password_hash("wonder", method="pbkdf2:sha256:1000")})
    checks = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda *args: checks.append(1) or real(*args))
    browser = app.server.test_client()
    for _ in range(5):
        assert browser.get("/", headers=basic("alice", "wonder")).status_code == 200
    assert len(checks) == 1
    # Another password in the same session is verified again, and fails.
    assert browser.get("/", headers=basic("alice", "wrong")).status_code == 401
    assert len(checks) == 2


def test_an_unknown_user_costs_the_same_check_as_a_known_one(monkeypatch):
    users = {"alice": generate_password_hash("wonder", method="pbkdf2:sha256:1000")}
    methods = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda stored, password: methods.append(stored.split("$")[0])
                        or real(stored, password))
    assert not auth.password_matches(users, "alice", "nope")
    assert not auth.password_matches(users, "mallory", "nope")
    assert methods == ["pbkdf2:sha256:1000", "pbkdf2:sha256:1000"]


def test_failed_sign_ins_are_throttled_per_address_and_per_user(throttle):
    app = gated({"alice": "wonder"}, throttle)
    first, second = app.server.test_client(), app.server.test_client()
    second.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    for _ in range(3):
        assert first.get("/", headers=basic("alice", "guess")).status_code == 401
    refused = first.get("/", headers=basic("alice", "wonder"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) == 61
    # The same user from another address is held too; another user from that address is not.
    assert second.get("/", headers=basic("alice", "wonder")).status_code == 429
    throttle.clock.now += 61
    assert first.get("/", headers=basic("alice", "wonder")).status_code == 200


def test_every_callback_body_over_the_limit_is_refused_the_upload_s_too(tmp_path):
    from dashboard.app import create_app

    app = create_app(Config.from_env({}, cache_dir=tmp_path / "cache"), panels=[])
    client = app.server.test_client()
    client.get("/")
    big = {**CALLBACK, "pad": "x" * (CALLBACK_BODY_BYTES + 1)}
    assert client.post("/_dash-update-component", json=big).status_code == 413
    # Files have a route of their own: a callback never carries one.
    upload = {"output": "upload-alert.children", "pad": "x" * (CALLBACK_BODY_BYTES + 1)}
    assert client.post("/_dash-update-component", json=upload).status_code == 413


class _CountingStream(io.BytesIO):
    """The body as a stream that notes every byte read from it."""

    def __init__(self, data: bytes, read: list[int]) -> None:
        super().__init__(data)
        self.read_sizes = read

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_sizes.append(len(chunk))
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.read_sizes.append(len(chunk))
        return chunk

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self.read_sizes.append(count)
        return count
