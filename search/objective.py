"""The Optuna objective: draw a trial's config, train one model, report every epoch, store what it cost.

The value returned (and reported each epoch, for the pruner) is the validation metric. The test metric is
computed once, after training, from the best validation epoch's weights, and only stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import optuna
import torch
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

import search
from search import interrupt
from search.artifacts import artifact_store, is_best_of_cell, save_model
from search.errors import RepeatedConfig, UserError
from search.kernels import kernel_of
from search.model import SequenceModel, count_parameters
from search.records import (
    BEST_EPOCH,
    CELL,
    CONFIG,
    DATA_SOURCE,
    DATASET,
    DEVICE,
    EPOCHS,
    FAIL_REASON,
    HIDDEN_SIZE_USED,
    N_PARAMS,
    N_PARAMS_RECURRENT,
    REPEAT_OF,
    RETRY_OF,
    RNN_KERNEL,
    SEC_PER_EPOCH,
    SEED,
    VERSION,
    WORKER,
    score_attr,
)
from search.sizing import size_trial
from search.space import suggest
from search.storage.urls import mask_all
from search.tasks import Task
from search.train import FitResult, NonFiniteLoss, release_memory, train_config
from search.workers.reaper import queue_retry, worker_id


def resolved(cfg: DictConfig) -> dict:
    """The config as plain data, with every password masked (storage.url and any other URL): what is stored
    and shown."""
    return mask_all(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))


def with_kernel(config: dict, kernel: str | None) -> dict:
    """The stored config with train.rnn_kernel as the trial trains (auto pinned to the kernel measured fastest,
    search/kernels.py's pin_kernel), so that a replay or a re-evaluation takes the same kernel."""
    if kernel in (None, "auto") or "train" not in config:
        return config
    return {**config, "train": {**config["train"], "rnn_kernel": kernel}}


_CPU_OUT_OF_MEMORY = ("can't allocate memory", "not enough memory", "DefaultCPUAllocator")


def refuse_repeat(trial: optuna.Trial) -> None:
    """A trial whose parameters are those of a finished trial is failed untrained (RepeatedConfig), unless it
    is the deliberate retry of a trial whose process died (`retry_of`)."""
    if RETRY_OF in trial.user_attrs:
        return
    for done in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if done.params == trial.params:
            reason = f"repeats the parameters of finished trial {done.number}: not trained"
            trial.set_user_attr(FAIL_REASON, reason)
            trial.set_user_attr(REPEAT_OF, done.number)
            raise RepeatedConfig(reason)


def make_objective(cfg: DictConfig, task: Task, device: torch.device,
                   show_epoch: Callable[[int, int, float], None] = lambda trial, epoch, value: None):
    metric = task.metric.name
    store = artifact_store(cfg.storage)

    def objective(trial: optuna.Trial) -> float:
        trial_cfg = suggest(trial, cfg)
        refuse_repeat(trial)
        size_trial(trial_cfg, task, cfg.compare.strategy.value)
        seed = cfg.seed + trial.number
        config = resolved(trial_cfg)

        def on_start(model: SequenceModel) -> None:
            nonlocal config  # stored, and saved with the model, with the kernel the trial trains with
            config = with_kernel(config, getattr(model.rnn, "kernel", None))
            for key, value in {
                CELL: trial_cfg.model.cell.value,
                HIDDEN_SIZE_USED: trial_cfg.model.hidden_size,
                N_PARAMS: count_parameters(model),
                N_PARAMS_RECURRENT: count_parameters(model.rnn),
                RNN_KERNEL: kernel_of(model.rnn, device, trial_cfg.train.batch_size),
                SEED: seed,
                DEVICE: str(device),
                DATASET: task.name,
                DATA_SOURCE: task.card["source"],
                VERSION: search.__version__,
                WORKER: worker_id(),
                CONFIG: config,
            }.items():
                trial.set_user_attr(key, value)

        def record(progress: FitResult) -> None:
            trial.set_user_attr(EPOCHS, progress.epochs)
            trial.set_user_attr(BEST_EPOCH, progress.best_epoch)
            trial.set_user_attr(SEC_PER_EPOCH, progress.sec_per_epoch)
            trial.set_user_attr(score_attr("val", metric), progress.best_value)

        def on_epoch(progress: FitResult) -> None:
            show_epoch(trial.number, progress.epochs, progress.history[-1])
            trial.report(progress.history[-1], progress.epochs)
            if trial.should_prune():
                record(progress)
                raise optuna.TrialPruned(f"pruned after epoch {progress.epochs}: val {metric} "
                                         f"{progress.history[-1]:.4g}")

        out_of_memory = None
        try:
            run = train_config(trial_cfg, task, seed, device, on_start, on_epoch)
        except NonFiniteLoss as e:
            trial.set_user_attr(FAIL_REASON, str(e))
            raise optuna.TrialPruned(str(e)) from None
        except torch.OutOfMemoryError as e:  # the model or batch is too large for the accelerator: next trial
            out_of_memory = f"out of memory on {device}: {str(e).splitlines()[0] if str(e) else 'OutOfMemoryError'}"
        except RuntimeError as e:  # the CPU's allocator says it with a plain RuntimeError
            if not any(sign in str(e) for sign in _CPU_OUT_OF_MEMORY):
                raise
            out_of_memory = f"out of memory on {device}: {str(e).strip().splitlines()[-1][:200]}"
        if out_of_memory is not None:  # out of the except block, the failed trial's tensors can be freed
            release_memory()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            trial.set_user_attr(FAIL_REASON, out_of_memory)
            raise optuna.TrialPruned(out_of_memory)
        record(run.fit)
        trial.set_user_attr(score_attr("test", metric), run.test)
        if is_best_of_cell(trial.study, trial_cfg.model.cell.value, run.fit.best_value):
            save_model(trial, run.model, config, store)
        return run.fit.best_value

    def objective_then_release(trial: optuna.Trial) -> float:
        try:
            try:
                return objective(trial)
            finally:
                release_memory()
        except KeyboardInterrupt as e:  # search/interrupt.py raises it between two batches; its text is the signal
            name = interrupt.signal_name(e)
            trial.set_user_attr(FAIL_REASON, f"interrupted by {name}" + " (Ctrl-C)" * (name == "SIGINT"))
            if name == "SIGTERM" and "SLURM_JOB_ID" in os.environ:
                # Slurm stopping the job (preemption, time limit): the configuration is not lost, it runs again
                queue_retry(trial.study, trial)
            raise
        except UserError as e:  # the model could not be saved (disk full, read-only): the run stops with it
            trial.set_user_attr(FAIL_REASON, str(e))
            raise

    return objective_then_release
