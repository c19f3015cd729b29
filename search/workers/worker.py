"""One worker's share of a search: its objective, progress bar and callbacks, run until the study holds
search.n_trials finished trials (the admission under the budget: admission.py), in this process (`workers=1`) or in
each of `workers=N` processes (processes.py), and what the search stage says when workers fail or are killed."""

from __future__ import annotations

import functools
import logging
import os
import signal

import optuna
import torch
from omegaconf import DictConfig

import search.tracking
from search.compare import queue_fewest
from search.devices import choose_device, worker_device
from search.errors import UserError, quiet_optuna_failures
from search.objective import make_objective
from search.progress import Progress
from search.sampling import balanced, cells, make_pruner, make_sampler
from search.storage.locks import FileGate
from search.storage.open import open_storage
from search.storage.urls import mask
from search.tasks import Task
from search.workers.admission import budget_left, finished_and_running, gate_for, run_trials
from search.workers.processes import run_workers
from search.workers.reaper import reap_orphans

log = logging.getLogger(__name__)


def run_search(cfg: DictConfig, task: Task, study: optuna.Study, device: torch.device, run_number: int) -> None:
    """Run trials, in this process or in `workers` processes, until the study holds search.n_trials."""
    reap_orphans(study, cfg.storage.grace_period)
    budget = cfg.search.n_trials
    done, _ = finished_and_running(study)
    to_finish, _ = budget_left(study, budget)
    where = f"study '{study.study_name}' in {mask(cfg.storage.url)}"
    if to_finish == 0:
        log.info("%s already holds %d finished trials (search.n_trials=%d): nothing to run", where, done, budget)
    elif cfg.workers == 1:
        log.info("%s: %d of %d finished trials present, running %d on %s", where, done, budget, to_finish,
                 device)
        if cfg.train.threads > 0:
            torch.set_num_threads(cfg.train.threads)
        work(cfg, task, study, gate_for(study, None), bar=True)
    else:
        threads = cfg.train.threads or max(1, len(os.sched_getaffinity(0)) // cfg.workers)
        log.info("%s: %d of %d finished trials present, running %d with %d worker processes of %d torch "
                 "thread(s) each", where, done, budget, to_finish, cfg.workers, threads)
        codes = run_workers(cfg.workers, threads, study, functools.partial(work_in_process, cfg, task, run_number))
        failed = [i for i, code in enumerate(codes) if code not in (0, 130) and code > 0]
        if failed:
            raise UserError(f"worker(s) {failed} stopped with an error (exit codes {codes}); see their messages above")
        killed = {i: signal.Signals(-code).name for i, code in enumerate(codes) if code < 0}
        left, _ = budget_left(study, budget)
        if killed and left > 0:  # one killed while the others finish the budget is survived; all of them is not
            raise UserError(f"worker(s) {', '.join(f'{i} ({name})' for i, name in killed.items())} were killed by a "
                            f"signal and {where} holds {budget - left} of {budget} finished trials; run the same "
                            "command again to finish it (a killed worker's trial is queued again)")


def work(cfg: DictConfig, task: Task, study: optuna.Study, gate: FileGate, bar: bool, prefix: str = "") -> None:
    """One worker's share: run trials until the study holds search.n_trials finished ones."""
    budget = cfg.search.n_trials
    progress = Progress(budget_left(study, budget)[0], task.metric,
                        cfg.train.max_epochs, bar=bar, prefix=prefix)
    try:
        admit = functools.partial(queue_fewest, cells=cells(cfg)) if balanced(cfg) else None
        device = choose_device(cfg.train.device)
        task.to(device)  # the data lives on the device for the whole study (this process's copy)
        run_trials(study, make_objective(cfg, task, device, progress.epoch), budget,
                   cfg.search.timeout, [progress, *search.tracking.callbacks(cfg.tracking, cfg.storage.url)], gate,
                   before_trial=admit, grace_period=cfg.storage.grace_period)
    finally:
        progress.close()


def work_in_process(cfg: DictConfig, task: Task, run_number: int, index: int, gate: FileGate) -> None:
    """A worker process: its own storage connection, and a sampler seeded apart from the other workers'."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    quiet_optuna_failures()
    study = optuna.load_study(study_name=cfg.search.study_name, storage=open_storage(cfg.storage, cfg.workers),
                              sampler=make_sampler(cfg, run_number, index), pruner=make_pruner(cfg))
    cfg.train.device = worker_device(cfg.train.device, index, cfg.train.devices)  # worker i: GPU i mod G
    work(cfg, task, study, gate_for(study, gate.path), bar=False, prefix=f"[worker {index}] ")
