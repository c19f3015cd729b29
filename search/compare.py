"""Fair comparison of the two cells inside one Optuna study.

- Per-cell pruning (every strategy): a pruner judges a trial only against trials of its own cell type,
  so a GRU is never stopped because LSTMs learned faster in their first epochs, or the other way round.
- `balanced`: before each trial the cell with the fewest trials is queued, so the counts stay within one
  of each other; and the sampler keeps one state per cell (its model of the other parameters is fitted on
  that cell's trials only), so TPE cannot drift to the cell that looked good early and starve the other.
- `param_matched`: `balanced`, and a GRU's hidden size is chosen so that its recurrent layers have the
  number of weights (within 5 %) of an LSTM of the searched hidden size: "better cell" is then not "more
  weights". The searched `hidden_size` is the LSTM-equivalent size; the trial stores the size it used.
"""

from __future__ import annotations

from typing import Callable

import optuna
from optuna.distributions import BaseDistribution
from optuna.pruners import BasePruner, HyperbandPruner
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from search.records import CELL, cell_of


class CellView:
    """A study seen through one cell type: its trials are that cell's trials only. Everything else
    (direction, storage, name) is the study's own."""

    def __init__(self, study: optuna.Study, cell: str | None):
        self._study, self._cell = study, cell

    def __getattr__(self, name):
        return getattr(self._study, name)

    def _mine(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        return [t for t in trials if cell_of(t) == self._cell]

    def get_trials(self, deepcopy: bool = True, states=None) -> list[FrozenTrial]:
        return self._mine(self._study.get_trials(deepcopy=deepcopy, states=states))

    def _get_trials(self, deepcopy: bool = True, states=None, use_cache: bool = False) -> list[FrozenTrial]:
        return self._mine(self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache))

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


class _PerCellHyperband(HyperbandPruner):
    """Hyperband builds a fresh Study from storage for each bracket, which would see both cells again; the
    cell filter is put back on top of each bracket."""

    cell: str | None = None

    def _create_bracket_study(self, study, bracket_id):
        return CellView(super()._create_bracket_study(study, bracket_id), self.cell)


class PerCellPruner(BasePruner):
    """Wraps any Optuna pruner so that it compares a trial with trials of the same cell type only."""

    def __init__(self, pruner: BasePruner):
        if type(pruner) is HyperbandPruner:
            pruner.__class__ = _PerCellHyperband  # same object and settings, bracket studies filtered by cell
        self.pruner = pruner

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        cell = cell_of(trial)
        if isinstance(self.pruner, _PerCellHyperband):
            self.pruner.cell = cell
        return self.pruner.prune(CellView(study, cell), trial)


class PerCellSampler(BaseSampler):
    """One sampler per cell type, each seeing only its own cell's trials."""

    def __init__(self, make: Callable[[int], BaseSampler], cells: list[str]):
        self.samplers = {cell: make(i) for i, cell in enumerate(cells)}
        self.first = cells[0]

    def _pick(self, study: optuna.Study, trial: FrozenTrial) -> tuple[BaseSampler, CellView]:
        cell = cell_of(trial) or self.first
        return self.samplers.get(cell, self.samplers[self.first]), CellView(study, cell)

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
    counts = {cell: 0 for cell in cells}
    for t in trials:
        if cell_of(t) in counts:
            counts[cell_of(t)] += 1
    study.enqueue_trial({CELL: min(cells, key=lambda c: counts[c])})


def recurrent_weights(cell: str, input_size: int, hidden: int, layers: int) -> int:
    """Trainable weights of torch.nn.LSTM / torch.nn.GRU (both bias vectors), without building one."""
    gates = {"lstm": 4, "gru": 3}[cell]
    total = 0
    for layer in range(layers):
        inputs = input_size if layer == 0 else hidden
        total += gates * (inputs * hidden + hidden * hidden + 2 * hidden)
    return total


def matched_hidden_size(cell: str, reference_hidden: int, input_size: int, layers: int) -> int:
    """The hidden size at which `cell` has about as many recurrent weights as an LSTM of `reference_hidden`."""
    target = recurrent_weights("lstm", input_size, reference_hidden, layers)
    if cell == "lstm":
        return reference_hidden
    candidates = range(1, 4 * reference_hidden + 2)
    return min(candidates, key=lambda h: abs(recurrent_weights(cell, input_size, h, layers) - target))
