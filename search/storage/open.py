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

import logging
import os
import warnings
from pathlib import Path

import optuna
import redis
import redis.exceptions
import sqlalchemy.exc
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalRedisBackend

from search.errors import UserError, write_error
from search.storage.journal import SafeJournalFileBackend
from search.storage.locks import setup_lock
from search.storage.urls import DEFAULT_URL, HINT, hide_secrets, journal_path, local_file, mask

log = logging.getLogger(__name__)

_DRIVERS = {"MySQLdb": "mysqlclient", "pymysql": "pymysql", "psycopg2": "psycopg2-binary",
            "psycopg": "'psycopg[binary]'"}


def resolve_url(storage_cfg, workers: int, note: bool = False) -> str:
    """`storage.url`, or its default for a search: a SQLite file for one worker, a journal file for several
    (`note`: say so when the other default file exists here too)."""
    url = storage_cfg.url or DEFAULT_URL["one" if workers == 1 else "several"]
    other = local_file(DEFAULT_URL["several" if workers == 1 else "one"])
    if note and not storage_cfg.url and os.path.exists(other):
        log.warning("note: %s exists here too; with workers=%d the default storage is %s (set storage.url to "
                    "choose)", other, workers, url)
    if workers > 1 and url.startswith("sqlite:"):
        raise UserError(f"storage.url={url}: SQLite is not safe for workers={workers} (\"database is locked\"); "
                        "use storage=journal on one machine, or storage=postgres storage.url=postgresql://... "
                        "for several")
    return url


def existing_url(url: str | None) -> str:
    """`storage.url`, or for a reader (python -m reports) the file a default search wrote in this folder."""
    if url:
        return url
    sqlite_file, journal_file = (Path(local_file(DEFAULT_URL[n])) for n in ("one", "several"))
    if sqlite_file.is_file():
        return DEFAULT_URL["one"]
    if journal_file.is_file():
        return DEFAULT_URL["several"]
    raise UserError(f"no study storage here ({sqlite_file} or {journal_file}); run python -m search first, "
                    "or give storage.url=... (e.g. sqlite:///path/to.db or postgresql://user@host/db)")


def open_existing(storage_cfg) -> optuna.storages.BaseStorage:
    """A storage that must exist already (a report never creates one): `storage_cfg.url` is set to its URL."""
    url = existing_url(storage_cfg.url)
    path = local_file(url)  # a SQLite or a journal file: opening a missing one would create it, empty
    if path is not None and not Path(path).is_file():
        raise UserError(f"storage.url={url}: no such file (a report never creates a storage); check the path")
    storage_cfg.url = url
    return open_storage(storage_cfg)


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
