"""Open the Optuna storage named by `storage.url`, and mask its password wherever it is shown.

- `sqlite:///cellsearch.db` (the default for one worker): Optuna's RDB storage on a SQLite file. Never
  for several workers: SQLite answers "database is locked" under concurrent writers.
- a path ending in `.log` (or `journal:///path`): Optuna's journal file storage, safe for several processes
  on one machine (the default for `workers` > 1: `cellsearch.log`).
- `postgresql://user@host/db` (psycopg 3), `mysql+pymysql://...`: RDB storage for workers on many machines,
  with heartbeats, so that a trial whose machine died is marked failed after the grace period and retried
  once, and a small connection pool per process so that many workers stay under the server's limit.
- `redis://host:6379/0`: Optuna's journal storage over Redis.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import warnings
from urllib.parse import unquote

import filelock
import optuna
import redis.exceptions
import sqlalchemy
import sqlalchemy.exc
import sqlalchemy.pool
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend
from optuna.storages.journal._file import BaseJournalFileLock

from search.errors import UserError, write_error

HINT = ("use sqlite:///cellsearch.db, a journal file path ending in .log, postgresql://user@host/dbname or "
        "redis://host:6379/0")
_SCHEMA_LOCK_KEY = 0x63656C6C73656172  # "cellsear": any constant shared by every cellsearch process
_DRIVERS = {"MySQLdb": "mysqlclient", "pymysql": "pymysql", "psycopg2": "psycopg2-binary", "psycopg": "'psycopg[binary]'"}
DEFAULT_URL = {"one": "sqlite:///cellsearch.db", "several": "cellsearch.log"}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]*")
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:password|passwd|pwd|pass)=)[^&;#\s'\"<>]*")


def _password_span(rest: str) -> tuple[int, int] | None:
    """Where the password of `user:password@host...` (a URL after its `://`) starts and ends: from the user's
    `:` to the last `@` (a password may hold "@", "/", "?" or "#" unencoded); None without one."""
    at = rest.rfind("@")
    return (rest.index(":") + 1, at) if at >= 0 and ":" in rest[:at] else None


def _mask_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    span = _password_span(rest)
    if span is not None:
        rest = rest[: span[0]] + "***" + rest[span[1]:]
    return _QUERY_SECRET.sub(r"\1***", f"{scheme}://{rest}")


def mask(text: str) -> str:
    """`text` (a URL, or a message that holds URLs) with every password replaced by ***: the one in a URL's
    user part (user:PASSWORD@host, whatever characters it holds) and a `password=` in its query, for every
    storage kind (postgresql, mysql, redis, ...)."""
    if "://" in text and not any(c.isspace() for c in text):  # one URL: whatever its password holds
        return _mask_url(text)
    return _URL.sub(lambda m: _mask_url(m.group(0)), text)


def mask_all(data):
    """A copy of plain data (a stored config: dicts, lists, strings) with `mask` applied to every string."""
    if isinstance(data, dict):
        return {key: mask_all(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_all(value) for value in data]
    return mask(data) if isinstance(data, str) else data


def secrets_of(url: str) -> list[str]:
    """The passwords a URL holds (user part, `password=` query), as written and URL-decoded, so that a
    message quoting one (a driver's error, say) can hide it."""
    if "://" not in url:
        return []
    rest = url.split("://", 1)[1]
    span = _password_span(rest)
    found = [rest[span[0]: span[1]]] if span is not None else []
    found += [m.group(0).split("=", 1)[1] for m in _QUERY_SECRET.finditer(url)]
    return sorted({v for s in found if s for v in (s, unquote(s))}, key=len, reverse=True)


def journal_path(url: str) -> str | None:
    if url.startswith("journal://"):
        return url[len("journal://"):]
    if "://" not in url and url.endswith(".log"):
        return url
    return None


def sqlite_path(url: str) -> str | None:
    """The file of a `sqlite:///path` URL (None for any other URL, and for an in-memory database)."""
    if not url.startswith("sqlite:///") or url[len("sqlite:///"):] in ("", ":memory:"):
        return None
    return url[len("sqlite:///"):].split("?", 1)[0]


@contextlib.contextmanager
def setup_lock(url: str):
    """Held while a process creates or checks the storage's tables and sets up its study, so that processes
    (or machines) that start together on one storage take turns: on PostgreSQL an advisory lock that every
    machine shares, on a SQLite or journal file a lock file beside it (`<file>.lock`, released by the kernel
    if its holder dies). Redis has none: see README, Storage."""
    path = sqlite_path(url) or journal_path(url)
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
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
    finally:
        engine.dispose()


class FlockLock(BaseJournalFileLock):
    """An exclusive lock on `<journal>.flock`, which the kernel releases when its holder dies. Optuna's default
    symlink lock outlives a process killed while it writes, and stalls the next writer for 30 s."""

    def __init__(self, path: str):
        self.path, self.handle = path, None

    def acquire(self) -> bool:
        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


class SafeJournalFileBackend(JournalFileBackend):
    """Optuna's journal file, appended so that a writer that dies or fails mid-write leaves no torn record.

    A SIGKILL during a multi-page write() or a full disk can leave the file ending in part of a line. Optuna's
    reader skips such a tail, but the next append would be glued onto it and make the whole journal
    unreadable from there on. Here every append first cuts an unfinished tail (never acknowledged: its
    writer died) and, if its own write fails, cuts the file back to where it started."""

    def __init__(self, file_path: str):
        super().__init__(file_path, lock_obj=FlockLock(file_path + ".flock"))

    def append_logs(self, logs: list[dict]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode("utf-8")
        with self._lock_held():
            with open(self._file_path, "r+b", buffering=0) as f:
                end = _complete_length(f)
                try:
                    written = 0
                    while written < len(data):
                        written += os.pwrite(f.fileno(), data[written:], end + written)
                    os.fsync(f.fileno())
                except OSError as e:  # a full disk, say: the journal stays as it was
                    f.truncate(end)
                    raise OSError(e.errno, e.strerror, self._file_path) from e

    @contextlib.contextmanager
    def _lock_held(self):
        self._lock.acquire()
        try:
            yield
        finally:
            self._lock.release()


def _complete_length(f) -> int:
    """The length of the file up to its last newline; a tail without one is cut off."""
    end = f.seek(0, os.SEEK_END)
    position = end
    while position > 0:
        step = min(4096, position)
        f.seek(position - step)
        chunk = f.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            complete = position - step + newline + 1
            break
        position -= step
    else:
        complete = 0
    if complete != end:
        f.truncate(complete)
    return complete


def resolve_url(storage_cfg, workers: int) -> str:
    """`storage.url`, or its default: a SQLite file for one worker, a journal file for several."""
    url = storage_cfg.url or DEFAULT_URL["one" if workers == 1 else "several"]
    if workers > 1 and url.startswith("sqlite:"):
        raise UserError(f"storage.url={url}: SQLite is not safe for workers={workers} (\"database is locked\"); "
                        "use storage=journal on one machine, or storage=postgres storage.url=postgresql://... "
                        "for several")
    return url


def open_storage(storage_cfg, workers: int = 1) -> optuna.storages.BaseStorage:
    url = resolve_url(storage_cfg, workers)
    path = journal_path(url)
    # heartbeats and their retry callback are marked experimental; we rely on them knowingly
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        if path is not None:
            return JournalStorage(SafeJournalFileBackend(path))
        if url.startswith(("redis://", "rediss://", "unix://")):
            backend = JournalRedisBackend(url)
            backend._redis.ping()  # fail here, not at the first trial
            return JournalStorage(backend)
        pool = {} if url.startswith("sqlite") else {
            "pool_size": storage_cfg.pool_size, "max_overflow": storage_cfg.max_overflow, "pool_pre_ping": True}
        with setup_lock(url):
            return RDBStorage(
                url,
                engine_kwargs=pool,
                heartbeat_interval=storage_cfg.heartbeat_interval,
                grace_period=storage_cfg.grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
    except ImportError as e:  # the URL's database driver (mysql:// wants MySQLdb) is not installed
        missing = getattr(e.__cause__ or e.__context__, "name", None) or e.name
        fix = f"pip install {_DRIVERS.get(missing, missing)}" if missing else "install the database driver it names"
        raise UserError(f"storage.url={mask(url)}: its database driver is not installed (no module {missing!r}); "
                        f"{fix}, or {HINT}") from None
    except (sqlalchemy.exc.SQLAlchemyError, OSError, ValueError, redis.exceptions.RedisError) as e:
        written = write_error(e, url)
        if written is not None:
            raise written from None
        reason = " ".join(str(getattr(e, "orig", None) or e).split())
        reason = reason.split(" (Background on this error")[0][:300]
        for secret in secrets_of(url):
            reason = reason.replace(secret, "***")
        raise UserError(f"storage.url={mask(url)} cannot be opened: {mask(reason)}; {HINT}") from None
