"""``amc serve`` and the WSGI entry for gunicorn (``gunicorn 'app:server'``).

Without ``--workers`` it is the development server (``--debug`` allowed). With ``--workers N`` it is
the production server: gunicorn with N worker processes of T threads each, debug never on. Every
worker builds its own app over the same store and the same secret key, so a user's requests may
land on any of them.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import flask
from gunicorn.app.base import BaseApplication

from analysis.dataset import DataError
from dashboard.config import Config, ConfigError
from dashboard.store import StoreUnavailable

# Uploads are parsed inside a request: a large one takes longer than gunicorn's default 30 s.
REQUEST_TIMEOUT = 180
KEEPALIVE = 75
LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amc serve",
        description="Run the dashboard. Settings come from AMC_* environment variables.",
    )
    parser.add_argument("--data", type=Path, help="a songs CSV offered in the dataset picker (default: $AMC_DATA)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default: 8050)")
    parser.add_argument("--workers", type=int, default=None,
                        help="production: serve with gunicorn and this many worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default: 4)")
    parser.add_argument("--debug", action="store_true",
                        help="development server only: Dash debug mode, reloader and in-page errors")
    return parser


def serve_main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    problem = _check_arguments(args)
    if problem:
        print(f"amc serve: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        overrides = {"data_path": args.data.resolve()} if args.data else {}
        config = Config.from_env(**overrides)
        _check_trusted_header(config, args.host)
        app = _create(config)  # in production too: a bad setting stops here with one line, not in every worker
    except (ConfigError, DataError, StoreUnavailable) as error:
        print(f"amc serve: {error}", file=sys.stderr)
        return 2
    if args.workers is None:
        app.run(host=args.host, port=args.port, debug=args.debug)
    else:
        ProductionServer(config, args).run()
    return 0


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _check_arguments(args: argparse.Namespace) -> str | None:
    if args.workers is not None and args.workers < 1:
        return "--workers must be at least 1"
    if args.threads < 1:
        return "--threads must be at least 1"
    if args.workers is not None and args.debug:
        return "--debug is for the development server only; it is never on with --workers"
    if args.debug and args.host not in LOOPBACK_HOSTS:
        # Werkzeug's debugger runs code typed into the browser: never offer it beyond this machine.
        return f"--debug serves on loopback only ({', '.join(LOOPBACK_HOSTS)}), not on {args.host}"
    return None


def _check_trusted_header(config: Config, host: str) -> None:
    """Header sign-in on an address others can reach takes the header only from named proxies."""
    if config.trusted_user_header and host not in LOOPBACK_HOSTS and config.trusted_proxies is None:
        raise ConfigError(f"AMC_TRUSTED_USER_HEADER on {host}: set AMC_TRUSTED_PROXIES to the reverse proxy's "
                          "address, or anyone who reaches the port could sign in as anyone by sending the header")


def wsgi_server() -> flask.Flask:
    return _create(Config.from_env()).server


def _create(config: Config):
    # Imported here so that `amc serve --help` answers without loading dash and the analysis.
    from dashboard.app import create_app

    return create_app(config)


class ProductionServer(BaseApplication):
    """gunicorn run from here; each worker builds its own app after the fork."""

    def __init__(self, config: Config, args: argparse.Namespace) -> None:
        self.app_config = config
        self.options = {
            "bind": f"{args.host}:{args.port}",
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": "gthread",
            "timeout": REQUEST_TIMEOUT,
            "graceful_timeout": 30,
            # Browsers reuse idle connections for a while; closing them after gunicorn's 2 s makes a
            # request on a just-closed connection fail.
            "keepalive": KEEPALIVE,
            "errorlog": "-",
            "loglevel": "info",
            "preload_app": False,  # sqlite and Redis connections must not cross a fork
            # gunicorn's management socket sits at one path per user: two servers would fight over it.
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> flask.Flask:
        return _create(self.app_config).server
