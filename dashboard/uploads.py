"""An upload arrives as a POST of its own bytes (``/_amc/upload``), written to the server's disk a
megabyte at a time; the callback that reads it is given a token naming that file, never the bytes.

Sent inside a callback, a file cost the server its base64 text in the request, again in the parsed
JSON and once more decoded, before the loader read it: 3.7x its size before parsing began. Here the
route holds one chunk, refuses a body past the upload limit as soon as it is past it, and the loader
reads the file from disk. A file is read once, then removed; files nobody read are removed after
``UNREAD_UPLOAD_SECONDS``.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import time
from pathlib import Path

import dash
import flask

UPLOAD_PATH = "_amc/upload"
CHUNK_BYTES = 1024 * 1024
TOKEN = re.compile(r"[0-9a-f]{32}")
UNREAD_UPLOAD_SECONDS = 3600


class UploadGone(LookupError):
    """The token names no waiting upload: malformed, already read, or removed as stale."""


def register_upload_route(app, config) -> None:
    """``POST <prefix>_amc/upload``: the body is the file; the answer ``{"upload": token, "bytes": n}``, or
    a one-line 413 past ``config.max_upload_bytes``."""
    rule = app.config.routes_pathname_prefix + UPLOAD_PATH
    app.server.add_url_rule(rule, endpoint="amc_upload", view_func=lambda: receive(config), methods=["POST"])


def upload_url() -> str:
    """The route's link as the page being drawn must ask for it, with the app's URL prefix."""
    return dash.get_app().config.requests_pathname_prefix + UPLOAD_PATH


def receive(config) -> flask.Response:
    limit = config.max_upload_bytes
    too_large = flask.Response(f"more than the upload limit of {config.max_upload_mb} MB\n", status=413,
                               mimetype="text/plain")
    if (flask.request.content_length or 0) > limit:
        return too_large
    directory = config.uploads_dir
    directory.mkdir(parents=True, exist_ok=True)
    _remove_unread(directory)
    token = secrets.token_hex(16)
    path = directory / token
    try:
        size = _write_body(path, limit)
    except OSError as error:
        path.unlink(missing_ok=True)
        if error.errno != errno.ENOSPC:
            raise
        return flask.Response("the server's disk is full; the file was not kept\n", status=507, mimetype="text/plain")
    if size > limit:
        path.unlink()
        return too_large
    return flask.jsonify(upload=token, bytes=size)


def _write_body(path: Path, limit: int) -> int:
    """The request's body written to ``path``, stopping once past ``limit``; the bytes read."""
    size = 0
    with path.open("xb") as out:
        while chunk := flask.request.stream.read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    return size


@contextlib.contextmanager
def uploaded_file(config, token: str):
    """The path of the upload ``token`` names, removed once the block is done with it; UploadGone if none."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise UploadGone("the upload arrived damaged (no valid upload token); try again")
    path = config.uploads_dir / token
    if not path.exists():
        raise UploadGone("the upload was already read or has expired; upload the file again")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _remove_unread(directory: Path) -> None:
    stale = time.time() - UNREAD_UPLOAD_SECONDS
    for entry in os.scandir(directory):
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < stale:
                os.unlink(entry.path)
