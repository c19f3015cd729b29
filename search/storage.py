"""Open the Optuna storage named by `storage.url`, and mask its password wherever it is shown.

- `sqlite:///cellsearch.db`, `postgresql://user@host/db`, `mysql+pymysql://...`: Optuna's RDB storage, with
  heartbeats, so that a trial whose process died is marked failed after the grace period and retried once.
- a path ending in `.log` (or `journal:///path`): Optuna's journal file storage.
"""

from __future__ import annotations

import re
import warnings

import optuna
import sqlalchemy.exc
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend

from search.errors import UserError

HINT = "use sqlite:///cellsearch.db, postgresql://user@host/dbname, or a journal file path ending in .log"
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


def open_storage(storage_cfg) -> optuna.storages.BaseStorage:
    url = storage_cfg.url
    path = journal_path(url)
    # heartbeats and their retry callback are marked experimental; we rely on them knowingly
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        if path is not None:
            return JournalStorage(JournalFileBackend(path))
        return RDBStorage(
            url,
            heartbeat_interval=storage_cfg.heartbeat_interval,
            grace_period=storage_cfg.grace_period,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
        )
    except (sqlalchemy.exc.SQLAlchemyError, OSError, ValueError) as e:
        reason = " ".join(str(getattr(e, "orig", None) or e).split())
        reason = reason.split(" (Background on this error")[0][:300]
        raise UserError(f"storage.url={mask(url)} cannot be opened: {mask(reason)}; {HINT}") from None
