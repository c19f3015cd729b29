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

from search.compare import cell_of
from search.errors import UserError
from search.model import count_parameters
from search.objective import train_config
from search.tasks import Task

log = logging.getLogger(__name__)
SEED_BASE = 1_000_000  # re-evaluation seeds: far from the search's seed + trial number


def best_per_cell(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        cell = cell_of(trial)
        if cell not in best or (trial.value > best[cell].value if maximize else trial.value < best[cell].value):
            best[cell] = trial
    return dict(sorted(best.items()))


def stored_config(trial: optuna.trial.FrozenTrial) -> DictConfig:
    if "config" not in trial.user_attrs:
        raise UserError(f"trial {trial.number} has no stored config (it did not start training)")
    return OmegaConf.create(trial.user_attrs["config"])


def reevaluate(study: optuna.Study, task: Task, seeds: int, device: torch.device) -> optuna.Study:
    metric = task.metric.name
    runs = optuna.create_study(study_name=f"{study.study_name}.reeval", storage=study._storage,
                               direction=study.direction, load_if_exists=True)
    runs.set_user_attr("of_study", study.study_name)
    runs.set_user_attr("metric", task.metric.as_dict())
    done = _done(runs)
    best = best_per_cell(study)
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
            user_attrs={"cell": cell, "seed": seed, "source_trial": trial.number, f"val_{metric}":
                        run.fit.best_value, f"test_{metric}": run.test, "n_params": count_parameters(run.model),
                        "sec_per_epoch": run.fit.sec_per_epoch, "epochs": run.fit.epochs,
                        "best_epoch": run.fit.best_epoch}))
        log.info("re-evaluation %d/%d, %s (trial %d) seed %d: val %s %.4g, test %s %.4g %s", i, len(todo), cell,
                 trial.number, seed, metric, run.fit.best_value, metric, run.test, task.metric.unit)
    print(reeval_table(runs, task))
    return runs


def _done(runs: optuna.Study) -> set[tuple]:
    """(source trial, seed) of every stored re-evaluation run."""
    return {(t.user_attrs.get("source_trial"), t.user_attrs.get("seed")) for t in runs.get_trials(deepcopy=False)}


def reeval_table(runs: optuna.Study, task: Task) -> str:
    metric, unit = task.metric.name, task.metric.unit
    lines = [f"\nre-evaluation ('{runs.study_name}'): test {metric} ({unit}) over seeds, mean ± standard deviation"]
    by_cell: dict[str, list[float]] = {}
    for t in runs.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        by_cell.setdefault(t.user_attrs["cell"], []).append(t.user_attrs[f"test_{metric}"])
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
    run = train_config(config, task, trial.user_attrs["seed"], device)
    stored = {"val": trial.user_attrs.get(f"val_{metric}"), "test": trial.user_attrs.get(f"test_{metric}"),
              "epochs": trial.user_attrs.get("epochs")}
    replayed = {"val": run.fit.best_value, "test": run.test, "epochs": run.fit.epochs}
    note = "" if trial.state == TrialState.COMPLETE else f" (stored trial was {trial.state.name}: replayed unpruned)"
    print(f"\nreplay of trial {number} ({cell_of(trial)}, seed {trial.user_attrs['seed']}){note}, {metric} in "
          f"{task.metric.unit}:\n"
          f"  {'':10}{'stored':>12}{'replayed':>12}\n"
          + "\n".join(f"  {key:10}{_fmt(stored[key]):>12}{_fmt(replayed[key]):>12}" for key in stored))
    return stored, replayed


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
