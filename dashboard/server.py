"""``amc serve`` and the WSGI entry for gunicorn (``gunicorn 'app:server'``)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import flask

from analysis.dataset import DataError
from dashboard.config import Config, ConfigError


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amc serve",
        description="Run the dashboard (development server). Settings come from AMC_* environment variables.",
    )
    parser.add_argument("--data", type=Path, help="a songs CSV offered in the dataset picker (default: $AMC_DATA)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default: 8050)")
    parser.add_argument("--debug", action="store_true", help="Dash debug mode: reloader and in-page errors")
    return parser


def serve_main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        overrides = {"data_path": args.data.resolve()} if args.data else {}
        app = _create(Config.from_env(**overrides))
    except (ConfigError, DataError) as error:
        print(f"amc serve: {error}", file=sys.stderr)
        return 2
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


def wsgi_server() -> flask.Flask:
    return _create(Config.from_env()).server


def _create(config: Config):
    # Imported here so that `amc serve --help` answers without loading dash and the analysis.
    from dashboard.app import create_app

    return create_app(config)
