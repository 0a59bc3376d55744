"""What a request must show before the server spends anything on it.

* ``callback_body_limit``: a callback's body is at most ``CALLBACK_BODY_BYTES``; a larger one is answered
  413 from its length, before any of it is read.
* ``check_callback_shape``: a callback body that is not the object Dash's renderer sends gets a
  one-line 400, never a 500 with a traceback in the log.
* ``LoginThrottle``: failed sign-ins counted per address and per user name in the shared store; past
  the limit the answer is 429 with Retry-After, for every server process alike.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import flask

CALLBACK_PATH = "/_dash-update-component"
CALLBACK_BODY_BYTES = 1024 * 1024  # the largest state a page sends is the playlist's filters: a few kB


def callback_body_limit() -> Callable[[], flask.Response | None]:
    """A ``before_request`` check, run after the login's: 413 for a callback body over the limit, told by its
    length alone, before any of it is read. Uploads are not callbacks: they have a route of their own
    (``dashboard.uploads``)."""

    def check() -> flask.Response | None:
        request = flask.request
        if not request.path.endswith(CALLBACK_PATH) or (request.content_length or 0) <= CALLBACK_BODY_BYTES:
            return None
        return flask.Response(f"a callback's request is at most {CALLBACK_BODY_BYTES // 1024} kB\n", status=413,
                              mimetype="text/plain", headers={"Connection": "close"})

    return check


def check_callback_shape() -> flask.Response | None:
    """For the callback route: 400 with one line unless the body is the object the renderer sends."""
    if not flask.request.path.endswith(CALLBACK_PATH):
        return None
    body = flask.request.get_json(silent=True)
    problem = _callback_problem(body)
    if problem is None:
        return None
    return flask.Response(f"malformed callback request: {problem}\n", status=400, mimetype="text/plain")


def _callback_problem(body) -> str | None:
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if not isinstance(body.get("output"), str):
        return '"output" must be text'
    if not isinstance(body.get("outputs"), (dict, list)):
        return '"outputs" must be an object or a list'
    for part in ("inputs", "state"):
        entries = body.get(part, [])
        if not isinstance(entries, list) or not all(_is_dependency(entry) for entry in entries):
            return f'"{part}" must be a list of {{"id", "property"}} objects'
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(entry, str) for entry in changed):
        return '"changedPropIds" must be a list of text'
    return None


def _is_dependency(entry) -> bool:
    if isinstance(entry, list):  # a pattern-matching input: one entry per matched component
        return all(_is_dependency(item) for item in entry)
    return (isinstance(entry, dict) and isinstance(entry.get("id"), (str, dict))
            and isinstance(entry.get("property"), str))


class LoginThrottle:
    """Failed sign-ins per address and per user name over ``window`` seconds, in the store all processes share."""

    def __init__(self, backend, limit: int = 10, window: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self.limit = limit
        self.window = window
        self.clock = clock

    def retry_after(self, address: str, user: str | None) -> int | None:
        """Seconds until this address or user may try again; None while both are under the limit."""
        waits = [self._wait(key) for key in self._keys(address, user)]
        waits = [wait for wait in waits if wait is not None]
        return max(waits) if waits else None

    def failed(self, address: str, user: str | None) -> None:
        now = self.clock()
        with self.backend.transaction():
            for key in self._keys(address, user):
                recent = [at for at in self._failures(key) if at > now - self.window][-self.limit:]
                self.backend.set(key, json.dumps([*recent, now]).encode(), expire=self.window)

    def _wait(self, key: str) -> int | None:
        now = self.clock()
        recent = [at for at in self._failures(key) if at > now - self.window]
        if len(recent) < self.limit:
            return None
        return max(1, int(recent[-self.limit] + self.window - now) + 1)

    def _failures(self, key: str) -> list[float]:
        stored = self.backend.get(key)
        return json.loads(stored) if stored else []

    @staticmethod
    def _keys(address: str, user: str | None) -> list[str]:
        return [f"login-failures:address:{address}"] + ([f"login-failures:user:{user}"] if user else [])
