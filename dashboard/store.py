"""The results store: datasets, finished runs and the team's cluster names, shared by every process.

Values are pickled before they are written and written with one ``set``, so a reader sees a run
whole or not at all. Datasets, batches and runs, whose size grows with the songs, are pickled
straight into a file and read back from one on the disk backend, never held as one bytes object
beside the value (that took 6x an uploaded file's size at its peak). Runs are immutable (the run id is a hash of data, parameters and code), so
the in-process memo never goes stale. Names change, so they are read fresh every time and
changed only inside a backend transaction: of two processes saving at once, one wins and the
other sees the newer version and gets a conflict.

No dash import here: a Celery worker uses this module too.
"""
from __future__ import annotations

import errno
import hashlib
import os
import pickle
import secrets
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Protocol

import diskcache
import numpy as np

from analysis.dataset import Dataset
from analysis.names import clean_name, first_repeated_name
from analysis.result import RunParams, RunResult

DATASET_INDEX_KEY = "datasets"
RUN_INDEX_PREFIX = "runs:"  # then a dataset id: the index of the runs stored for that dataset
SECRET_KEY_FILE = "secret_key"
REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")


SELECTION_ID_CHARS = 20
SELECTION_LABEL_MAX = 200
SELECTION_DAYS = 30  # a selection's link keeps working this long after it was last made
ARTIFACT_DAYS = 30
HISTORY_KEPT = 500  # name changes kept per run and k: the page shows the latest 50, then more on request
AUTHOR_MAX = 60


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or will not do what is asked; the message says which, in one line."""


class StoreFull(StoreUnavailable):
    """The store refused a write for lack of room; everything stored before is intact."""


@dataclass(frozen=True, eq=False)
class SongSelection:
    """Songs chosen by hand: ``rows`` are ascending positions in the frame of dataset ``dataset_id``."""

    selection_id: str
    dataset_id: str
    rows: np.ndarray
    label: str  # what the songs are, for the playlist's source line: "lasso on the PCA scatter at k=6"


class UnknownRun(LookupError):
    """The store holds no run with this id (or the run has no such k)."""


class InvalidName(ValueError):
    """A cluster name that cannot be saved; the message says why in one line."""


class NameConflict(Exception):
    """A save based on an outdated version; ``their_name`` is the name someone else saved meanwhile."""

    def __init__(self, cluster: int, their_name: str, current: "NameSheet") -> None:
        self.cluster = cluster
        self.their_name = their_name
        self.current = current
        super().__init__(
            f"someone else renamed cluster {cluster} to {their_name!r} while you were editing "
            f"(now version {current.version}); your name was not saved"
        )


@dataclass(frozen=True)
class DatasetInfo:
    dataset_id: str
    name: str
    rows: int
    added_at: float
    added_by: str = ""  # the signed-in user who uploaded it; "" without login


@dataclass(frozen=True)
class RunInfo:
    """One stored run as the run history lists it; who started it lives here, not in the immutable run."""

    run_id: str
    dataset_id: str
    params: RunParams
    recommended_k: int
    chosen_k: int
    stored_at: float  # unix time the run was first stored
    started_by: str = ""  # the signed-in user who started it; "" without login


@dataclass(frozen=True)
class NameChange:
    version: int  # the sheet's version after this change
    cluster: int
    old: str
    new: str
    at: float  # unix time
    author: str = ""  # the login name, or the display name the user gave; "" when nobody said


@dataclass(frozen=True)
class NameSheet:
    version: int
    names: dict[int, str]  # every cluster: saved name, else the suggested one
    saved: dict[int, str]
    history: tuple[NameChange, ...]  # the latest HISTORY_KEPT changes, oldest first


@dataclass(frozen=True)
class _NameRecord:
    """What is stored per (run_id, k); suggested names come from the run itself."""

    version: int = 0
    saved: dict[int, str] = field(default_factory=dict)
    history: tuple[NameChange, ...] = ()  # the latest HISTORY_KEPT


def _changed_since(record: _NameRecord, cluster: int, base_version: int) -> bool:
    """Whether the cluster's name changed after ``base_version``; when the kept history no longer reaches
    back that far, it may have, and the save is refused as a conflict."""
    if base_version >= record.version:
        return False
    if not record.history or record.history[0].version > base_version + 1:
        return True
    return any(c.cluster == cluster and c.version > base_version for c in record.history)


def clean_author(author: str) -> str:
    """An author's name as shown in the history: one line of at most AUTHOR_MAX printable characters."""
    text = " ".join("".join(c for c in str(author or "") if c.isprintable()).split())
    return text[:AUTHOR_MAX]


class StoreBackend(Protocol):
    """Bytes under string keys, plus a transaction that excludes every other process.

    Raises StoreFull when a write finds no room and StoreUnavailable when the store cannot be reached.
    """

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, expire: float | None = None) -> None: ...

    def put_pickled(self, key: str, value: Any) -> None: ...

    def get_pickled(self, key: str) -> Any | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def transaction(self) -> AbstractContextManager: ...

    def secret_key(self) -> str: ...

    def eviction_warning(self) -> str | None:
        """A sentence when the store may delete stored work to make room, else None."""


class DiskcacheBackend:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        # Nothing here may be evicted to make room: names and runs are the team's work.
        self.cache = diskcache.Cache(str(directory), eviction_policy="none", size_limit=2**62)

    def get(self, key: str) -> bytes | None:
        return self.cache.get(key)

    def set(self, key: str, value: bytes, expire: float | None = None) -> None:
        with self._room_checked():
            self.cache.set(key, value, expire=expire)

    def put_pickled(self, key: str, value: Any) -> None:
        """``value`` pickled into a file of the store's directory, which diskcache then copies in
        chunks: a pickling error writes nothing."""
        with self._room_checked(), tempfile.TemporaryFile(dir=self.directory) as pickled:
            pickle.dump(value, pickled, protocol=pickle.HIGHEST_PROTOCOL)
            pickled.seek(0)
            self.cache.set(key, pickled, read=True)

    def get_pickled(self, key: str) -> Any | None:
        stored = self.cache.get(key, read=True)
        if stored is None or isinstance(stored, bytes):  # small values live in diskcache's database
            return None if stored is None else pickle.loads(stored)
        with stored:
            return pickle.load(stored)

    def exists(self, key: str) -> bool:
        return key in self.cache

    def delete(self, key: str) -> None:
        self.cache.delete(key)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._room_checked(), self.cache.transact(retry=True):  # a full disk may fail the COMMIT
            yield

    @contextmanager
    def _room_checked(self) -> Iterator[None]:
        try:
            yield
        except (OSError, sqlite3.OperationalError) as error:
            if _out_of_room(error):
                raise StoreFull(f"the results store in {self.directory} is full (no space left on its disk): "
                                "nothing more can be saved until room is made") from None
            raise

    def secret_key(self) -> str:
        """Made once, kept in the store directory readable by its owner only, shared by every process here."""
        path = self.directory / SECRET_KEY_FILE
        if not path.exists():
            draft = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_hex(32))
            try:
                os.link(draft, path)  # atomic, and fails if another process made it first: theirs is kept
            except FileExistsError:
                pass
            finally:
                os.unlink(draft)
        return path.read_text().strip()

    def eviction_warning(self) -> str | None:
        return None  # opened with eviction_policy="none": a full disk refuses writes instead

    def close(self) -> None:
        self.cache.close()


def _out_of_room(error: Exception) -> bool:
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return "full" in str(error)


class Memo:
    """A small thread-safe LRU of unpickled immutable values."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


class ResultsStore:
    def __init__(self, backend: StoreBackend, memo_size: int = 4) -> None:
        self.backend = backend
        self._runs = Memo(memo_size)
        self._datasets = Memo(memo_size)
        self._batches = Memo(memo_size)

    @classmethod
    def from_config(cls, config) -> "ResultsStore":
        return cls.open(config.redis_url or config.store_dir)

    @classmethod
    def open(cls, location: str | Path) -> "ResultsStore":
        """A Redis URL (``redis://host:port/db``) or a diskcache directory."""
        if isinstance(location, str) and location.startswith(REDIS_URL_SCHEMES):
            from dashboard.redis_backend import RedisBackend  # redis is needed only when scaled out

            return cls(RedisBackend(location))
        return cls(DiskcacheBackend(Path(location)))

    def forked(self, config) -> "ResultsStore":
        """A store of its own for a job process forked from this one, holding what this one had unpickled.

        Connections and locks must not cross a fork (the memo's lock may have been copied held), but the
        values are immutable: the job's dataset is then in memory already, 0.1 s sooner at 96k songs. A
        fork copies a dict whole, never mid-change, since every change to one happens under the GIL.
        """
        store = ResultsStore.from_config(config)
        store._datasets.items.update(self._datasets.items)
        store._runs.items.update(self._runs.items)
        return store

    def secret_key(self) -> str:
        """The key that signs sessions and job handles: one for every process sharing this store."""
        return self.backend.secret_key()

    # datasets

    def put_dataset(self, dataset: Dataset, added_by: str = "") -> str:
        dataset_id = dataset.fingerprint
        key = _dataset_key(dataset_id)
        if not self.backend.exists(key):
            self.backend.put_pickled(key, dataset)
        with self.backend.transaction():
            index = self._dataset_index()
            if dataset_id not in index:
                rows = dataset.report.rows_kept
                index[dataset_id] = DatasetInfo(dataset_id, dataset.name, rows, time.time(), added_by)
                self.backend.set(DATASET_INDEX_KEY, _dumps(index))
        self._datasets.put(dataset_id, dataset)
        return dataset_id

    def get_dataset(self, dataset_id: str) -> Dataset | None:
        key = _dataset_key(dataset_id)
        # A dataset can be removed by any process: the memo answers only while the store still holds it.
        if not self.backend.exists(key):
            return None
        return self._memoised(self._datasets, key, dataset_id)

    def remove_dataset(self, dataset_id: str) -> DatasetInfo | None:
        """Forget a dataset's songs and its place in the list; runs made from it stay, without their songs."""
        with self.backend.transaction():
            index = self._dataset_index()
            info = index.pop(dataset_id, None)
            self.backend.set(DATASET_INDEX_KEY, _dumps(index))
            self.backend.delete(_dataset_key(dataset_id))
        return info

    def list_datasets(self) -> list[DatasetInfo]:
        return sorted(self._dataset_index().values(), key=lambda info: info.added_at)

    def _dataset_index(self) -> dict[str, DatasetInfo]:
        stored = self.backend.get(DATASET_INDEX_KEY)
        return pickle.loads(stored) if stored is not None else {}

    # batches: songs uploaded to be placed among a run's clusters, never offered as a dataset to cluster

    def put_batch(self, dataset: Dataset) -> str:
        """Keep ``dataset`` as a batch; its id is its content's fingerprint, so a link to it opens anywhere."""
        key = _batch_key(dataset.fingerprint)
        if not self.backend.exists(key):
            self.backend.put_pickled(key, dataset)
        self._batches.put(dataset.fingerprint, dataset)
        return dataset.fingerprint

    def get_batch(self, batch_id: str) -> Dataset | None:
        if not self.backend.exists(_batch_key(batch_id)):
            return None
        return self._memoised(self._batches, _batch_key(batch_id), batch_id)

    # runs

    def put_run(self, result: RunResult, started_by: str = "") -> None:
        """Store a run and list it in its dataset's run history; a run stored before keeps its first entry."""
        key = _run_key(result.run_id)
        if not self.backend.exists(key):
            self.backend.put_pickled(key, result)
        with self.backend.transaction():
            index = self._run_index(result.dataset_id)
            if result.run_id not in index:
                index[result.run_id] = RunInfo(result.run_id, result.dataset_id, result.params,
                                               result.sweep.recommended_k, result.chosen_k, time.time(),
                                               clean_author(started_by))
                self.backend.set(_run_index_key(result.dataset_id), _dumps(index))
        self._runs.put(result.run_id, result)

    def list_runs(self, dataset_id: str) -> list[RunInfo]:
        """The runs stored for a dataset, newest first (a dataset removed keeps its runs and their history)."""
        return sorted(self._run_index(dataset_id).values(), key=lambda info: info.stored_at, reverse=True)

    def _run_index(self, dataset_id: str) -> dict[str, RunInfo]:
        stored = self.backend.get(_run_index_key(dataset_id))
        return pickle.loads(stored) if stored is not None else {}

    def get_run(self, run_id: str) -> RunResult | None:
        # A store that lost its data (a Redis restarted empty) holds no run, whatever this process remembers.
        if not self.backend.exists(_run_key(run_id)):
            return None
        return self._memoised(self._runs, _run_key(run_id), run_id)

    def has_run(self, run_id: str) -> bool:
        return self.backend.exists(_run_key(run_id))

    def has_dataset(self, dataset_id: str) -> bool:
        return self.backend.exists(_dataset_key(dataset_id))

    def _memoised(self, memo: Memo, key: str, item_id: str) -> Any | None:
        value = memo.get(item_id)
        if value is None:
            value = self.backend.get_pickled(key)
            if value is None:
                return None
            memo.put(item_id, value)
        return value

    # cluster names

    def get_names(self, run_id: str, k: int) -> NameSheet:
        return self._sheet(self._suggested(run_id, k), self._name_record(run_id, k))

    def rename(self, run_id: str, k: int, cluster: int, new_name: str, base_version: int,
               author: str = "") -> NameSheet:
        suggested = self._suggested(run_id, k)
        _check_cluster(cluster, suggested)
        try:
            name = clean_name(new_name)
        except ValueError as error:
            raise InvalidName(str(error)) from None
        with self.backend.transaction():
            record = self._name_record(run_id, k)
            return self._change(run_id, k, suggested, record, cluster, name, base_version, author)

    def revert(self, run_id: str, k: int, change_version: int, base_version: int, author: str = "") -> NameSheet:
        suggested = self._suggested(run_id, k)
        with self.backend.transaction():
            record = self._name_record(run_id, k)
            change = next((c for c in record.history if c.version == change_version), None)
            if change is None:
                raise InvalidName(f"there is no name change with version {change_version} to revert")
            return self._change(run_id, k, suggested, record, change.cluster, change.old, base_version, author)

    def _change(
        self,
        run_id: str,
        k: int,
        suggested: dict[int, str],
        record: _NameRecord,
        cluster: int,
        name: str,
        base_version: int,
        author: str,
    ) -> NameSheet:
        current = self._sheet(suggested, record)
        if base_version > record.version:
            raise InvalidName(f"the names are at version {record.version}; a save cannot build on version "
                              f"{base_version}. Reload the page")
        if _changed_since(record, cluster, base_version):
            raise NameConflict(cluster, current.names[cluster], current)
        old = current.names[cluster]
        if name == old:
            return current
        repeated = first_repeated_name({**current.names, cluster: name})
        if repeated:
            taken_by = repeated[0] if repeated[1] == cluster else repeated[1]
            raise InvalidName(f"{name!r} is already the name of cluster {taken_by}")
        version = record.version + 1
        saved = {c: n for c, n in record.saved.items() if c != cluster}
        if name != suggested[cluster]:
            saved[cluster] = name
        change = NameChange(version=version, cluster=cluster, old=old, new=name, at=time.time(),
                            author=clean_author(author))
        record = replace(record, version=version, saved=saved, history=(*record.history, change)[-HISTORY_KEPT:])
        self.backend.set(_names_key(run_id, k), _dumps(record))
        return self._sheet(suggested, record)

    def _name_record(self, run_id: str, k: int) -> _NameRecord:
        stored = self.backend.get(_names_key(run_id, k))
        return pickle.loads(stored) if stored is not None else _NameRecord()

    def _suggested(self, run_id: str, k: int) -> dict[int, str]:
        run = self.get_run(run_id)
        if run is None:
            raise UnknownRun(f"no stored run {run_id!r}")
        if k not in run.models:
            raise UnknownRun(f"run {run_id!r} has no k={k}; its sweep covers {min(run.models)}..{max(run.models)}")
        return {cluster: suggestion.name for cluster, suggestion in enumerate(run.models[k].suggested_names)}

    @staticmethod
    def _sheet(suggested: dict[int, str], record: _NameRecord) -> NameSheet:
        names = {cluster: record.saved.get(cluster, name) for cluster, name in suggested.items()}
        return NameSheet(version=record.version, names=names, saved=dict(record.saved), history=record.history)

    # song selections (a lasso on the scatter, a flow between two clusterings): the browser keeps their id

    def put_selection(self, dataset_id: str, rows, label: str) -> SongSelection:
        """Keep the songs at ``rows`` (positions in the dataset's frame) for ``SELECTION_DAYS``; the same songs
        of the same dataset get the same id, so a link to a selection names what it held."""
        kept = np.unique(np.asarray(rows, dtype=np.int64)).astype(np.int32)
        digest = hashlib.sha256(dataset_id.encode() + kept.tobytes()).hexdigest()[:SELECTION_ID_CHARS]
        selection = SongSelection(digest, dataset_id, kept, label[:SELECTION_LABEL_MAX])
        self.backend.set(_selection_key(digest), _dumps(selection), expire=SELECTION_DAYS * 24 * 3600)
        return selection

    # artifacts: what a panel derived from a run, kept so that any process can serve it without deriving it

    def put_artifact(self, key: str, data: bytes) -> None:
        """Keep ``data`` under ``key`` for ``ARTIFACT_DAYS``: it can always be derived again from its run."""
        self.backend.set(_artifact_key(key), data, expire=ARTIFACT_DAYS * 24 * 3600)

    def get_artifact(self, key: str) -> bytes | None:
        return self.backend.get(_artifact_key(key))

    def get_selection(self, selection_id: str) -> SongSelection | None:
        if not is_selection_id(selection_id):
            return None
        stored = self.backend.get(_selection_key(selection_id))
        return pickle.loads(stored) if stored is not None else None



def _check_cluster(cluster: int, suggested: dict[int, str]) -> None:
    if cluster not in suggested:
        raise InvalidName(f"there is no cluster {cluster} at this k (clusters 0..{len(suggested) - 1})")


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _dataset_key(dataset_id: str) -> str:
    return f"dataset:{dataset_id}"


def _batch_key(batch_id: str) -> str:
    return f"batch:{batch_id}"


def _run_key(run_id: str) -> str:
    return f"run:{run_id}"


def _run_index_key(dataset_id: str) -> str:
    return f"{RUN_INDEX_PREFIX}{dataset_id}"


def _names_key(run_id: str, k: int) -> str:
    return f"names:{run_id}:{k}"


def _artifact_key(key: str) -> str:
    return f"artifact:{key}"


def _selection_key(selection_id: str) -> str:
    return f"selection:{selection_id}"


def is_selection_id(text: object) -> bool:
    return isinstance(text, str) and len(text) == SELECTION_ID_CHARS and all(c in "0123456789abcdef" for c in text)
