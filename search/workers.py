"""Running trials to a study-wide budget, in one process or in several that share the study.

`run_trials` is each worker's loop: it admits a new trial only while the study holds fewer than
`search.n_trials` finished trials once those already running are counted, so that N workers (and N
machines) stop at the budget instead of each running their own count. On one machine the admission is
serialised by a file lock (released by the kernel if its holder dies); on PostgreSQL by an advisory lock
that every machine shares. Either makes the count exact. (With Redis across machines the check is made
against the shared storage just before each trial, and two machines may overshoot by a trial.)

`run_workers` starts `workers=N` processes on this machine and watches them: a worker that dies in the
middle of a trial (SIGKILL, out of memory) has that trial marked failed and retried once with the same
parameters, for every storage. Across machines, RDB heartbeats do the same after `storage.grace_period`.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import fcntl
import gc
import hashlib
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import optuna
import sqlalchemy
import sqlalchemy.exc
import torch
import torch.multiprocessing as mp
from optuna.trial import TrialState

from search import interrupt
from search.errors import RepeatedConfig, UserError, write_error

log = logging.getLogger(__name__)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_REPEATS = 20  # a sampler that keeps proposing finished configurations has run out of space


def worker_id(pid: int | None = None) -> str:
    return f"{socket.gethostname()}:{pid or os.getpid()}"


class Gate:
    """An exclusive file lock, held from the budget check until the new trial exists in storage."""

    def __init__(self, path: str | None):
        self.path, self.handle = path, None

    def acquire(self) -> None:
        if self.path is not None:
            self.handle = open(self.path, "a")
            fcntl.flock(self.handle, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


class PostgresGate(Gate):
    """Admission across machines: a PostgreSQL advisory lock on the study's name, taken on a connection of
    the storage's own pool. The server drops it if its holder's connection dies."""

    def __init__(self, storage: optuna.storages.RDBStorage, study_name: str):
        super().__init__(None)
        self.engine, self.connection = storage.engine, None
        self.key = int.from_bytes(hashlib.sha256(study_name.encode()).digest()[:8], "big", signed=True)

    def acquire(self) -> None:
        self.connection = self.engine.connect()
        self.connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": self.key})

    def release(self) -> None:
        if self.connection is not None:
            self.connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self.connection.close()
            self.connection = None


def rdb_storage(study: optuna.Study) -> optuna.storages.RDBStorage | None:
    """The study's RDB storage, if it has one (Optuna wraps it in a cache layer of its own)."""
    storage = getattr(study._storage, "_backend", study._storage)
    return storage if isinstance(storage, optuna.storages.RDBStorage) else None


def gate_for(study: optuna.Study, local_lock: str | None) -> Gate:
    """The strongest admission lock the storage offers: PostgreSQL's across machines, else a local file lock."""
    storage = rdb_storage(study)
    if storage is not None and storage.engine.dialect.name == "postgresql":
        return PostgresGate(storage, study.study_name)
    return Gate(local_lock)


def finished_and_running(study: optuna.Study) -> tuple[int, int]:
    """(finished, running) trials of the study. On an RDB storage one COUNT query, not every trial's rows."""
    storage = rdb_storage(study)
    if storage is not None:
        with storage.engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT state, COUNT(*) FROM trials WHERE study_id = :id "
                                                      "GROUP BY state"), {"id": study._study_id}).all()
        counts = {str(state).rsplit(".", 1)[-1]: n for state, n in rows}
        return counts.get("COMPLETE", 0) + counts.get("PRUNED", 0), counts.get("RUNNING", 0)
    trials = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
    finished = sum(t.state in FINISHED for t in trials)
    return finished, len(trials) - finished


try:
    _LIBC = ctypes.CDLL("libc.so.6")  # glibc; elsewhere memory is left to the allocator
except OSError:
    _LIBC = None


def release_memory() -> None:
    """Hand the memory of a finished trial back to the OS. glibc keeps freed blocks in its arenas, and a
    study of many differently shaped models grew by about 13 MB a trial without this (1.7 GB after 40
    sentiment trials, 2.8 GB after 120)."""
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def run_trials(study: optuna.Study, objective: Callable, budget: int, timeout: float | None,
               callbacks: list, gate: Gate, poll: float = 1.0,
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
        trial.set_user_attr("worker", worker_id())  # first: the reaper can tell whether its process is alive
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
            if rdb_storage(study) is not None:
                optuna.storages.fail_stale_trials(study)  # heartbeats: a dead machine's trials fail and retry
            finished, running = finished_and_running(study)
            if finished >= budget:
                return
            if finished + running >= budget:  # the rest of the budget is running elsewhere: wait for it
                reap_orphans(study, grace_period)
                gate.release()
                time.sleep(poll)
                continue
            if before_trial is not None:
                before_trial(study)
            study.optimize(admitted, n_trials=1, callbacks=callbacks, catch=(RepeatedConfig,))
        finally:
            gate.release()


def _fail_and_retry(study: optuna.Study, trial: optuna.trial.FrozenTrial, reason: str) -> None:
    """Mark a RUNNING trial whose process is gone failed (with `reason`), and queue it again once."""
    storage = study._storage
    storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
    storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    if "retry_of" not in trial.user_attrs:
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        log.warning("trial %d: %s; marked failed and queued again", trial.number, reason)
    else:
        log.warning("trial %d: %s; marked failed (already a retry: not queued again)", trial.number, reason)


def reap(study: optuna.Study, pid: int, how: str) -> None:
    """Mark the RUNNING trials of a dead local worker failed, and queue each again once."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker") == worker_id(pid):
            _fail_and_retry(study, trial, f"worker {worker_id(pid)} {how}")


def _age(trial: optuna.trial.FrozenTrial) -> float:
    start = trial.datetime_start
    if start is None:
        return 0.0
    now = datetime.datetime.now(start.tzinfo) if start.tzinfo else datetime.datetime.now()
    return (now - start).total_seconds()


def _without_heartbeat(storage: optuna.storages.RDBStorage, study: optuna.Study) -> set[int]:
    """Trial ids of the study's RUNNING trials that never recorded a heartbeat."""
    with storage.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text(
            "SELECT t.trial_id FROM trials t LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
            "WHERE t.study_id = :id AND t.state = 'RUNNING' AND h.trial_id IS NULL"), {"id": study._study_id}).all()
    return {row[0] for row in rows}


def reap_orphans(study: optuna.Study, grace_period: float | None = None) -> None:
    """Fail and retry the RUNNING trials whose process is gone.

    - A trial of a process of this machine that no longer exists (a run killed outright): at once. For
      storages without heartbeats (journal file, Redis), which would otherwise keep it forever; on RDB
      storages the heartbeat does it, for every machine alike.
    - A trial that its process never claimed (no `worker` attribute; on an RDB storage, no heartbeat): its
      process died in the moment between creating it and claiming it. Once it is `grace_period` seconds
      old (None: never), on every storage."""
    rdb = rdb_storage(study)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if grace_period is not None and running:
        silent = _without_heartbeat(rdb, study) if rdb is not None else None
        for trial in running:
            unclaimed = trial._trial_id in silent if silent is not None else "worker" not in trial.user_attrs
            if unclaimed and _age(trial) > grace_period:
                _fail_and_retry(study, trial, f"its process ended before it claimed the trial (unclaimed for "
                                              f"more than storage.grace_period={grace_period:g} s)")
    if rdb is not None:
        return
    host = socket.gethostname()
    for trial in running:
        owner = trial.user_attrs.get("worker", "")
        worker_host, _, pid = owner.rpartition(":")
        if worker_host != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            reap(study, int(pid), "is gone (its process ended without finishing the trial)")
        except PermissionError:
            pass  # alive, another user's


def _worker_main(index: int, threads: int, gate_path: str, work: Callable[[int, Gate], None]) -> None:
    interrupt.install()  # Ctrl-C and SIGTERM end the running trial at the next safe point
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO, format=f"[worker {index}] %(message)s", force=True)
    try:
        work(index, Gate(gate_path))
    except KeyboardInterrupt:
        raise SystemExit(130)
    except UserError as e:
        print(f"error: [worker {index}] {e}", file=sys.stderr)
        raise SystemExit(2)
    except (OSError, sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError,
            AssertionError) as e:  # Optuna asserts "Should not reach." when storing a result fails: its context says why
        error = write_error(e, None)  # a disk that refused a write: full, read-only
        if error is None:
            raise
        print(f"error: [worker {index}] {error}", file=sys.stderr)
        raise SystemExit(2)


def run_workers(n: int, threads: int, study: optuna.Study, work: Callable[[int, Gate], None]) -> list[int]:
    """Start `n` worker processes that each call `work(index, gate)`; return their exit codes.

    `work` must be picklable (a module-level function or a functools.partial of one)."""
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="cellsearch-") as folder:
        gate_path = str(Path(folder) / "admission.lock")
        procs = [ctx.Process(target=_worker_main, args=(i, threads, gate_path, work), name=f"worker {i}")
                 for i in range(n)]
        for p in procs:
            p.start()
        reaped: set[int] = set()
        try:
            while any(p.exitcode is None for p in procs):
                for p in procs:
                    p.join(timeout=0.2)
                    interrupt.check()
                    if p.exitcode is not None and p.exitcode < 0 and p.pid not in reaped:
                        reaped.add(p.pid)
                        reap(study, p.pid, f"was killed by signal {-p.exitcode}")
        except KeyboardInterrupt as e:
            name = interrupt.signal_name(e)
            with contextlib.suppress(KeyboardInterrupt):
                # Ctrl-C at a terminal reaches every process of the group: the workers stop at their next safe
                # point by themselves (passed on too early, it would be their second signal: stop at once).
                # SIGTERM, or a SIGINT that only this process got, is passed on.
                _join_all(procs, 0 if name == "SIGTERM" else 10)
                for p in procs:
                    if p.exitcode is None:
                        os.kill(p.pid, signal.Signals[name])
                _join_all(procs, 30)
                for p in procs:  # never exit leaving a worker behind (Python would wait for it forever)
                    if p.exitcode is None:
                        p.kill()
                        p.join()
                        reap(study, p.pid, f"did not stop within 30 s of {name}: killed")
            raise
    return [p.exitcode for p in procs]


def _join_all(procs: list, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
