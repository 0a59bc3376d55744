"""Scale-out for real: redis-server, an `amc worker` subprocess and two web servers that share nothing but Redis.

A run is asked for on one web server through the dashboard's own job path (Dash's CeleryManager on
the worker), its result is read from the other; a worker killed mid-run ends as a visible error.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from benchmarks.load import DashUser, Server, Tally, show_run

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.redis, pytest.mark.timeout(300)]

SLOW_K_MAX = 25  # enough k values that the run is still going when its process is killed
HEARTBEAT_AND_POLL = 6.0 + 1.0


def start_worker(env: dict, log_path: Path) -> subprocess.Popen:
    log = log_path.open("a")
    process = subprocess.Popen([sys.executable, "-c", "import app, sys; sys.exit(app.main())", "worker",
                                "--concurrency", "1", "--loglevel", "INFO"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return process


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for_worker(log_path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while "ready." not in log_path.read_text(errors="replace"):
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, "the worker did not start:\n" + log_path.read_text()[-3000:]
        time.sleep(0.2)


@pytest.fixture
def cluster(tmp_path, redis_url):
    """Two web servers with separate cache directories and one worker, all on one Redis."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "AMC_REDIS_URL": redis_url, "AMC_JOB_TIME_LIMIT": "120", "AMC_MAX_CONCURRENT_RUNS": "2"}
    worker_log = tmp_path / "worker.log"
    worker = start_worker({**env, "AMC_CACHE_DIR": str(tmp_path / "worker-cache")}, worker_log)
    servers = [Server(tmp_path / f"web-{n}", workers=1, threads=4, env=env) for n in "ab"]
    try:
        for server in servers:
            server.start()
        wait_for_worker(worker_log, worker)
        yield servers, worker, worker_log
    finally:
        for server in servers:
            server.stop()
        stop_group(worker)


def ask_for_run(user: DashUser, k_max: int = 6, seed: int = 3) -> dict:
    user.open_app()
    user.values["param-k-max.value"] = k_max
    user.values["param-seed.value"] = seed
    answer = user.fire("run", user.callback("run-request.data", "run-button.n_clicks"), "run-button.n_clicks")
    assert "run-request" in answer, answer
    return answer["run-request"]["data"]


def settle(user: DashUser) -> str:
    user.values["job-watch.data"] = False
    answer = user.fire("settle", user.callback("job-alert.children", "job-watch.data"), "job-watch.data")
    return str(answer)


def test_a_run_computed_on_a_worker_is_read_by_another_web_server(cluster):
    (web_a, web_b), _, worker_log = cluster
    user = DashUser(web_a.base, Tally(), None)

    ticket = ask_for_run(user)
    user.fire("job", user.callback("job-outcome.data", "run-request.data"), "run-request.data")

    assert user.values["job-outcome.data"]["run_id"] == ticket["run_id"]
    assert "succeeded" in worker_log.read_text()
    assert "Finished" in settle(user)
    other = DashUser(web_b.base, Tally(), None)
    other.open_app()
    other.open_link(f"?run={ticket['run_id']}&k=3")
    assert other.values["run-state.data"]["run_id"] == ticket["run_id"]
    drawn = show_run(other, ("naming",))
    assert ticket["run_id"] in str(drawn["run-summary"]) and "Cluster 2" in str(drawn)
    health = requests.get(web_b.base + "/health", timeout=10).json()
    assert health["store"]["backend"] == "RedisBackend" and health["jobs"]["backend"] == "celery"
    assert health["status"] == "ok" and health["jobs"]["workers"] == 1


def test_a_worker_killed_mid_run_ends_as_a_visible_error(cluster):
    (web_a, _), worker, _ = cluster
    user = DashUser(web_a.base, Tally(), None)
    ask_for_run(user, k_max=SLOW_K_MAX, seed=11)
    job = user.callback("job-outcome.data", "run-request.data")
    ended = threading.Event()

    def follow_the_job() -> None:
        user.fire("job", job, "run-request.data")
        ended.set()

    follower = threading.Thread(target=follow_the_job, daemon=True)
    follower.start()
    _wait_until_running(web_a.base)
    stop_group(worker)
    killed_at = time.monotonic()

    assert ended.wait(HEARTBEAT_AND_POLL + 10), "the job still looked alive long after its worker died"
    waited = time.monotonic() - killed_at
    assert waited < HEARTBEAT_AND_POLL + 5
    assert "job-outcome.data" not in user.values or user.values["job-outcome.data"] is None
    message = settle(user)
    assert "The run stopped" in message and "Try again" in message


def _wait_until_running(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(base + "/health", timeout=10).json()["jobs"]["running"] < 1:
        assert time.monotonic() < deadline, "the run never started on the worker"
        time.sleep(0.2)


def test_cancel_stops_a_run_on_the_worker(cluster):
    (web_a, _), _, worker_log = cluster
    user = DashUser(web_a.base, Tally(), None)
    ask_for_run(user, k_max=SLOW_K_MAX, seed=12)
    follower = threading.Thread(
        target=user.fire, args=("job", user.callback("job-outcome.data", "run-request.data"), "run-request.data"),
        daemon=True)
    follower.start()
    _wait_until_running(web_a.base)

    user.values["cancel-button.n_clicks"] = 1
    user.fire("cancel", user.callback("run-progress-words.children", "cancel-button.n_clicks"), "cancel-button.n_clicks")
    follower.join(timeout=HEARTBEAT_AND_POLL + 10)

    assert not follower.is_alive()
    assert "Cancelled" in settle(user)
    assert requests.get(web_a.base + "/health", timeout=10).json()["jobs"]["running"] == 0
    assert "revoked" in worker_log.read_text().lower() or "terminat" in worker_log.read_text().lower()


def test_without_a_worker_a_run_says_it_waits_and_health_is_degraded(tmp_path, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "AMC_REDIS_URL": redis_url, "AMC_JOB_TIME_LIMIT": "120"}
    server = Server(tmp_path / "web", workers=1, threads=4, env=env)
    server.start()
    try:
        health = requests.get(server.base + "/health", timeout=10).json()
        assert health["status"] == "degraded" and health["jobs"]["workers"] == 0

        user = DashUser(server.base, Tally(), None)
        ask_for_run(user)
        words = progress_words_within(user, seconds=10)
        assert "No worker is running: your run waits in the queue" in words
    finally:
        server.stop()


def progress_words_within(user: DashUser, seconds: float) -> str:
    """What the page shows beside the run's bar within ``seconds`` of asking: the job's progress polled
    as the renderer polls it."""
    entry = user.callback("job-outcome.data", "run-request.data")
    body = user._body(entry, "run-request.data")
    started = requests.post(f"{user.base}/_dash-update-component", json=body, timeout=30).json()
    handles = {"cacheKey": started["cacheKey"], "job": started["job"]}
    blank = {**body, "inputs": [{**i, "value": None} for i in body["inputs"]],
             "state": [{**s, "value": None} for s in body["state"]]}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = requests.post(f"{user.base}/_dash-update-component", params=handles, json=blank, timeout=30).json()
        shown = {key: value for key, value in answer.get("progress", {}).items() if "run-progress-words" in key}
        if shown:
            return str(shown)
        time.sleep(0.5)
    return ""
