"""Each worker's loop: run trials until the study holds `search.n_trials` finished trials.

A trial is admitted only while the study holds fewer finished trials than the budget once those already running
are counted, so that N workers (and N machines) stop at the budget instead of each running their own count. The
check and the trial's creation happen under an admission lock (search/storage/locks.py): a file lock on one
machine, a PostgreSQL advisory lock across machines; either makes the count exact. (With Redis across machines
the check is made against the shared storage just before each trial, and two machines may overshoot by one.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from search import interrupt, optuna_internals
from search.errors import RepeatedConfig
from search.records import WORKER
from search.storage.locks import FileGate, PostgresGate
from search.workers.reaper import reap_orphans, worker_id

log = logging.getLogger(__name__)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_REPEATS = 20  # a sampler that keeps proposing finished configurations has run out of space


def gate_for(study: optuna.Study, local_lock: str | None) -> FileGate:
    """The strongest admission lock the storage offers: PostgreSQL's across machines, else a local file lock."""
    storage = optuna_internals.rdb_storage(study)
    if storage is not None and storage.engine.dialect.name == "postgresql":
        return PostgresGate(storage.engine, study.study_name)
    return FileGate(local_lock)


def finished_and_running(study: optuna.Study) -> tuple[int, int]:
    """(finished, running) trials of the study. On an RDB storage one COUNT query, not every trial's rows."""
    storage = optuna_internals.rdb_storage(study)
    if storage is not None:
        counts = optuna_internals.count_by_state(study, storage)
        return counts.get("COMPLETE", 0) + counts.get("PRUNED", 0), counts.get("RUNNING", 0)
    trials = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
    finished = sum(t.state in FINISHED for t in trials)
    return finished, len(trials) - finished


def budget_left(study: optuna.Study, budget: int) -> tuple[int, int]:
    """(trials still to finish before the study holds `budget` finished ones, trials that may still be admitted:
    the running ones count as done)."""
    finished, running = finished_and_running(study)
    return max(0, budget - finished), max(0, budget - finished - running)


def run_trials(study: optuna.Study, objective: Callable, budget: int, timeout: float | None,
               callbacks: list, gate: FileGate, poll: float = 1.0,
               before_trial: Callable[[optuna.Study], None] | None = None,
               grace_period: float | None = None) -> None:
    """Run trials until the study holds `budget` finished trials, or `timeout` seconds have passed.

    `before_trial(study)` runs under the admission lock just before a trial is admitted (the balanced
    strategies queue the cell with the fewest trials there). While the rest of the budget is running,
    trials whose process died are failed and retried (`reap_orphans`, with `grace_period`)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    repeats = 0  # trials in a row that drew a finished trial's parameters

    def admitted(trial: optuna.Trial) -> float:
        nonlocal repeats
        trial.set_user_attr(WORKER, worker_id())  # first: the reaper can tell whether its process is alive
        gate.release()  # the trial now exists (RUNNING): other workers count it
        try:
            value = objective(trial)
        except RepeatedConfig:
            repeats += 1
            raise
        except BaseException:
            repeats = 0
            raise
        repeats = 0
        return value

    while deadline is None or time.monotonic() < deadline:
        interrupt.check()
        if repeats >= MAX_REPEATS:
            log.warning("%d trials in a row drew the parameters of finished trials: the search space looks "
                        "exhausted; stopping before search.n_trials=%d (widen the space to search on)",
                        repeats, budget)
            return
        gate.acquire()
        try:
            if optuna_internals.rdb_storage(study) is not None:
                optuna.storages.fail_stale_trials(study)  # heartbeats: a dead machine's trials fail and retry
            to_finish, to_admit = budget_left(study, budget)
            if to_finish == 0:
                return
            if to_admit == 0:  # the rest of the budget is running elsewhere: wait for it
                reap_orphans(study, grace_period)
                gate.release()
                time.sleep(poll)
                continue
            if before_trial is not None:
                before_trial(study)
            study.optimize(admitted, n_trials=1, callbacks=callbacks, catch=(RepeatedConfig,))
        finally:
            gate.release()
