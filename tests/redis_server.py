"""A real, private redis-server for tests: a free loopback port, a temporary directory, killed at the end."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import redis

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server(directory: Path, *extra: str) -> Iterator[str]:
    """Yield the URL of a fresh redis-server that persists nothing and listens on 127.0.0.1 only."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: `make system-deps` installs it (Debian package redis-server)")
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
               "--save", "", "--appendonly", "no", "--protected-mode", "yes", *extra]
    log = (directory / "redis.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {url} did not start (exit code {process.poll()})") from None
            time.sleep(0.05)
        finally:
            client.close()
