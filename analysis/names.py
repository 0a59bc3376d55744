"""Cluster names: the rule a name follows, and the names file the dashboard downloads and ``amc cluster --names`` reads.

The file is JSON: ``{"run_id": "...", "k": 4, "names": {"0": "Party", "1": "Calm"}}``. It may name
only some clusters; ``run_id`` says where it came from and is not required to match (the same
naming can serve another run at the same k).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from analysis.limits import CLUSTER_NAME_MAX

MAX_NAMES_FILE_CHARS = 200_000


class NamesFileError(ValueError):
    """A names file that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class NamesFile:
    run_id: str | None
    k: int
    names: dict[int, str]  # cluster -> clean name, only the clusters the file names


# Characters that would hide or disguise what a name says: controls (NUL included), bidirectional
# overrides and isolates, and zero-width characters. A name is text a team reads; these are refused.
HIDDEN_CHARACTERS = frozenset(
    [*map(chr, range(0x00, 0x20)), "\x7f", *map(chr, range(0x80, 0xA0)),
     "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff",
     *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
)


def clean_name(name: str) -> str:
    """The name as stored: runs of spaces become one space, trimmed; raises ValueError when unusable."""
    # Line breaks and tabs are whitespace: they become one space like any run of spaces.
    hidden = next((c for c in str(name) if c in HIDDEN_CHARACTERS and c not in "\t\n\r\x0b\x0c"), None)
    if hidden is not None:
        raise ValueError(f"a cluster name cannot hold the invisible or control character U+{ord(hidden):04X}")
    text = " ".join(str(name).split())
    if not text:
        raise ValueError("a cluster name cannot be empty")
    if len(text) > CLUSTER_NAME_MAX:
        raise ValueError(f"a cluster name has at most {CLUSTER_NAME_MAX} characters, this one has {len(text)}")
    return text


def names_file_text(run_id: str, k: int, names: Mapping[int, str]) -> str:
    payload = {"run_id": run_id, "k": k, "names": {str(c): names[c] for c in sorted(names)}}
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def parse_names_file(text: str | bytes, source: str = "names file") -> NamesFile:
    """Read and check a names file; every problem raises ``NamesFileError`` naming ``source``."""
    try:
        return _parse(text)
    except NamesFileError as error:
        raise NamesFileError(f"{source}: {error}") from None


def _parse(text: str | bytes) -> NamesFile:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise NamesFileError(f"not UTF-8 text (byte {error.start})") from None
    if len(text) > MAX_NAMES_FILE_CHARS:
        raise NamesFileError(f"too large for a names file ({len(text):,} characters)")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        raise NamesFileError(f"not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(payload, dict):
        raise NamesFileError('expected an object like {"k": 4, "names": {"0": "Party"}}')
    k = payload.get("k")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise NamesFileError(f'"k" must be a whole number of clusters, got {k!r}')
    run_id = payload.get("run_id")
    if run_id is not None and not isinstance(run_id, str):
        raise NamesFileError(f'"run_id" must be text, got {run_id!r}')
    names = payload.get("names")
    if not isinstance(names, dict):
        raise NamesFileError('"names" must be an object of cluster number -> name')
    return NamesFile(run_id=run_id, k=k, names=_checked_names(names, k))


def _checked_names(names: dict, k: int) -> dict[int, str]:
    checked: dict[int, str] = {}
    for key, name in names.items():
        if not (key.isascii() and key.isdigit()) or key != str(int(key)) or int(key) >= k:
            raise NamesFileError(f"cluster {key!r} is not one of 0..{k - 1}")
        if not isinstance(name, str):
            raise NamesFileError(f"the name of cluster {key} must be text, got {name!r}")
        try:
            checked[int(key)] = clean_name(name)
        except ValueError as error:
            raise NamesFileError(f"cluster {key}: {error}") from None
    repeated = first_repeated_name(checked)
    if repeated:
        first, second = repeated
        raise NamesFileError(f"clusters {first} and {second} are both named {checked[second]!r}")
    return checked


def first_repeated_name(names: dict[int, str]) -> tuple[int, int] | None:
    """The first two clusters, in cluster order, whose names are equal ignoring case; None when all differ."""
    seen: dict[str, int] = {}
    for cluster, name in sorted(names.items()):
        other = seen.setdefault(name.casefold(), cluster)
        if other != cluster:
            return other, cluster
    return None
