"""The request guards against a real `amc serve --workers` process with login on (issue 13's attacks)."""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlparse

import psutil
import pytest
import requests

from benchmarks.load import Server

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
