"""The locks that make processes sharing a storage take turns.

- `setup_lock(url)`: held while a process creates the storage's tables and sets up its study.
- `admission_lock(...)`: held from a worker's budget check until its new trial exists in storage, so that N
  workers stop at the study's budget (search/workers/admission.py).
- `JournalWriteLock`: held while a journal file is appended (search/storage/journal.py).

On one machine each is a `filelock.FileLock` (released by the kernel if its holder dies; Optuna's own journal
lock is a symlink that outlives a killed writer and stalls the next one for 30 s). On PostgreSQL the setup and
admission locks are advisory locks, which every machine shares and the server drops with a dead connection.
"""

from __future__ import annotations

import contextlib
import hashlib

import filelock
import sqlalchemy
import sqlalchemy.pool

from search.storage.urls import local_file

_SETUP_KEY = 0x63656C6C73656172  # "cellsear": any constant shared by every cellsearch process


def _advisory_lock(connection, key: int) -> None:
    connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})


def _advisory_unlock(connection, key: int) -> None:
    connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextlib.contextmanager
def setup_lock(url: str):
    """Held while a process creates or checks the storage's tables and sets up its study, so that processes
    (or machines) that start together on one storage take turns: on PostgreSQL an advisory lock, on a SQLite
    or journal file a lock file beside it (`<file>.lock`). Redis has none: see search/storage/README.md."""
    path = local_file(url)
    if path is not None:
        lock = filelock.FileLock(path + ".lock")
        try:
            lock.acquire()
        except OSError:  # a read-only folder (a report on someone's storage): nothing there can be written anyway
            yield
            return
        try:
            yield
        finally:
            lock.release()
        return
    if not url.startswith("postgresql"):
        yield
        return
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            _advisory_lock(connection, _SETUP_KEY)
            try:
                yield
            finally:
                _advisory_unlock(connection, _SETUP_KEY)
    finally:
        engine.dispose()


class FileGate:
    """Admission on one machine: an exclusive lock on a file (None: no lock, a single worker)."""

    def __init__(self, path: str | None):
        self.path = path
        self._lock = filelock.FileLock(path) if path is not None else None

    def acquire(self) -> None:
        if self._lock is not None:
            self._lock.acquire()

    def release(self) -> None:
        """Release if held (a second release is a no-op)."""
        if self._lock is not None and self._lock.is_locked:
            self._lock.release(force=True)


class PostgresGate(FileGate):
    """Admission across machines: a PostgreSQL advisory lock on the study's name, taken on a connection of the
    storage's own pool."""

    def __init__(self, engine: sqlalchemy.Engine, study_name: str, path: str | None = None):
        super().__init__(path)
        self.engine, self.connection = engine, None
        self.key = int.from_bytes(hashlib.sha256(study_name.encode()).digest()[:8], "big", signed=True)

    def acquire(self) -> None:
        self.connection = self.engine.connect()
        _advisory_lock(self.connection, self.key)

    def release(self) -> None:
        if self.connection is not None:
            _advisory_unlock(self.connection, self.key)
            self.connection.close()
            self.connection = None


class JournalWriteLock:
    """The lock Optuna's JournalFileBackend takes around each append (it calls acquire() and release())."""

    def __init__(self, path: str):
        self._lock = filelock.FileLock(path)

    def acquire(self) -> bool:
        self._lock.acquire()
        return True

    def release(self) -> None:
        self._lock.release()
