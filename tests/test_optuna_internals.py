"""One test per Optuna detail that search/optuna_internals.py relies on: when an Optuna release changes one, the
test named after it fails, and that module is the one place to mend."""

from __future__ import annotations

import inspect
import io
import logging

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore
from optuna.distributions import FloatDistribution
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from search import optuna_internals as oi

X = FloatDistribution(0.0, 1.0)


@pytest.fixture
def rdb(tmp_path) -> optuna.storages.RDBStorage:
    return optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=60, grace_period=120)


def _mixed_study(storage) -> optuna.Study:
    """Trials in every state that matters: 2 complete, 1 pruned, 1 failed, 1 running, 1 waiting."""
    study = optuna.create_study(storage=storage, study_name="s")
    for state in (TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
        trial = study.ask({"x": X})
        study.tell(trial, 0.5 if state == TrialState.COMPLETE else None, state=state)
    study.ask({"x": X})
    study.enqueue_trial({"x": 0.25})
    return study


def test_enqueue_trial_keeps_fixed_params_in_system_attrs():
    study = optuna.create_study()
    study.enqueue_trial({"cell": "gru"})
    (waiting,) = study.get_trials(states=(TrialState.WAITING,))
    assert waiting.params == {}
    assert oi.fixed_params(waiting) == {"cell": "gru"}


def test_a_failed_trial_is_logged_on_the_optimize_modules_logger(caplog):
    study = optuna.create_study()

    def fails(trial):
        raise ValueError("broken objective")

    with caplog.at_level(logging.WARNING, logger=oi.failure_logger().name):
        study.optimize(fails, n_trials=1, catch=(ValueError,))
    failed = [r for r in caplog.records if r.name == oi.failure_logger().name and r.exc_info]
    assert failed and "broken objective" in str(failed[0].exc_info[1])


def test_study_keeps_its_storage_in_storage_attribute(tmp_path, rdb):
    for storage in (rdb, optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))):
        study = _mixed_study(storage)
        again = optuna.load_study(study_name="s", storage=oi.storage_of(study))
        assert len(again.trials) == len(study.trials) == 6


def test_rdb_storage_is_wrapped_in_a_cache_with_backend(tmp_path, rdb):
    assert oi.rdb_storage(_mixed_study(rdb)) is rdb
    journal = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    assert oi.rdb_storage(_mixed_study(journal)) is None


def test_trials_table_counts_states_by_name(rdb):
    study = _mixed_study(rdb)
    counts = oi.count_by_state(study, rdb)
    expected = {}
    for trial in study.trials:
        expected[trial.state.name] = expected.get(trial.state.name, 0) + 1
    assert counts == expected


def test_trial_heartbeats_table_holds_the_heartbeats(rdb):
    study = _mixed_study(rdb)
    running = study.ask()
    assert oi.without_heartbeat(study, rdb) == {4, running.number}
    rdb.record_heartbeat(running._trial_id)
    assert oi.without_heartbeat(study, rdb) == {4}


def test_a_frozen_trial_knows_its_storage_trial_id(rdb):
    study = _mixed_study(rdb)
    (running,) = study.get_trials(states=(TrialState.RUNNING,))
    oi.set_user_attr(study, running, "fail_reason", "its process is gone")
    assert study.trials[running.number].user_attrs["fail_reason"] == "its process is gone"


def test_file_system_artifact_store_names_the_file_of_an_artifact(tmp_path):
    store = FileSystemArtifactStore(str(tmp_path))
    store.write("model-1", io.BytesIO(b"weights"))
    with open(oi.artifact_file(store, "model-1"), "rb") as f:
        assert f.read() == b"weights"


def test_samplers_and_pruners_read_trials_through_the_study_methods_a_view_filters():
    """Samplers and pruners are given the view; if one read trials some other way (another private method, the
    storage directly), it would see both cells. This pins what they read, measured, and that TPE's proposals
    follow the filtered trials only."""
    assert list(inspect.signature(optuna.Study._get_trials).parameters)[1:] == ["deepcopy", "states", "use_cache"]
    study = optuna.create_study()
    for i in range(20):  # cell a is good near x = 0.05, cell b near x = 0.95
        for cell, x in (("a", 0.05 * i / 20), ("b", 0.9 + 0.1 * i / 20)):
            study.add_trial(optuna.trial.create_trial(
                params={"cell": cell, "x": x}, value=float(i),
                distributions={"cell": optuna.distributions.CategoricalDistribution(["a", "b"]), "x": X}))
    passed_through = set()

    class Spy(oi.CellView):
        def __getattr__(self, name):
            passed_through.add(name)
            return super().__getattr__(name)

    view = Spy(study, lambda t: t.params.get("cell") == "a")
    for seed in range(8):
        sampler = optuna.samplers.TPESampler(n_startup_trials=0, seed=seed)
        trial = study.ask()
        assert sampler.sample_independent(view, study.trials[trial.number], "x", X) < 0.5
        study.tell(trial, state=TrialState.FAIL)
    assert passed_through <= {"_storage", "_study_id", "direction", "directions", "_is_multi_objective",
                              "study_name", "_thread_local", "sampler", "pruner"}, passed_through


def test_hyperband_builds_each_bracket_study_in_create_bracket_study():
    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9)
    assert list(inspect.signature(pruner._create_bracket_study).parameters) == ["study", "bracket_id"]
    seen = []
    filtered = oi.filter_hyperband_brackets(pruner)
    assert filtered is pruner and isinstance(pruner, optuna.pruners.HyperbandPruner)
    filtered.keep = lambda t: seen.append(t.number) or t.number % 2 == 0
    study = optuna.create_study(pruner=filtered)
    for _ in range(6):
        trial = study.ask()
        for step in range(3):
            trial.report(float(trial.number + step), step)
            if trial.should_prune():
                break
        study.tell(trial, float(trial.number))
    assert seen, "the bracket studies were built through _create_bracket_study and filtered"
