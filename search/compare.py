"""Fair comparison of the two cells inside one Optuna study.

- Per-cell pruning (every strategy): a pruner judges a trial only against trials of its own cell type,
  so a GRU is never stopped because LSTMs learned faster in their first epochs, or the other way round.
- `balanced`: before each trial the cell with the fewest trials is queued, so the counts stay within one
  of each other; and the sampler keeps one state per cell (its model of the other parameters is fitted on
  that cell's trials only), so TPE cannot drift to the cell that looked good early and starve the other.
- `param_matched`: `balanced`, and a GRU's hidden size is chosen so that its recurrent layers have the
  number of weights (within 5 %) of an LSTM of the searched hidden size: "better cell" is then not "more
  weights". The searched `hidden_size` is the LSTM-equivalent size; the trial stores the size it used. The
  sizes themselves are computed in search/sizing.py.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.distributions import BaseDistribution
from optuna.pruners import BasePruner, HyperbandPruner
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from search.optuna_internals import CellView, filter_hyperband_brackets
from search.records import CELL, cell_of


def _view(study: optuna.Study, cell: str | None) -> CellView:
    """The study as one cell type's sampler or pruner sees it: that cell's trials only."""
    return CellView(study, lambda trial: cell_of(trial) == cell)


class PerCellPruner(BasePruner):
    """Wraps any Optuna pruner so that it compares a trial with trials of the same cell type only (Hyperband's
    bracket studies too)."""

    def __init__(self, pruner: BasePruner):
        self.pruner = filter_hyperband_brackets(pruner) if type(pruner) is HyperbandPruner else pruner

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        cell = cell_of(trial)
        if isinstance(self.pruner, HyperbandPruner):
            self.pruner.keep = lambda t: cell_of(t) == cell
        return self.pruner.prune(_view(study, cell), trial)


class PerCellSampler(BaseSampler):
    """One sampler per cell type, each seeing only its own cell's trials."""

    def __init__(self, make: Callable[[int], BaseSampler], cells: list[str]):
        self.samplers = {cell: make(i) for i, cell in enumerate(cells)}
        self.first = cells[0]

    def _pick(self, study: optuna.Study, trial: FrozenTrial) -> tuple[BaseSampler, CellView]:
        cell = cell_of(trial) or self.first
        return self.samplers.get(cell, self.samplers[self.first]), _view(study, cell)

    def infer_relative_search_space(self, study, trial) -> dict[str, BaseDistribution]:
        sampler, view = self._pick(study, trial)
        return sampler.infer_relative_search_space(view, trial)

    def sample_relative(self, study, trial, search_space) -> dict:
        sampler, view = self._pick(study, trial)
        return sampler.sample_relative(view, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        sampler, view = self._pick(study, trial)
        return sampler.sample_independent(view, trial, param_name, param_distribution)

    def before_trial(self, study, trial) -> None:
        sampler, view = self._pick(study, trial)
        sampler.before_trial(view, trial)

    def after_trial(self, study, trial, state, values) -> None:
        sampler, view = self._pick(study, trial)
        sampler.after_trial(view, trial, state, values)

    def reseed_rng(self) -> None:
        for sampler in self.samplers.values():
            sampler.reseed_rng()


def queue_fewest(study: optuna.Study, cells: list[str]) -> None:
    """Queue the cell with the fewest trials (finished, running or queued), unless one is queued already."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                      TrialState.RUNNING, TrialState.WAITING))
    if any(t.state == TrialState.WAITING for t in trials):
        return
    counts = dict.fromkeys(cells, 0)
    for t in trials:
        if cell_of(t) in counts:
            counts[cell_of(t)] += 1
    study.enqueue_trial({CELL: min(cells, key=lambda c: counts[c])})
