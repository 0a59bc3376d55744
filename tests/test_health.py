"""/health over real stores: the status for everyone, details for signed-in users, 503 when the store is gone."""
from __future__ import annotations

import base64

import pytest
from redis_server import free_port

from dashboard.auth import auth_settings, protect
from dashboard.health import PROBE_PREFIX, add_health_route
from dashboard.limits import RunQueue
from dashboard.redis_backend import RedisBackend
from dashboard.store import DiskcacheBackend
from test_auth import tiny_app


@pytest.fixture
def backend(tmp_path):
    backend = DiskcacheBackend(tmp_path / "store")
    yield backend
    backend.close()


def health_app(backend, queue, gate_settings=None):
    app = tiny_app(health_stand_in=False)
    gate = protect(app, gate_settings) if gate_settings else None
    add_health_route(app.server, backend, queue, "diskcache", gate.signed_in if gate else None)
    return app.server.test_client()


def test_reports_store_and_queue(backend):
    queue = RunQueue(backend, limit=2)
    for ticket in "abc":
        queue.join(ticket, ticket)
        queue.try_start(ticket)

    answer = health_app(backend, queue).get("/health")

    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "ok"
    assert body["store"] == {"backend": "DiskcacheBackend", "reachable": True, "writable": True}
    assert body["jobs"] == {"backend": "diskcache", "limit": 2, "running": 2, "queued": 1}


def test_details_only_for_signed_in_users(backend):
    client = health_app(backend, RunQueue(backend, limit=1), auth_settings(None, "alice:secret", None))
    good = {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}

    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/health", headers={"Authorization": "Basic bad"}).get_json() == {"status": "ok"}
    assert "store" in client.get("/health", headers=good).get_json()
    assert client.get("/", headers=good).status_code == 200 and client.get("/").status_code == 401


def test_an_unreachable_store_is_503_with_the_reason():
    nowhere = RedisBackend(f"redis://127.0.0.1:{free_port()}/0")

    answer = health_app(nowhere, RunQueue(nowhere, limit=1)).get("/health")

    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "unavailable"
    assert body["store"]["reachable"] is False and "cannot be reached" in body["store"]["error"]
    assert "cannot be reached" in body["jobs"]["error"]


def test_the_store_probe_leaves_no_lasting_key(backend):
    health_app(backend, RunQueue(backend, limit=1)).get("/health")
    probes = [key for key in backend.cache.iterkeys() if str(key).startswith(PROBE_PREFIX)]
    assert probes, "the probe wrote nothing"
    assert all(backend.cache.get(key, expire_time=True)[1] is not None for key in probes)
