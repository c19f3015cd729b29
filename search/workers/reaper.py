"""The trials of processes that died in the middle of a trial: marked failed (with the reason) and queued again
once with the same parameters. On RDB storages across machines, Optuna's heartbeats do the same after
`storage.grace_period`; this covers the rest (journal files, Redis, trials never claimed)."""

from __future__ import annotations

import datetime
import logging
import os
import socket

import optuna
from optuna.trial import TrialState

from search import optuna_internals
from search.records import FAIL_REASON, RETRY_OF, WORKER

log = logging.getLogger(__name__)


def worker_id(pid: int | None = None) -> str:
    """The `worker` user attribute a trial's process sets first: host and process id."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def process_alive(pid: int) -> bool:
    """Whether a process of this machine exists (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def queue_retry(study: optuna.Study, trial) -> bool:
    """Queue a trial's parameters again once, as `retry_of` it (a trial that is itself a retry is not queued);
    whether it was queued. `trial` is a live Trial or a FrozenTrial."""
    if RETRY_OF in trial.user_attrs:
        return False
    study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
    return True


def _fail_and_retry(study: optuna.Study, trial: optuna.trial.FrozenTrial, reason: str) -> None:
    """Mark a RUNNING trial whose process is gone failed (with `reason`), and queue it again once."""
    optuna_internals.set_user_attr(study, trial, FAIL_REASON, reason)
    study.tell(trial.number, state=TrialState.FAIL)
    if queue_retry(study, trial):
        log.warning("trial %d: %s; marked failed and queued again", trial.number, reason)
    else:
        log.warning("trial %d: %s; marked failed (already a retry: not queued again)", trial.number, reason)


def reap(study: optuna.Study, pid: int, how: str) -> None:
    """Mark the RUNNING trials of a dead local worker failed, and queue each again once."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(WORKER) == worker_id(pid):
            _fail_and_retry(study, trial, f"worker {worker_id(pid)} {how}")


def _age(trial: optuna.trial.FrozenTrial) -> float:
    start = trial.datetime_start
    if start is None:
        return 0.0
    now = datetime.datetime.now(start.tzinfo) if start.tzinfo else datetime.datetime.now()
    return (now - start).total_seconds()


def reap_orphans(study: optuna.Study, grace_period: float | None = None) -> None:
    """Fail and retry the RUNNING trials whose process is gone.

    - A trial of a process of this machine that no longer exists (a run killed outright): at once. For
      storages without heartbeats (journal file, Redis), which would otherwise keep it forever; on RDB
      storages the heartbeat does it, for every machine alike.
    - A trial that its process never claimed (no `worker` attribute; on an RDB storage, no heartbeat): its
      process died in the moment between creating it and claiming it. Once it is `grace_period` seconds
      old (None: never), on every storage."""
    rdb = optuna_internals.rdb_storage(study)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if grace_period is not None and running:
        silent = optuna_internals.without_heartbeat(study, rdb) if rdb is not None else None
        for trial in running:
            unclaimed = trial.number in silent if silent is not None else WORKER not in trial.user_attrs
            if unclaimed and _age(trial) > grace_period:
                _fail_and_retry(study, trial, f"its process ended before it claimed the trial (unclaimed for "
                                              f"more than storage.grace_period={grace_period:g} s)")
    if rdb is not None:
        return
    host = socket.gethostname()
    for trial in running:
        worker_host, _, pid = trial.user_attrs.get(WORKER, "").rpartition(":")
        if worker_host == host and pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            reap(study, int(pid), "is gone (its process ended without finishing the trial)")
