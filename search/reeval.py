"""Re-evaluation and replay: how much of a best trial was its seed?

`stage=reeval` (and a search's end) retrains the best configuration of each cell type with fresh seeds (init,
data order, dropout) and evaluates each on the test split. The runs are stored in a sibling study,
`<study name>.reeval`, one COMPLETE trial per run: the configuration's parameters, the validation metric
as its value, the learning curve as intermediate values, and as user attributes `cell`, `seed`,
`source_trial`, `val_<metric>`, `test_<metric>`, `n_params`, `sec_per_epoch`, `epochs`, `best_epoch`.
Running it again adds only the runs that are missing.

How many seeds: `search.reeval_seeds=N` trains N a cell and looks at the verdict once. `search.reeval_seeds=auto`
(the default) trains in rounds, to 2, 4, 8, ... seeds a cell up to `search.reeval_max_seeds` (6: looks at 2, 4
and 6), computes the verdict after each round, and stops as soon as every comparison is decided (a winner or
practically equivalent) or `search.reeval_timeout` seconds have passed. Because the verdict is looked at up to K
times, each look's interval is computed at the Bonferroni level 1 - 0.05 / K (reports/welch.py), so the interval
it stops on still covers at 95 %; the seed counts of the looks are stored on the study as `reeval_looks` (every
look any run took: the report counts them all).

`stage=replay trial=N` retrains trial N with its stored configuration and seed and prints the stored and the
new results side by side; on the CPU with the same thread count they are the same numbers.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
import torch
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, TrialState

from reports.welch import seed_looks
from search.errors import UserError
from search.model import count_parameters
from search.optuna_internals import storage_of
from search.records import (
    BEST_EPOCH,
    CELL,
    CONFIG,
    EPOCHS,
    METRIC,
    N_PARAMS,
    OF_STUDY,
    REEVAL_LOOKS,
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
from search.train import train_config

log = logging.getLogger(__name__)
SEED_BASE = 1_000_000  # re-evaluation seeds: far from the search's seed + trial number
AUTO = "auto"


@dataclass
class RunResult:
    """What one re-evaluation run stores."""

    val: float
    test: float
    history: list[float]
    n_params: int
    sec_per_epoch: float
    epochs: int
    best_epoch: int


Trainer = Callable[[FrozenTrial, int], RunResult]  # (the cell's best trial, seed) -> the run


def stored_config(trial: optuna.trial.FrozenTrial) -> DictConfig:
    if CONFIG not in trial.user_attrs:
        raise UserError(f"trial {trial.number} has no stored config (it did not start training)")
    return OmegaConf.create(trial.user_attrs[CONFIG])


def trainer(task: Task, device: torch.device) -> Trainer:
    """Retrain a trial's stored configuration with a seed: the real training."""
    def train(trial: FrozenTrial, seed: int) -> RunResult:
        run = train_config(stored_config(trial), task, seed, device)
        return RunResult(run.fit.best_value, run.test, list(run.fit.history), count_parameters(run.model),
                         run.fit.sec_per_epoch, run.fit.epochs, run.fit.best_epoch)
    return train


def reevaluate(study: optuna.Study, task: Task, device: torch.device, seeds: int | str = AUTO, max_seeds: int = 6,
               timeout: float | None = None, train: Trainer | None = None) -> optuna.Study:
    """Re-evaluate each cell's best configuration: `seeds` a cell, or adaptively (`seeds="auto"`) up to
    `max_seeds`; `train` replaces the real training (the verdict benchmark draws scores of known truth)."""
    train = train or trainer(task, device)
    metric = task.metric.name
    runs = optuna.create_study(study_name=reeval_study_name(study.study_name), storage=storage_of(study),
                               direction=study.direction, load_if_exists=True)
    runs.set_user_attr(OF_STUDY, study.study_name)
    runs.set_user_attr(METRIC, task.metric.as_dict())
    best = best_per_cell(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), maximizes(study))
    if not best:
        raise UserError(f"study '{study.study_name}' has no complete trial to re-evaluate yet")
    looks = seed_looks(max_seeds) if seeds == AUTO else [int(seeds)]
    if looks[-1] >= 2:  # a look at the verdict's interval: every look counts in its correction
        runs.set_user_attr(REEVAL_LOOKS, sorted(set(runs.user_attrs.get(REEVAL_LOOKS, [])) | set(looks)))
    adaptive = seeds == AUTO
    if adaptive:
        log.info("re-evaluation: adaptive, up to %d seeds a cell for the best trial of each of %s; the verdict is "
                 "looked at after %s seeds and the search stops when it is decided", max_seeds, ", ".join(best),
                 ", ".join(map(str, looks)))
    start, trained = time.monotonic(), 0
    for number, n in enumerate(looks, start=1):
        todo = [(cell, trial, SEED_BASE + k) for cell, trial in best.items() for k in range(n)
                if (trial.number, SEED_BASE + k) not in _done(runs)]
        if todo and not adaptive:
            log.info("re-evaluation: %d runs to train (%d seeds for the best trial of each of %s)", len(todo), n,
                     ", ".join(best))
        for cell, trial, seed in todo:
            if timeout is not None and time.monotonic() - start > timeout:
                log.warning("re-evaluation stopped by search.reeval_timeout=%g s after %d runs (%.0f s)", timeout,
                            trained, time.monotonic() - start)
                print(reeval_table(runs, task))
                return runs
            if (trial.number, seed) in _done(runs):  # another machine re-evaluating the same study trained it
                continue
            run = train(trial, seed)
            runs.add_trial(optuna.trial.create_trial(
                params=trial.params, distributions=trial.distributions, value=run.val,
                intermediate_values=dict(enumerate(run.history, start=1)),
                user_attrs={CELL: cell, SEED: seed, SOURCE_TRIAL: trial.number, score_attr("val", metric): run.val,
                            score_attr("test", metric): run.test, N_PARAMS: run.n_params,
                            SEC_PER_EPOCH: run.sec_per_epoch, EPOCHS: run.epochs, BEST_EPOCH: run.best_epoch}))
            trained += 1
            log.info("re-evaluation run %d (%s seeds a cell), %s (trial %d) seed %d: val %s %.4g, test %s %.4g %s",
                     trained, n, cell, trial.number, seed, metric, run.val, metric, run.test, task.metric.unit)
        if adaptive:
            decided, text = _look(study)
            log.info("re-evaluation look %d of %d, at %d seeds a cell: %s", number, len(looks), n, text)
            if decided:
                break
    print(reeval_table(runs, task))
    return runs


def _look(study: optuna.Study) -> tuple[bool, str]:
    """The verdict now, by the report's rule (reports/verdict.py): whether every comparison is decided, and the
    headline in a few words."""
    from reports.collect import load
    from reports.config import ReportConfig
    from reports.verdict import decide
    from reports.wording import fmt

    verdict = decide(load(storage_of(study), study.study_name), ReportConfig())
    comparisons = [verdict, *verdict.gating]
    decided = all(v.decided for v in comparisons)
    text = "; ".join(f"{v.pair[0]} vs {v.pair[1]} {'decided' if v.decided else 'undecided'}, advantage "
                     f"{fmt(v.effect)} [{fmt(v.low)}, {fmt(v.high)}] at {100 * v.level:.3g} %, ROPE ±{fmt(v.rope, 3)}"
                     for v in comparisons)
    return decided, text + ("; stopping" if decided else "")


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
