"""search/records.py: the names a trial and a study store are those release 0.1.0 stored, and "the best trial of
a cell" is one rule (COMPLETE trials only, best value in the study's direction, the earliest on a tie)."""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from search import records

OLD = Path(__file__).parent / "fixtures" / "release_0_1_0.db"
CELL = CategoricalDistribution(["lstm", "gru"])


def _trial(number: int, cell: str, value: float | None, state: TrialState = TrialState.COMPLETE):
    trial = create_trial(params={"cell": cell}, distributions={"cell": CELL}, value=value, state=state,
                         intermediate_values={1: value} if value is not None else None)
    trial.number = number
    return trial


@pytest.mark.parametrize("maximize", [True, False])
def test_best_per_cell_takes_complete_trials_and_the_earliest_of_a_tie(maximize):
    good, bad = (90.0, 10.0) if maximize else (10.0, 90.0)
    trials = [_trial(0, "lstm", bad), _trial(1, "lstm", good), _trial(2, "lstm", good),
              _trial(3, "gru", good * 2 if maximize else good / 2, TrialState.PRUNED), _trial(4, "gru", bad)]
    best = records.best_per_cell(trials, maximize)
    assert list(best) == ["gru", "lstm"], "sorted by cell"
    assert best["lstm"].number == 1, "a tie keeps the earlier trial"
    assert best["gru"].number == 4, "a pruned trial is never a cell's best, however good its last value"
    assert records.best_per_cell([_trial(0, "lstm", None, TrialState.FAIL)], maximize) == {}


def test_a_queued_trial_has_its_cell_before_it_is_drawn():
    study = optuna.create_study()
    study.enqueue_trial({"cell": "gru"})
    (queued,) = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert queued.params == {} and records.cell_of(queued) == "gru"


def test_the_names_are_those_a_release_0_1_0_storage_holds(tmp_path):
    shutil.copy(OLD, tmp_path / OLD.name)  # opening a storage may write to it; the fixture stays as it is
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / OLD.name}")
    study = optuna.load_study(study_name="airline", storage=storage)
    assert {records.METRIC, records.DATASET_CARD, records.CONFIG, records.VERSION, records.SPACE,
            records.SAMPLER_RUNS} <= set(study.user_attrs)
    metric = study.user_attrs[records.METRIC]["name"]
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert complete and all(records.CELL in t.params for t in complete)
    names = {records.CELL, records.N_PARAMS, records.N_PARAMS_RECURRENT, records.HIDDEN_SIZE_USED, records.SEED,
             records.DEVICE, records.DATASET, records.DATA_SOURCE, records.VERSION, records.WORKER, records.CONFIG,
             records.EPOCHS, records.BEST_EPOCH, records.SEC_PER_EPOCH, records.score_attr("val", metric),
             records.score_attr("test", metric)}
    for trial in complete:
        assert names <= set(trial.user_attrs), names - set(trial.user_attrs)
    assert any(records.MODEL_ARTIFACT in t.user_attrs for t in complete)
    runs = optuna.load_study(study_name=records.reeval_study_name("airline"), storage=storage)
    assert runs.user_attrs[records.OF_STUDY] == "airline"
    for run in runs.trials:
        assert {records.CELL, records.SEED, records.SOURCE_TRIAL, records.score_attr("test", metric)} \
            <= set(run.user_attrs)
    storage.engine.dispose()
