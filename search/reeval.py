"""Re-evaluation and replay: how much of a best trial was its seed?

`stage=reeval` retrains the best configuration of each cell type with K fresh seeds (init, data order,
dropout) and evaluates each on the test split. The runs are stored in a sibling study,
`<study name>.reeval`, one COMPLETE trial per run: the configuration's parameters, the validation metric
as its value, the learning curve as intermediate values, and as user attributes `cell`, `seed`,
`source_trial`, `val_<metric>`, `test_<metric>`, `n_params`, `sec_per_epoch`, `epochs`, `best_epoch`.
Running it again adds only the runs that are missing.

`stage=replay trial=N` retrains trial N with its stored configuration and seed and prints the stored and the
new results side by side; on the CPU with the same thread count they are the same numbers.
"""

from __future__ import annotations

import logging
import statistics

import optuna
import torch
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from search.errors import UserError
from search.model import count_parameters
from search.objective import train_config
from search.optuna_internals import storage_of
from search.records import (
    BEST_EPOCH,
    CELL,
    CONFIG,
    EPOCHS,
    METRIC,
    N_PARAMS,
    OF_STUDY,
    SEC_PER_EPOCH,
    SEED,
    SOURCE_TRIAL,
    best_per_cell,
    cell_of,
    maximizes,
    reeval_study_name,
    score_attr,
)
from search.tasks import Task

log = logging.getLogger(__name__)
SEED_BASE = 1_000_000  # re-evaluation seeds: far from the search's seed + trial number


def stored_config(trial: optuna.trial.FrozenTrial) -> DictConfig:
    if CONFIG not in trial.user_attrs:
        raise UserError(f"trial {trial.number} has no stored config (it did not start training)")
    return OmegaConf.create(trial.user_attrs[CONFIG])


def reevaluate(study: optuna.Study, task: Task, seeds: int, device: torch.device) -> optuna.Study:
    metric = task.metric.name
    runs = optuna.create_study(study_name=reeval_study_name(study.study_name), storage=storage_of(study),
                               direction=study.direction, load_if_exists=True)
    runs.set_user_attr(OF_STUDY, study.study_name)
    runs.set_user_attr(METRIC, task.metric.as_dict())
    done = _done(runs)
    best = best_per_cell(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), maximizes(study))
    if not best:
        raise UserError(f"study '{study.study_name}' has no complete trial to re-evaluate yet")
    todo = [(cell, trial, SEED_BASE + k) for cell, trial in best.items() for k in range(seeds)
            if (trial.number, SEED_BASE + k) not in done]
    if todo:
        log.info("re-evaluation: %d runs to train (%d seeds for the best trial of each of %s)", len(todo), seeds,
                 ", ".join(best))
    for i, (cell, trial, seed) in enumerate(todo, start=1):
        if (trial.number, seed) in _done(runs):  # another machine re-evaluating the same study trained it
            continue
        config = stored_config(trial)
        run = train_config(config, task, seed, device)
        runs.add_trial(optuna.trial.create_trial(
            params=trial.params, distributions=trial.distributions, value=run.fit.best_value,
            intermediate_values=dict(enumerate(run.fit.history, start=1)),
            user_attrs={CELL: cell, SEED: seed, SOURCE_TRIAL: trial.number, score_attr("val", metric):
                        run.fit.best_value, score_attr("test", metric): run.test, N_PARAMS: count_parameters(run.model),
                        SEC_PER_EPOCH: run.fit.sec_per_epoch, EPOCHS: run.fit.epochs,
                        BEST_EPOCH: run.fit.best_epoch}))
        log.info("re-evaluation %d/%d, %s (trial %d) seed %d: val %s %.4g, test %s %.4g %s", i, len(todo), cell,
                 trial.number, seed, metric, run.fit.best_value, metric, run.test, task.metric.unit)
    print(reeval_table(runs, task))
    return runs


def _done(runs: optuna.Study) -> set[tuple]:
    """(source trial, seed) of every stored re-evaluation run."""
    return {(t.user_attrs.get(SOURCE_TRIAL), t.user_attrs.get(SEED)) for t in runs.get_trials(deepcopy=False)}


def reeval_table(runs: optuna.Study, task: Task) -> str:
    metric, unit = task.metric.name, task.metric.unit
    lines = [f"\nre-evaluation ('{runs.study_name}'): test {metric} ({unit}) over seeds, mean ± standard deviation"]
    by_cell: dict[str, list[float]] = {}
    for t in runs.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        by_cell.setdefault(t.user_attrs[CELL], []).append(t.user_attrs[score_attr("test", metric)])
    for cell, scores in sorted(by_cell.items()):
        spread = statistics.stdev(scores) if len(scores) > 1 else float("nan")
        lines.append(f"  {cell}: {statistics.mean(scores):.4g} ± {spread:.2g} ({len(scores)} seeds: "
                     + ", ".join(f"{s:.4g}" for s in scores) + ")")
    return "\n".join(lines)


def replay(study: optuna.Study, number: int | None, task: Task, device: torch.device) -> tuple[dict, dict]:
    """Retrain trial `number` exactly as it ran; return (stored, replayed) metrics and print them."""
    if number is None:
        raise UserError("stage=replay needs the trial to replay: add trial=N")
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        raise UserError(f"study '{study.study_name}' has no trial {number} (trials 0..{max(trials, default=-1)})")
    trial = trials[number]
    config = stored_config(trial)
    metric = task.metric.name
    run = train_config(config, task, trial.user_attrs[SEED], device)
    stored = {split: trial.user_attrs.get(score_attr(split, metric)) for split in ("val", "test")}
    stored["epochs"] = trial.user_attrs.get(EPOCHS)
    replayed = {"val": run.fit.best_value, "test": run.test, "epochs": run.fit.epochs}
    note = "" if trial.state == TrialState.COMPLETE else f" (stored trial was {trial.state.name}: replayed unpruned)"
    print(f"\nreplay of trial {number} ({cell_of(trial)}, seed {trial.user_attrs[SEED]}){note}, {metric} in "
          f"{task.metric.unit}:\n"
          f"  {'':10}{'stored':>12}{'replayed':>12}\n"
          + "\n".join(f"  {key:10}{_fmt(stored[key]):>12}{_fmt(replayed[key]):>12}" for key in stored))
    return stored, replayed


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
