"""Run a study: check the config, open the storage, load the data once, create or resume the study, and run the
stage the config names: the search until the study holds `search.n_trials` finished (complete or pruned) trials
(the trials themselves: search/workers/worker.py), then re-evaluation; or re-evaluation or a replay alone."""

from __future__ import annotations

import logging

import optuna
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

import search
import search.tracking
from search import cluster
from search.config import check_values
from search.devices import choose_device, mixed_precision, worker_device
from search.errors import UserError, quiet_optuna_failures
from search.interrupt import interruptible
from search.objective import resolved
from search.records import (
    CELL,
    CONFIG,
    DATASET_CARD,
    METRIC,
    SAMPLER_RUNS,
    SPACE,
    VERSION,
    best_per_cell,
    cell_of,
    maximizes,
)
from search.reeval import reevaluate, replay
from search.resume import check_same_experiment
from search.sampling import cells, make_pruner, make_sampler
from search.sizing import check_sizing, warn_costliest_corner
from search.space import check_space, describe
from search.storage.locks import setup_lock
from search.storage.open import open_storage, resolve_url
from search.storage.urls import mask
from search.summary import summary, verdict
from search.tasks import Task
from search.workers.worker import run_search

log = logging.getLogger(__name__)


def load_task(cfg: DictConfig) -> Task:
    task = OmegaConf.to_object(cfg.dataset).load()
    longest = task.max_seq_len
    spec = cfg.space.get("dataset.seq_len")
    if spec is not None and not task.uses_seq_len:
        raise UserError(f"the space searches dataset.seq_len, which {task.name} does not use (its sequences have "
                        "their own length); remove dataset.seq_len from the space")
    if spec is None:
        reach = cfg.dataset.seq_len
    elif spec.type == "categorical":
        reach = max(spec.choices)
    else:
        reach = spec.high
    if longest is not None and reach > longest:
        raise UserError(f"dataset.seq_len reaches {reach}, but {task.name} has only {longest} training steps "
                        "to draw windows from; lower the sequence length or its range in the space")
    if task.uses_seq_len:
        warn_costliest_corner(cfg, task, reach)
    return task


def open_study(cfg: DictConfig, task: Task, storage, pruner) -> tuple[optuna.Study, int]:
    """Create or resume the study, describe it (first run only), and claim this run's number: how many runs
    sampled from the study before this one (`sampler_runs`), which seeds this run's samplers apart."""
    name = cfg.search.study_name
    with setup_lock(cfg.storage.url):  # processes and machines starting together take turns here
        try:
            study = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
        except KeyError:
            try:
                study = optuna.create_study(study_name=name, storage=storage, pruner=pruner,
                                            direction=task.metric.direction)
            except optuna.exceptions.DuplicatedStudyError:  # Redis (no lock): another machine was first
                study = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
        check_same_experiment(study, cfg, task, resolved(cfg))
        for key, value in {
            METRIC: task.metric.as_dict(),
            DATASET_CARD: {**task.card, "baseline": task.baseline},
            SPACE: describe(cfg),
            CONFIG: resolved(cfg),
            VERSION: search.__version__,
        }.items():
            if key not in study.user_attrs:
                study.set_user_attr(key, value)
        if study.metric_names is None:  # optuna-dashboard shows this instead of "Objective 0"
            study.set_metric_names([task.metric.label("val")])
        run = study.user_attrs.get(SAMPLER_RUNS, 0)
        study.set_user_attr(SAMPLER_RUNS, run + 1)
        if "model.cell" in cfg.space:
            _queue_untried_cells(study, cfg)
    return study, run


def _queue_untried_cells(study: optuna.Study, cfg: DictConfig) -> None:
    """Each cell type is tried first (and again after its only trial failed), so both are represented."""
    alive = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    tried = {cell_of(t) for t in study.get_trials(deepcopy=False, states=alive)}
    for cell in cells(cfg):
        if cell not in tried:
            study.enqueue_trial({CELL: cell})


def run(cfg: DictConfig) -> optuna.Study:
    """`python -m search`: the stage that cfg.stage names, on the study that the config describes."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # search/progress.py reports each trial instead
    quiet_optuna_failures()
    check_values(cfg)
    check_space(cfg)
    check_sizing(cfg)
    make_sampler(cfg, 0, 0)  # a sampler that cannot be built: one line now, before the storage is opened
    pruner = make_pruner(cfg)
    if cfg.cluster.kind.value == "slurm":  # the login node: check the storage, submit, leave the training to the tasks
        cfg.storage.url = resolve_url(cfg.storage, cfg.workers, note=True)  # every process after sees it
        cluster.submit(cfg, list(HydraConfig.get().overrides.task))
        return None
    device = choose_device(cfg.train.device)
    worker_device(cfg.train.device, 0, cfg.train.devices)  # train.devices that this machine lacks: one line now
    mixed_precision(cfg.train, device)  # train.amp without CUDA: one line now, not a failure in every trial
    cfg.storage.url = resolve_url(cfg.storage, cfg.workers, note=True)  # every process after sees it
    storage = open_storage(cfg.storage, cfg.workers)
    tracker = search.tracking.connect(cfg.tracking, cfg.storage.url)  # tracking=mlflow, unreachable: one line, now
    with interruptible():  # no storage work while the data loads: Ctrl-C stops it at once
        task = load_task(cfg)
    log.info("data: %s, %s; baseline %s: val %s %.4g, test %.4g %s", task.name, task.card["source"],
             task.baseline["name"], task.metric.name, task.baseline["val"], task.baseline["test"], task.metric.unit)
    if cfg.stage.value != "search":
        study = _after_search(cfg, task, storage, device)
        if tracker is not None:
            tracker.finish(study)  # stage=reeval: its runs as children of the study's parent run
        return study
    study, run_number = open_study(cfg, task, storage, pruner)
    study.sampler = make_sampler(cfg, run_number, 0)
    if tracker is not None:
        tracker.start(study)  # the study's parent run, created or continued, and the trials it lacks
    run_search(cfg, task, study, device, run_number)
    print(summary(study, task))
    if cfg.search.reeval_seeds != 0:
        if best_per_cell(study.get_trials(deepcopy=False), maximizes(study)):
            _reevaluate(cfg, study, task.to(device), cfg.search.reeval_seeds, device)
        else:
            log.warning("re-evaluation skipped: the study has no complete trial yet")
    if tracker is not None:
        tracker.finish(study)  # the trials and re-evaluation runs not yet logged
    print(verdict(storage, study.study_name))
    return study


def _after_search(cfg: DictConfig, task: Task, storage, device: torch.device) -> optuna.Study:
    """stage=reeval or stage=replay, on a study that the search made."""
    try:
        study = optuna.load_study(study_name=cfg.search.study_name, storage=storage)
    except KeyError:
        raise UserError(f"no study '{cfg.search.study_name}' in {mask(cfg.storage.url)}: run the search first "
                        "(stage=search), or name the study with search.study_name") from None
    check_same_experiment(study, cfg, task, resolved(cfg))
    task.to(device)
    if cfg.stage.value == "reeval":
        _reevaluate(cfg, study, task, cfg.search.reeval_seeds or "auto", device)
        print(verdict(storage, study.study_name))
    else:
        replay(study, cfg.trial, task, device)
    return study


def _reevaluate(cfg: DictConfig, study: optuna.Study, task: Task, seeds, device: torch.device) -> None:
    reevaluate(study, task, device, seeds, cfg.search.reeval_max_seeds, cfg.search.reeval_timeout)
