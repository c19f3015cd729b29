"""Read the studies to report from an Optuna storage into plain tables, one row per trial.

A cellsearch study carries its metric, dataset card (with the baseline) and resolved config as study
attributes (search/study.py), each trial its cell, test score and costs as user attributes
(search/objective.py), and its re-evaluation runs live in the sibling study `<name>.reeval` (search/reeval.py).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from search.errors import UserError
from search.records import (
    BEST_EPOCH,
    CELL,
    CELLS,
    CONFIG,
    DATASET_CARD,
    EPOCHS,
    FAIL_REASON,
    METRIC,
    N_PARAMS,
    REEVAL_LOOKS,
    REEVAL_SUFFIX,
    RNN_KERNEL,
    SEC_PER_EPOCH,
    SEED,
    SOURCE_TRIAL,
    best_per_cell,
    cell_of,
    reeval_study_name,
    score_attr,
)

log = logging.getLogger(__name__)


class NotCellsearch(UserError):
    """A study in the storage that cellsearch did not make."""


class CellTrials(NamedTuple):
    """One cell's share of a study, selected once (StudyData.by_cell) for the summary table and the verdict."""

    trials: pd.DataFrame  # its search trials, every state
    best: pd.Series | None  # its best trial (search/records.py, best_per_cell), None before one completes
    scored: pd.DataFrame  # its COMPLETE trials with a validation and a test score: the verdict's sample
    reeval_tests: np.ndarray  # the test scores of its re-evaluation runs

    def count(self, *states: str) -> int:
        return int(self.trials.state.isin(states).sum())


@dataclass
class StudyData:
    name: str
    metric: dict  # {"name", "direction", "unit"}
    dataset: dict  # the dataset card, with "baseline": {"name", "val", "test"}
    config: dict  # the resolved config of the study's first run (password masked)
    trials: pd.DataFrame  # one row per trial (see `trial_table`)
    curves: dict[int, dict[int, float]]  # trial number -> {epoch: validation value}
    reeval: pd.DataFrame | None = None  # one row per re-evaluation run: cell, seed, val, test, ...
    distributions: dict = field(default_factory=dict)  # parameter -> Optuna distribution (for log axes)
    study: optuna.Study | None = None
    reeval_looks: list[int] = field(default_factory=list)  # seeds a cell at which adaptive re-evaluation looked

    def reeval_seconds_per_run(self, cells) -> float:
        """Mean seconds of one re-evaluation run of `cells` (epochs x seconds per epoch; nan when not stored)."""
        if self.reeval is None or not {"sec_per_epoch", "epochs"} <= set(self.reeval.columns):
            return float("nan")
        runs = self.reeval[self.reeval[CELL].isin(list(cells))]
        seconds = pd.to_numeric(runs.sec_per_epoch, errors="coerce") * pd.to_numeric(runs.epochs, errors="coerce")
        return float(seconds.mean()) if seconds.notna().any() else float("nan")

    @property
    def maximize(self) -> bool:
        return self.metric["direction"] == "maximize"

    @property
    def label(self) -> str:
        """What a row of the summary is called: the dataset, and the study when it says more."""
        dataset = self.dataset.get("name", "?")
        return dataset if dataset == self.name else f"{dataset} ({self.name})"

    def metric_label(self, split: str = "val") -> str:
        split_name = {"val": "validation", "test": "test"}[split]
        return f"{split_name} {self.metric['name']} ({self.metric['unit']})"

    def cells(self) -> list[str]:
        return sorted(c for c in self.trials[CELL].dropna().unique())

    @functools.cached_property
    def by_cell(self) -> dict[str, CellTrials]:
        """Each cell's trials, best trial and re-evaluation scores: lstm and gru always, any other cell searched."""
        t = self.trials
        out = {}
        for cell in dict.fromkeys([*CELLS, *self.cells()]):
            mine = t[t[CELL] == cell]
            best = mine[mine.best]
            runs = np.empty(0) if self.reeval is None else self.reeval.loc[self.reeval[CELL] == cell, "test"]
            out[cell] = CellTrials(mine, None if best.empty else best.iloc[0],
                                   mine[(mine.state == "COMPLETE") & mine.value.notna() & mine.test.notna()],
                                   np.asarray(runs, dtype=float))
        return out


def study_names(storage, wanted: list[str] | None) -> list[str]:
    names = optuna.get_all_study_names(storage)
    if wanted is None:
        chosen = [n for n in names if not n.endswith(REEVAL_SUFFIX)]
        if not chosen:
            raise UserError("the storage holds no study yet; run python -m search first")
        return chosen
    missing = [n for n in wanted if n not in names]
    if missing:
        known = ", ".join(n for n in names if not n.endswith(REEVAL_SUFFIX)) or "none"
        raise UserError(f"studies={wanted}: no study named {missing[0]!r} in the storage (it holds: {known})")
    return list(wanted)


def _duration(trial: optuna.trial.FrozenTrial) -> float:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return np.nan
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def trial_table(trials: list[optuna.trial.FrozenTrial], metric: str, maximize: bool) -> pd.DataFrame:
    """One row per trial: number, state, cell, value (validation; a pruned trial's last reported one),
    test, costs, times, whether it is its cell's best trial (search/records.py), and one column per parameter
    (prefixed `param:`)."""
    best = {t.number for t in best_per_cell(trials, maximize).values()}
    rows = []
    for t in trials:
        value = t.value if t.state == TrialState.COMPLETE else None
        if t.state == TrialState.PRUNED and t.intermediate_values:
            value = t.intermediate_values[max(t.intermediate_values)]
        attrs = t.user_attrs
        rows.append({
            "number": t.number,
            "state": t.state.name,
            CELL: cell_of(t),
            "value": value,
            "test": attrs.get(score_attr("test", metric)),
            "best": t.number in best,
            "n_params": attrs.get(N_PARAMS),
            "sec_per_epoch": attrs.get(SEC_PER_EPOCH),
            "kernel": attrs.get(RNN_KERNEL),
            "epochs": attrs.get(EPOCHS, len(t.intermediate_values) or None),
            "best_epoch": attrs.get(BEST_EPOCH),
            "start": t.datetime_start,
            "complete": t.datetime_complete,
            "duration": _duration(t),
            "fail_reason": attrs.get(FAIL_REASON),
            **{f"param:{k}": v for k, v in t.params.items()},
        })
    columns = ["number", "state", CELL, "value", "test", "best", "n_params", "sec_per_epoch", "kernel", "epochs",
               "best_epoch", "start", "complete", "duration", "fail_reason"]
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    for column in ("value", "test", "n_params", "sec_per_epoch", "epochs", "best_epoch", "duration"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def load(storage, name: str) -> StudyData:
    study = optuna.load_study(study_name=name, storage=storage)
    attrs = study.user_attrs
    if METRIC not in attrs:
        raise NotCellsearch(f"study {name!r} was not made by cellsearch (it has no metric attribute); "
                        "leave it out with studies=[...]")
    metric = attrs[METRIC]
    trials = study.get_trials(deepcopy=False)
    distributions = {}
    for t in trials:
        distributions.update(t.distributions)
    data = StudyData(
        name=name,
        metric=metric,
        dataset=attrs.get(DATASET_CARD, {}),
        config=attrs.get(CONFIG, {}),
        trials=trial_table(trials, metric["name"], metric["direction"] == "maximize"),
        curves={t.number: dict(t.intermediate_values) for t in trials if t.intermediate_values},
        distributions=distributions,
        study=study,
    )
    try:
        runs = optuna.load_study(study_name=reeval_study_name(name), storage=storage)
    except KeyError:
        return data
    table = pd.DataFrame([{
        CELL: t.user_attrs.get(CELL),
        "seed": t.user_attrs.get(SEED),
        "source_trial": t.user_attrs.get(SOURCE_TRIAL),
        "val": t.user_attrs.get(score_attr("val", metric["name"])),
        "test": t.user_attrs.get(score_attr("test", metric["name"])),
        "n_params": t.user_attrs.get(N_PARAMS),
        "sec_per_epoch": t.user_attrs.get(SEC_PER_EPOCH),
        "epochs": t.user_attrs.get(EPOCHS),
    } for t in runs.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))])
    data.reeval = table if len(table) else None
    data.reeval_looks = sorted(int(n) for n in runs.user_attrs.get(REEVAL_LOOKS, []))
    return data
