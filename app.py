"""Entry points: the ``amc`` command and the WSGI ``server`` for gunicorn (``gunicorn app:server``)."""
from __future__ import annotations

import sys

USAGE = """usage: amc COMMAND [options]

commands:
  cluster   cluster a CSV and write clustered.csv, summary.json and report.html
  assign    put new songs into the named clusters of an earlier 'amc cluster' run
  serve     run the dashboard
  worker    run a Celery worker for background clustering jobs (needs AMC_REDIS_URL)

'amc COMMAND --help' describes each command."""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "cluster":
        from analysis.cli import cluster_main

        return cluster_main(rest)
    if command == "assign":
        from analysis.cli import assign_main

        return assign_main(rest)
    if command == "serve":
        from dashboard.server import serve_main

        return serve_main(rest)
    if command == "worker":
        from dashboard.worker import worker_main

        return worker_main(rest)
    print(f"amc: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


def __getattr__(name: str):
    # Created on first use so that `amc cluster` never pays for importing dash.
    if name == "server":
        from dashboard.server import wsgi_server

        return wsgi_server()
    raise AttributeError(name)


if __name__ == "__main__":
    if len(sys.argv) == 1:
        sys.exit(main(["serve"]))
    sys.exit(main())
