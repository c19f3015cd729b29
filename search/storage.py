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
import re
import warnings

import optuna
import redis.exceptions
import sqlalchemy
import sqlalchemy.exc
import sqlalchemy.pool
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

from search.errors import UserError

HINT = ("use sqlite:///cellsearch.db, a journal file path ending in .log, postgresql://user@host/dbname or "
        "redis://host:6379/0")
_SCHEMA_LOCK_KEY = 0x63656C6C73656172  # "cellsear": any constant shared by every cellsearch process
DEFAULT_URL = {"one": "sqlite:///cellsearch.db", "several": "cellsearch.log"}
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def mask(url: str) -> str:
    """The URL with any password replaced by ***."""
    return _PASSWORD.sub(r"\1***@", url)


def journal_path(url: str) -> str | None:
    if url.startswith("journal://"):
        return url[len("journal://"):]
    if "://" not in url and url.endswith(".log"):
        return url
    return None


@contextlib.contextmanager
def _schema_lock(url: str):
    """On PostgreSQL, hold an advisory lock while Optuna creates or checks its tables: machines that start
    together on an empty database would otherwise collide creating them."""
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
            return JournalStorage(JournalFileBackend(path))
        if url.startswith(("redis://", "rediss://", "unix://")):
            backend = JournalRedisBackend(url)
            backend._redis.ping()  # fail here, not at the first trial
            return JournalStorage(backend)
        pool = {} if url.startswith("sqlite") else {
            "pool_size": storage_cfg.pool_size, "max_overflow": storage_cfg.max_overflow, "pool_pre_ping": True}
        with _schema_lock(url):
            return RDBStorage(
                url,
                engine_kwargs=pool,
                heartbeat_interval=storage_cfg.heartbeat_interval,
                grace_period=storage_cfg.grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
    except (sqlalchemy.exc.SQLAlchemyError, OSError, ValueError, redis.exceptions.RedisError) as e:
        reason = " ".join(str(getattr(e, "orig", None) or e).split())
        reason = reason.split(" (Background on this error")[0][:300]
        raise UserError(f"storage.url={mask(url)} cannot be opened: {mask(reason)}; {HINT}") from None
