"""``amc worker``: a Celery worker that runs the dashboard's clustering jobs (needs ``AMC_REDIS_URL``).

Dash names a background callback's Celery task after the callback's code and registers it when the
app is built, so the worker builds the same app first: then it knows every task the web servers send.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys

from analysis.dataset import DataError
from dashboard.celery_app import keep_worker_alive
from dashboard.config import Config, ConfigError


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amc worker",
        description="Run a Celery worker for the dashboard's clustering jobs. Settings come from AMC_* "
                    "environment variables; AMC_REDIS_URL names the Redis server shared with the web servers.",
    )
    parser.add_argument("--concurrency", type=int, default=None,
                        help="runs this worker computes at once (default: $AMC_MAX_CONCURRENT_RUNS, else the cores)")
    parser.add_argument("--loglevel", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--hostname", default=None, help="the worker's Celery node name (default: celery@<host>)")
    return parser


def worker_main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        print("amc worker: --concurrency must be at least 1", file=sys.stderr)
        return 2
    try:
        config = Config.from_env()
        if not config.redis_url:
            raise ConfigError("AMC_REDIS_URL is not set: a worker takes its jobs from Redis (e.g. redis://127.0.0.1:6379/0)")
        celery = build_worker_app(config)
    except (ConfigError, DataError) as error:
        print(f"amc worker: {error}", file=sys.stderr)
        return 2
    command = ["worker", f"--loglevel={args.loglevel}", f"--concurrency={args.concurrency or config.max_concurrent_runs}",
               "--pool=prefork"]
    if args.hostname:
        command.append(f"--hostname={args.hostname}")
    keep_worker_alive(celery.backend.client, f"{socket.gethostname()}:{os.getpid()}")
    celery.worker_main(command)
    return 0


def build_worker_app(config: Config):
    """Build the dashboard (registering its background callbacks as tasks) and return its Celery app."""
    from dashboard.app import create_app
    from dashboard.celery_app import make_celery

    create_app(config)
    return make_celery(config)
