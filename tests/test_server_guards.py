"""The request guards against a real `amc serve --workers` process with login on (issue 13's attacks)."""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlparse

import psutil
import pytest
import requests

from benchmarks.browser import grow_sample
from benchmarks.load import DashUser, Server, Tally

BODY_MB = 40


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("guards") / "cache", workers=1, threads=4,
                     env={"AMC_USERS": "alice:wonder"})
    running.start()
    yield running
    running.stop()


def test_an_unsigned_40_mb_callback_is_answered_from_its_headers(server):
    address = urlparse(server.base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           + f"Content-Length: {BODY_MB * 2**20}\r\n\r\n".encode() + b"{" + b" " * 1023)
        # Only a kilobyte of the body is sent: a server that waited for the rest would never answer.
        answer = connection.recv(200)
    assert answer.split(b"\r\n")[0] in (b"HTTP/1.1 401 UNAUTHORIZED", b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE")


def test_four_unsigned_40_mb_bodies_at_once_leave_the_server_its_size(server):
    workers = psutil.Process(server.process.pid).children(recursive=True)
    before = sum(process.memory_info().rss for process in workers)
    body = b"{" + b" " * (BODY_MB * 2**20)

    def send() -> None:
        try:
            requests.post(server.base + "/_dash-update-component", data=body, timeout=60,
                          headers={"Content-Type": "application/json"})
        except requests.ConnectionError:
            pass  # the server answered and closed the connection while the body was still on its way

    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    after = sum(process.memory_info().rss for process in workers)
    assert after - before < 100 * 2**20


@pytest.mark.parametrize("body", ["[1,2]", '{"inputs":5}', '{"output": 5, "outputs": {}, "inputs": []}'])
def test_malformed_callbacks_are_one_line_400s_and_leave_no_traceback(server, body):
    answer = requests.post(server.base + "/_dash-update-component", data=body, timeout=30,
                           headers={"Content-Type": "application/json"}, auth=("alice", "wonder"))
    assert answer.status_code == 400 and answer.text.startswith("malformed callback request: ")
    assert "Traceback" not in (server.cache_dir / "server.log").read_text(encoding="utf-8", errors="replace")


def peak_and_now_mb(pid: int) -> tuple[float, float]:
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status").read().splitlines() if ":" in line)
    return int(status["VmHWM"].split()[0]) / 1024, int(status["VmRSS"].split()[0]) / 1024


def test_an_upload_of_200k_real_grown_songs_costs_the_worker_about_3x_the_file(server, tmp_path):
    data = grow_sample(200_000, tmp_path / "grown.csv").read_bytes()  # 44 MB
    (worker,) = psutil.Process(server.process.pid).children()
    user = DashUser(server.base, Tally(), ("alice", "wonder"))
    user.open_app()
    with open(f"/proc/{worker.pid}/clear_refs", "w") as reset:
        reset.write("5")  # the worker's peak starts again from what it holds now
    _, before = peak_and_now_mb(worker.pid)
    user.values["upload-accepted.data"] = user.send_file("grown.csv", data)
    loaded = str(user.fire("upload", user.callback("upload-alert.children", "upload-accepted.data"),
                           "upload-accepted.data"))
    assert "200,000 of 200,000 rows kept" in loaded
    peak, now = peak_and_now_mb(worker.pid)
    size = len(data) / 2**20
    print(f"upload of {size:.0f} MB: worker peak +{(peak - before) / size:.2f}x the file, "
          f"holding +{(now - before) / size:.2f}x after (the dataset, kept for its runs)")
    # 3.0-3.1x measured (target 3x); 33x for an upload before the upload route and the streaming loader.
    assert peak - before < 3.5 * size


def test_an_upload_of_two_million_empty_rows_is_refused_without_taking_the_memory(server, sample_csv):
    header = sample_csv.read_bytes().split(b"\n", 1)[0] + b"\n"
    data = header + (b"," * 22 + b"\r\n") * 1_900_000
    (worker,) = psutil.Process(server.process.pid).children()
    peak_before, _ = peak_and_now_mb(worker.pid)
    user = DashUser(server.base, Tally(), ("alice", "wonder"))
    user.open_app()
    user.values["upload-accepted.data"] = user.send_file("empty.csv", data)
    refused = str(user.fire("upload", user.callback("upload-alert.children", "upload-accepted.data"),
                            "upload-accepted.data"))
    assert "too short to be songs" in refused
    peak_after, now = peak_and_now_mb(worker.pid)
    print(f"upload of {len(data) / 2**20:.0f} MB: worker peak +{peak_after - peak_before:.0f} MB, now {now:.0f} MB")
    # The file goes to disk a chunk at a time and is refused from its line count: parsing took 33x before.
    assert peak_after - peak_before < 0.5 * len(data) / 2**20
