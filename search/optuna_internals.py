"""The one module that relies on Optuna's private details (checked against Optuna 5.0).

Each function names the detail it relies on, and tests/test_optuna_internals.py checks each assumption by name,
so that an Optuna upgrade that changes one fails there, loudly, instead of somewhere in a study.

Why these stay private, and what the public route would cost:
- per-cell sampling and pruning (`CellView`, `filter_hyperband_brackets`): Optuna has no public hook that shows
  a sampler or pruner part of a study; the public route is a study per cell, which would split every stored
  study in two for optuna-dashboard, the report and the storages earlier releases wrote.
- counting trials by state and finding trials without a heartbeat (`count_by_state`, `without_heartbeat`):
  one SQL query on Optuna's tables, where `study.get_trials` reads every trial's rows before each admission.
"""

from __future__ import annotations

import logging

import optuna
import sqlalchemy
from optuna.artifacts import FileSystemArtifactStore
from optuna.pruners import HyperbandPruner
from optuna.trial import FrozenTrial, TrialState


def fixed_params(trial: FrozenTrial) -> dict:
    """The parameters a trial was enqueued with (`study.enqueue_trial`), also before they are drawn.

    Relies on: enqueue_trial keeps them in the trial's system attribute "fixed_params" (no public reader)."""
    return trial.system_attrs.get("fixed_params", {})


def failure_logger() -> logging.Logger:
    """The logger on which Optuna reports a failed trial's exception with its traceback. Relies on: it is the
    logger of the private module `optuna.study._optimize`."""
    return logging.getLogger("optuna.study._optimize")


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study was loaded from. Relies on: `Study._storage`."""
    return study._storage


def rdb_storage(study: optuna.Study) -> optuna.storages.RDBStorage | None:
    """The study's RDB storage, if it has one. Relies on: Optuna wraps an RDBStorage in a `_CachedStorage`
    whose `_backend` is the RDBStorage."""
    storage = getattr(study._storage, "_backend", study._storage)
    return storage if isinstance(storage, optuna.storages.RDBStorage) else None


def count_by_state(study: optuna.Study, storage: optuna.storages.RDBStorage) -> dict[str, int]:
    """{state name: trials} of the study, in one COUNT query. Relies on: `Study._study_id`, and the table
    `trials` with columns `study_id` and `state` (the TrialState's name)."""
    with storage.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT state, COUNT(*) FROM trials WHERE study_id = :id "
                                                  "GROUP BY state"), {"id": study._study_id}).all()
    return {str(state).rsplit(".", 1)[-1]: n for state, n in rows}


def without_heartbeat(study: optuna.Study, storage: optuna.storages.RDBStorage) -> set[int]:
    """Numbers of the study's RUNNING trials that never recorded a heartbeat. Relies on: the tables `trials`
    (trial_id, number, study_id, state) and `trial_heartbeats` (trial_id)."""
    with storage.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text(
            "SELECT t.number FROM trials t LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
            "WHERE t.study_id = :id AND t.state = 'RUNNING' AND h.trial_id IS NULL"), {"id": study._study_id}).all()
    return {row[0] for row in rows}


def set_user_attr(study: optuna.Study, trial: FrozenTrial, key: str, value) -> None:
    """Set a user attribute on a RUNNING trial of another process (a FrozenTrial has no setter). Relies on:
    `FrozenTrial._trial_id` and `BaseStorage.set_trial_user_attr`."""
    study._storage.set_trial_user_attr(trial._trial_id, key, value)


def artifact_file(store: FileSystemArtifactStore, artifact_id: str) -> str:
    """Where a FileSystemArtifactStore keeps an artifact. Relies on: `FileSystemArtifactStore._get_filepath`."""
    return store._get_filepath(artifact_id)


class CellView:
    """A study seen through a filter: its trials are those `keep(trial)` accepts; everything else (direction,
    storage, name) is the study's own. Relies on: samplers and pruners read trials through `get_trials`, `trials`
    or the private `_get_trials(deepcopy, states, use_cache)`, and reach anything else as a study attribute."""

    def __init__(self, study: optuna.Study, keep):
        self._study, self._keep = study, keep

    def __getattr__(self, name):
        return getattr(self._study, name)

    def get_trials(self, deepcopy: bool = True, states: tuple[TrialState, ...] | None = None) -> list[FrozenTrial]:
        return [t for t in self._study.get_trials(deepcopy=deepcopy, states=states) if self._keep(t)]

    def _get_trials(self, deepcopy: bool = True, states=None, use_cache: bool = False) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)
        return [t for t in trials if self._keep(t)]

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


class _FilteredHyperband(HyperbandPruner):
    keep = None

    def _create_bracket_study(self, study, bracket_id):
        bracket = super()._create_bracket_study(study, bracket_id)
        return bracket if self.keep is None else CellView(bracket, self.keep)


def filter_hyperband_brackets(pruner: HyperbandPruner) -> HyperbandPruner:
    """The same pruner (object and settings), whose bracket studies are filtered by `pruner.keep` once set.
    Relies on: HyperbandPruner builds each bracket's study in `_create_bracket_study(study, bracket_id)`, from
    storage, so a filtered study passed to `prune` does not reach the brackets."""
    pruner.__class__ = _FilteredHyperband
    return pruner
