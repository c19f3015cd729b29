"""`workers=N`: N processes on this machine share the study. Each runs the admission loop; this process watches
them, fails and retries the trial of one that dies (SIGKILL, out of memory), passes Ctrl-C and SIGTERM on, and
never exits leaving one behind."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import sqlalchemy.exc
import torch
import torch.multiprocessing as mp

from search import interrupt
from search.errors import UserError, write_error
from search.storage.locks import FileGate
from search.workers.reaper import reap


def _worker_main(index: int, threads: int, gate_path: str, work: Callable[[int, FileGate], None]) -> None:
    interrupt.install()  # Ctrl-C and SIGTERM end the running trial at the next safe point
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO, format=f"[worker {index}] %(message)s", force=True)
    try:
        work(index, FileGate(gate_path))
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except UserError as e:
        print(f"error: [worker {index}] {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except (OSError, sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError,
            AssertionError) as e:  # Optuna asserts "Should not reach." when a store fails: the context says why
        error = write_error(e, None)  # a disk that refused a write: full, read-only
        if error is None:
            raise
        print(f"error: [worker {index}] {error}", file=sys.stderr)
        raise SystemExit(2) from None


def run_workers(n: int, threads: int, study: optuna.Study, work: Callable[[int, FileGate], None]) -> list[int]:
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

        def reap_killed() -> None:
            for p in procs:
                if p.exitcode is not None and p.exitcode < 0 and p.pid not in reaped:
                    reaped.add(p.pid)
                    reap(study, p.pid, f"was killed by signal {-p.exitcode}")

        try:
            while any(p.exitcode is None for p in procs):
                for p in procs:
                    p.join(timeout=0.2)
                    interrupt.check()
                    reap_killed()
            reap_killed()  # the last worker to die ends the loop before its trial is reaped
        except KeyboardInterrupt as e:
            _stop(procs, study, interrupt.signal_name(e))
            raise
    return [p.exitcode for p in procs]


def _stop(procs: list, study: optuna.Study, name: str) -> None:
    """Ctrl-C at a terminal reaches every process of the group: the workers stop at their next safe point by
    themselves (passed on too early, it would be their second signal: stop at once). SIGTERM, or a SIGINT that
    only this process got, is passed on. A worker still there 30 s later is killed and its trial reaped."""
    with contextlib.suppress(KeyboardInterrupt):
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


def _join_all(procs: list, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
