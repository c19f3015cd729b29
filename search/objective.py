"""The Optuna objective: draw a trial's config, train one model, report every epoch, store what it cost.

The value returned (and reported each epoch, for the pruner) is the validation metric. The test metric is
computed once, after training, from the best validation epoch's weights, and only stored.
"""

from __future__ import annotations

from typing import Callable

import optuna
import torch
from omegaconf import DictConfig, OmegaConf

import search
from search.model import build_model, count_parameters
from search.space import suggest
from search.storage import mask
from search.tasks import Task
from search.train import FitResult, NonFiniteLoss, fit
from search.workers import worker_id


def resolved(cfg: DictConfig) -> dict:
    """The config as plain data, with the storage password masked: what is stored and shown."""
    data = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    data["storage"]["url"] = mask(data["storage"]["url"])
    return data


def make_objective(cfg: DictConfig, task: Task, device: torch.device,
                   show_epoch: Callable[[int, int, float], None] = lambda trial, epoch, value: None):
    metric = task.metric.name

    def objective(trial: optuna.Trial) -> float:
        trial_cfg = suggest(trial, cfg)
        seed = cfg.seed + trial.number
        torch.manual_seed(seed)
        model = build_model(trial_cfg.model, task)
        seq_len = trial_cfg.dataset.seq_len
        for key, value in {
            "cell": trial_cfg.model.cell.value,
            "n_params": count_parameters(model),
            "n_params_recurrent": count_parameters(model.rnn),
            "seed": seed,
            "device": str(device),
            "dataset": task.name,
            "data_source": task.card["source"],
            "cellsearch_version": search.__version__,
            "worker": worker_id(),
            "config": resolved(trial_cfg),
        }.items():
            trial.set_user_attr(key, value)

        def record(progress: FitResult) -> None:
            trial.set_user_attr("epochs", progress.epochs)
            trial.set_user_attr("best_epoch", progress.best_epoch)
            trial.set_user_attr("sec_per_epoch", progress.sec_per_epoch)
            trial.set_user_attr(f"val_{metric}", progress.best_value)

        def on_epoch(progress: FitResult) -> None:
            show_epoch(trial.number, progress.epochs, progress.history[-1])
            trial.report(progress.history[-1], progress.epochs)
            if trial.should_prune():
                record(progress)
                raise optuna.TrialPruned(f"pruned after epoch {progress.epochs}: val {metric} "
                                         f"{progress.history[-1]:.4g}")

        generator = torch.Generator().manual_seed(seed)
        try:
            result = fit(model, task, seq_len, trial_cfg.train, device, generator, on_epoch)
        except NonFiniteLoss as e:
            trial.set_user_attr("fail_reason", str(e))
            raise optuna.TrialPruned(str(e)) from None
        except KeyboardInterrupt:
            trial.set_user_attr("fail_reason", "interrupted (Ctrl-C / SIGINT)")
            raise
        record(result)
        trial.set_user_attr(f"test_{metric}", task.score(model, "test", seq_len, device))
        return result.best_value

    return objective
