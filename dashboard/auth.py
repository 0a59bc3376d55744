"""Optional login for a whole internal server: HTTP basic auth (dash-auth) or a reverse proxy's trusted header.

When a gate is on, every route asks for it (pages, layout, callbacks, downloads). Only ``/health``
answers everyone, so that a load balancer can probe it; it shows its details to signed-in users only.
No route is added to dash-auth's public routes: doing so would also open Dash's layout route, which
lists the stored datasets.

Users come from ``AMC_USERS_FILE`` (one ``user:password`` a line; ``#`` starts a comment) or from
``AMC_USERS`` (the same pairs separated by commas). A password written as a werkzeug hash
(``scrypt:...`` or ``pbkdf2:...``, from ``werkzeug.security.generate_password_hash``) is checked as one.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import dash
import flask
from dash_auth import BasicAuth
from dash_auth.auth import Auth
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.config import ConfigError
from dashboard.guard import LoginThrottle

HEALTH_ROUTE = "/health"
OPEN_PATHS = frozenset({HEALTH_ROUTE})
HASH_PREFIXES = ("scrypt:", "pbkdf2:")
SESSION_KEY = "amc_session"
VERIFIED_KEY = "amc_verified"  # the session's proof that its Authorization header was verified
SIGN_IN_KEY = "AMC_SIGN_IN"  # Flask config: ("basic", None) or ("header", its name) while a gate is on


class AuthError(ConfigError):
    """A users list or setting the server cannot use; the message names the source and line."""


LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class AuthSettings:
    users: dict[str, str]  # user -> password or password hash; empty when basic auth is off
    trusted_header: str | None = None
    trusted_proxies: tuple[str, ...] = LOOPBACK_NETWORKS  # where the trusted header may come from

    @property
    def enabled(self) -> bool:
        return bool(self.users) or self.trusted_header is not None


def auth_settings(users_file: Path | None, users_text: str | None, trusted_header: str | None,
                  trusted_proxies: tuple[str, ...] | None = None) -> AuthSettings:
    users: dict[str, str] = {}
    if users_file is not None:
        try:
            text = users_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise AuthError(f"AMC_USERS_FILE {users_file}: cannot be read ({error})") from None
        users.update(parse_users(text.splitlines(), f"AMC_USERS_FILE {users_file}"))
    if users_text:
        users.update(parse_users(users_text.split(","), "AMC_USERS"))
    if users_file is not None and not users:
        raise AuthError(f"AMC_USERS_FILE {users_file}: names no user, so nobody could sign in")
    header = (trusted_header or "").strip() or None
    if users and header:
        raise AuthError("set either AMC_USERS/AMC_USERS_FILE or AMC_TRUSTED_USER_HEADER, not both")
    return AuthSettings(users, header, trusted_proxies or LOOPBACK_NETWORKS)


def parse_users(entries: list[str], source: str) -> dict[str, str]:
    users = {}
    for number, entry in enumerate(entries, start=1):
        text = entry.strip()
        if not text or text.startswith("#"):
            continue
        user, colon, password = text.partition(":")
        if not colon or not user.strip() or not password:
            raise AuthError(f"{source} entry {number}: expected user:password, got {_shown(text)}")
        users[user.strip()] = password
    return users


def protect(app: dash.Dash, settings: AuthSettings, throttle: LoginThrottle | None = None
            ) -> "PasswordGate | TrustedHeaderGate | None":
    """Put the configured gate in front of every route of ``app``; None when login is off."""
    if settings.users:
        gate = PasswordGate(app, settings.users, throttle)
    elif settings.trusted_header:
        gate = TrustedHeaderGate(app, settings.trusted_header, settings.trusted_proxies)
    else:
        return None
    _check_first(app, gate)
    return gate


def _check_first(app: dash.Dash, gate) -> None:
    """The gate answers before any other handler, from the request's headers alone: dash-auth's own check
    reads a callback's whole JSON body first, which let anyone make the server take in 40 MB unsigned."""

    def refuse_the_unsigned():
        return None if gate.is_authorized() else gate.login_request()

    app.server.before_request_funcs.setdefault(None, []).insert(0, refuse_the_unsigned)


class PasswordGate(BasicAuth):
    """HTTP basic auth whose password is verified once per browser session (a signed cookie holds the
    proof), with failed sign-ins throttled per address and per user."""

    def __init__(self, app: dash.Dash, users: dict[str, str], throttle: LoginThrottle | None) -> None:
        super().__init__(app, auth_func=partial(password_matches, dict(users)))
        self.throttle = throttle
        app.server.config[SIGN_IN_KEY] = ("basic", None)

    def is_authorized(self) -> bool:
        return flask.request.path in OPEN_PATHS or self.signed_in()

    def signed_in(self) -> bool:
        if "amc_signed_in" not in flask.g:  # asked several times a request: verified, or counted, once
            flask.g.amc_signed_in = self._verify()
        return flask.g.amc_signed_in

    def _verify(self) -> bool:
        header = flask.request.headers.get("Authorization", "")
        user = _basic_user(header)
        # dash-auth indexes and decodes the header unguarded: a malformed one would be a server error.
        if user is None:
            return False
        proof = hmac.new(flask.current_app.secret_key.encode(), header.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(flask.session.get(VERIFIED_KEY, ""), proof):
            return True
        address = flask.request.remote_addr or ""
        wait = self.throttle.retry_after(address, user) if self.throttle else None
        if wait is not None:
            flask.g.amc_retry_after = wait
            return False
        if not super().is_authorized():
            if self.throttle:
                self.throttle.failed(address, user)
            return False
        flask.session[VERIFIED_KEY] = proof
        return True

    def login_request(self) -> flask.Response:
        wait = flask.g.get("amc_retry_after")
        if wait is None:
            return super().login_request()
        return flask.Response(f"Too many failed sign-ins: try again in {wait} s.\n", status=429,
                              mimetype="text/plain", headers={"Retry-After": str(wait)})


class TrustedHeaderGate(Auth):
    """Trusts the user name a reverse proxy sets, from the proxy's addresses only (AMC_TRUSTED_PROXIES, by
    default loopback): anyone else who reaches the port could set the header too."""

    def __init__(self, app: dash.Dash, header: str, proxies: tuple[str, ...]) -> None:
        self.header = header
        super().__init__(app)
        app.server.config[SIGN_IN_KEY] = ("header", (header, tuple(ipaddress.ip_network(p) for p in proxies)))

    def is_authorized(self) -> bool:
        return flask.request.path in OPEN_PATHS or self.signed_in()

    def signed_in(self) -> bool:
        return signed_in_user() is not None

    def login_request(self) -> flask.Response:
        return flask.Response(f"Sign in through the company proxy (it sets the {self.header} header).",
                              status=401, mimetype="text/plain")


def password_matches(users: dict[str, str], user: str, password: str) -> bool:
    stored = users.get(user)
    if stored is None:
        # As long as a known user's check: the time taken must not tell which names exist.
        stored = _stand_in(next((p for p in users.values() if p.startswith(HASH_PREFIXES)), ""))
        _check(stored, password)
        return False
    return _check(stored, password)


def _check(stored: str, password: str) -> bool:
    if stored.startswith(HASH_PREFIXES):
        return check_password_hash(stored, password)
    return hmac.compare_digest(stored.encode("utf-8"), password.encode("utf-8"))


@cache
def _stand_in(hashed: str) -> str:
    """A hash made the way ``hashed`` was (the same method and cost), of a password nobody has."""
    if not hashed:
        return secrets.token_hex(16)
    return generate_password_hash(secrets.token_hex(16), method=hashed.split("$", 1)[0])


def signed_in_user() -> str | None:
    """The name the request signs in with while a gate is on (the gate has checked it before any view runs)."""
    kind, detail = flask.current_app.config.get(SIGN_IN_KEY, (None, None))
    if kind == "header":
        header, proxies = detail
        if not _from_one_of(flask.request.remote_addr, proxies):
            return None  # the header from anyone but the proxy names nobody
        return flask.request.headers.get(header, "").strip() or None
    if kind == "basic":
        return _basic_user(flask.request.headers.get("Authorization", ""))
    return None


def session_owner() -> str:
    """Who a run belongs to for the one-run-at-a-time rule: the signed-in user, else this browser's session."""
    user = signed_in_user()
    if user:
        return f"user:{user}"
    if SESSION_KEY not in flask.session:
        flask.session[SESSION_KEY] = secrets.token_hex(16)
    return f"session:{flask.session[SESSION_KEY]}"


def _from_one_of(address: str | None, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _basic_user(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, _ = decoded.partition(":")
    return user if colon and user else None


def _shown(text: str) -> str:
    user = text.partition(":")[0]
    return repr(user[:40]) + (" (the password part is not shown)" if ":" in text else "")
