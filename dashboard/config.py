"""Server settings, read once from environment variables (every server process reads the same)."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping


class ConfigError(ValueError):
    """An environment variable holds a value the server cannot use; the message names it."""


@dataclass(frozen=True)
class Config:
    cache_dir: Path  # shared by every server process: results store and background jobs
    max_upload_mb: int = 50
    job_time_limit: int = 600  # seconds a clustering run may take before it is stopped
    data_path: Path | None = None  # a CSV offered in the dataset picker, given at start-up
    redis_url: str | None = None
    max_concurrent_runs: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_parses: int = 2  # uploads parsed at once on this server (AMC_MAX_PARSES)
    secret_key: str | None = field(default=None, repr=False)  # else one is made once and kept in the store
    users_file: Path | None = None  # `user:password` lines for HTTP basic auth
    users: str | None = field(default=None, repr=False)  # the same pairs, comma-separated
    trusted_user_header: str | None = None  # a reverse proxy's header naming the signed-in user
    # Addresses the header is taken from (AMC_TRUSTED_PROXIES, comma-separated addresses or networks);
    # None: not set, which means loopback only.
    trusted_proxies: tuple[str, ...] | None = None

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def jobs_dir(self) -> Path:
        return self.cache_dir / "jobs"

    @property
    def parse_slots_dir(self) -> Path:
        return self.cache_dir / "parse-slots"

    @property
    def uploads_dir(self) -> Path:
        return self.cache_dir / "uploads"

    @property
    def store_dir(self) -> Path:
        return self.cache_dir / "store"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Config":
        env = os.environ if environ is None else environ
        data = env.get("AMC_DATA")
        config = cls(
            cache_dir=Path(env.get("AMC_CACHE_DIR") or Path.cwd() / ".amc-cache").resolve(),
            max_upload_mb=_positive_int(env, "AMC_MAX_UPLOAD_MB", 50),
            job_time_limit=_positive_int(env, "AMC_JOB_TIME_LIMIT", 600),
            data_path=Path(data).resolve() if data else None,
            redis_url=env.get("AMC_REDIS_URL") or None,
            max_concurrent_runs=_positive_int(env, "AMC_MAX_CONCURRENT_RUNS", os.cpu_count() or 1),
            max_parses=_positive_int(env, "AMC_MAX_PARSES", 2),
            secret_key=env.get("AMC_SECRET_KEY") or None,
            users_file=Path(env["AMC_USERS_FILE"]).resolve() if env.get("AMC_USERS_FILE") else None,
            users=env.get("AMC_USERS") or None,
            trusted_user_header=env.get("AMC_TRUSTED_USER_HEADER") or None,
            trusted_proxies=_networks(env.get("AMC_TRUSTED_PROXIES")),
        )
        return replace(config, **overrides)


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a whole number") from None
    if value < 1:
        raise ConfigError(f"{name}={text!r} must be at least 1")
    return value


def _networks(text: str | None) -> tuple[str, ...] | None:
    """AMC_TRUSTED_PROXIES as normalised networks ("10.0.0.5" is 10.0.0.5/32); None when it is not set."""
    if text is None or not text.strip():
        return None
    networks = []
    for part in (part.strip() for part in text.split(",")):
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(f"AMC_TRUSTED_PROXIES: {part!r} is not an IP address or network") from None
    return tuple(networks)
