"""Open the Optuna storage that `storage.url` names (search/storage/urls.py), with one-line errors.

- a SQLite file: Optuna's RDB storage. Never for several workers: SQLite answers "database is locked" under
  concurrent writers.
- a journal file: safe for several processes on one machine (search/storage/journal.py).
- `postgresql://` (psycopg 3), `mysql+pymysql://`: RDB storage for workers on many machines, with heartbeats, so
  that a trial whose machine died is marked failed after the grace period and retried once, and a small
  connection pool per process so that many workers stay under the server's limit.
- `redis://host:6379/0`: Optuna's journal storage over Redis.
"""

from __future__ import annotations

import warnings

import optuna
import redis
import redis.exceptions
import sqlalchemy.exc
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalRedisBackend

from search.errors import UserError, write_error
from search.storage.journal import SafeJournalFileBackend
from search.storage.locks import setup_lock
from search.storage.urls import DEFAULT_URL, HINT, hide_secrets, journal_path, mask

_DRIVERS = {"MySQLdb": "mysqlclient", "pymysql": "pymysql", "psycopg2": "psycopg2-binary",
            "psycopg": "'psycopg[binary]'"}


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
            with redis.Redis.from_url(url) as client:
                client.ping()  # fail here, not at the first trial
            return JournalStorage(JournalRedisBackend(url))
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
        raise UserError(f"storage.url={mask(url)} cannot be opened: {hide_secrets(reason, url)}; {HINT}") from None
