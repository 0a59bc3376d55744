"""Header sign-in against a real `amc serve --workers` process: the header counts only from the proxy."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import requests

from benchmarks.load import Server

HEADER = {"X-Forwarded-User": "mallory"}


@contextlib.contextmanager
def header_server(tmp_path, proxies: str):
    """`amc serve --workers 1` with header sign-in, taking the header from ``proxies``."""
    server = Server(tmp_path / "cache", workers=1, threads=2,
                    env={"AMC_TRUSTED_USER_HEADER": "X-Forwarded-User", "AMC_TRUSTED_PROXIES": proxies})
    server.start()
    try:
        yield server.base
    finally:
        server.stop()


def test_a_faked_header_from_outside_the_proxies_signs_nobody_in(tmp_path):
    # The test connects from loopback; naming another address as the proxy makes it "anyone else".
    with header_server(tmp_path, "10.255.0.1") as base:
        assert requests.get(base + "/_dash-layout", headers=HEADER, timeout=10).status_code == 401
        assert requests.get(base + "/", headers=HEADER, timeout=10).status_code == 401


def test_the_header_from_the_proxy_signs_in(tmp_path):
    with header_server(tmp_path, "127.0.0.1") as base:
        assert requests.get(base + "/_dash-layout", headers=HEADER, timeout=10).status_code == 200
        assert requests.get(base + "/_dash-layout", timeout=10).status_code == 401


def test_header_sign_in_on_an_open_address_without_proxies_does_not_start(tmp_path):
    env = {**os.environ, "AMC_CACHE_DIR": str(tmp_path / "cache"), "AMC_TRUSTED_USER_HEADER": "X-Forwarded-User"}
    env.pop("AMC_TRUSTED_PROXIES", None)
    finished = subprocess.run([sys.executable, "-c", "import app, sys; sys.exit(app.main())", "serve", "--host",
                               "0.0.0.0", "--port", "0", "--workers", "1"],
                              capture_output=True, text=True, env=env, timeout=120)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines()[-1].startswith("amc serve: AMC_TRUSTED_USER_HEADER on 0.0.0.0: set "
                                                               "AMC_TRUSTED_PROXIES")
