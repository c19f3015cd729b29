"""What tracking=mlflow logs for a study and its trials (search/mlflow_runs.py), checked without a server: real
Optuna trials in, the runs' tags, parameters, metrics and status out; MLflow's batch limits; the rule that makes
workers logging one trial at once converge on one child."""

from __future__ import annotations

import datetime as dt
import json

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from search import mlflow_runs as runs

START = dt.datetime(2026, 12, 7, 10, 0, 0, tzinfo=dt.timezone.utc)
ATTRS = {"metric": {"name": "rmse", "direction": "minimize", "unit": "thousands of passengers"},
         "dataset": {"name": "airline", "size": 144}, "space": {"model.cell": "..."}, "config": {"seed": 0},
         "cellsearch_version": "0.9"}


def _trial(state=TrialState.COMPLETE, number=3, **attrs) -> optuna.trial.FrozenTrial:
    trial = create_trial(
        state=state, value=12.5 if state == TrialState.COMPLETE else None,
        params={"cell": "gru", "lr": 0.003}, intermediate_values={1: 30.0, 2: 14.0, 3: float("nan")},
        distributions={"cell": CategoricalDistribution(["lstm", "gru"]), "lr": FloatDistribution(1e-4, 1e-1, log=True)},
        user_attrs={"cell": "gru", "val_rmse": 12.5, "test_rmse": 13.1, "n_params": 5000, "n_params_recurrent": 4000,
                    "sec_per_epoch": 0.8, "epochs": 3, "best_epoch": 2, "seed": 7, "device": "cpu", **attrs})
    trial.number = number
    trial.datetime_start, trial.datetime_complete = START, START + dt.timedelta(seconds=30)
    return trial


def test_a_trial_is_a_child_run_with_its_parameters_epochs_scores_and_costs():
    spec = runs.trial_run("airline", ATTRS, _trial(), parent="p1")
    assert spec.tags[runs.PARENT_TAG] == "p1" and spec.tags[runs.NAME_TAG] == "gru #3"
    assert spec.tags["cellsearch.kind"] == "trial" and spec.tags["cellsearch.trial_number"] == "3"
    assert spec.tags["cellsearch.study_id"] == runs.study_id("airline") and spec.tags["cellsearch.state"] == "complete"
    assert spec.tags["cellsearch.cell"] == "gru" and spec.tags["cellsearch.seed"] == "7"
    assert spec.params == {"cell": "gru", "lr": "0.003"}
    metrics = {(k, step): v for k, v, step, _ in spec.metrics}
    assert metrics[("epoch_val_rmse", 1)] == 30.0 and metrics[("epoch_val_rmse", 2)] == 14.0
    assert ("epoch_val_rmse", 3) not in metrics, "a NaN epoch is not sent (MLflow refuses it)"
    assert metrics[("val_rmse", 0)] == 12.5 and metrics[("test_rmse", 0)] == 13.1
    assert {k for k, _ in metrics} >= {"n_params", "n_params_recurrent", "sec_per_epoch", "epochs", "best_epoch"}
    assert spec.status == "FINISHED" and spec.start_ms == int(START.timestamp() * 1000)
    assert spec.end_ms == spec.start_ms + 30_000 and all(ts == spec.end_ms for _, _, _, ts in spec.metrics)


@pytest.mark.parametrize(("state", "status", "tag"), [(TrialState.PRUNED, "KILLED", "pruned"),
                                                      (TrialState.FAIL, "FAILED", "failed")])
def test_pruned_and_failed_trials_end_killed_and_failed_with_the_reason_and_no_secret(state, status, tag):
    reason = "storage postgresql://me:s3cret@db/x went away"
    spec = runs.trial_run("airline", ATTRS, _trial(state, fail_reason=reason), "p", secret_of="http://u:tok@mlflow")
    assert spec.status == status and spec.tags["cellsearch.state"] == tag
    shown = spec.tags["cellsearch.fail_reason"]
    assert "s3cret" not in shown and "me:***@db/x went away" in shown


def test_a_reeval_run_is_named_after_its_seed_and_source_trial():
    spec = runs.trial_run("airline.reeval", ATTRS, _trial(source_trial=11), "p")
    assert spec.tags[runs.NAME_TAG] == "gru seed 7 (trial 11)" and spec.tags["cellsearch.kind"] == "reeval"
    assert spec.tags["cellsearch.source_trial"] == "11"


def test_the_study_is_a_parent_run_with_its_card_as_study_json():
    spec = runs.study_run("airline", ATTRS, START)
    assert spec.tags["cellsearch.kind"] == "study" and spec.tags[runs.NAME_TAG] == "airline" and spec.status is None
    assert spec.params == {"metric": "rmse", "direction": "minimize", "unit": "thousands of passengers",
                           "dataset": "airline"}
    assert json.loads(spec.text["study.json"]) == ATTRS
    assert runs.study_run("empty", {}, None).params == {} and runs.study_run("empty", {}, None).start_ms is None


def test_batches_keep_within_mlflows_limits():
    spec = runs.RunSpec(tags={}, params={f"p{i}": "x" for i in range(250)},
                        metrics=[("m", float(i), i, 0) for i in range(2500)])
    params = spec.param_batches()
    assert [len(b) for b in params] == [100, 100, 50] and {k for b in params for k in b} == set(spec.params)
    assert [len(b) for b in spec.metric_batches()] == [1000, 1000, 500]
    trial = _trial(fail_reason="y" * 9000)
    trial.params["note"] = "z" * 9000  # a categorical choice can be any string
    long = runs.trial_run("s", ATTRS, trial, "p")
    assert len(long.params["note"]) == runs.MAX_VALUE and len(long.tags["cellsearch.fail_reason"]) < runs.MAX_VALUE


def test_copies_of_one_trial_converge_on_the_smallest_run_id_and_running_ones_are_left_to_finish():
    def tags(study, number):
        return {"cellsearch.study_id": runs.study_id(study), "cellsearch.trial_number": str(number)}

    found = [("b7", "FINISHED", tags("a", 1)), ("a3", "FINISHED", tags("a", 1)), ("c1", "KILLED", tags("a", 1)),
             ("z9", "FINISHED", tags("a", 2)), ("a0", "RUNNING", tags("a", 2)), ("q", "FINISHED", tags("b", 1)),
             ("parent", "RUNNING", {"cellsearch.kind": "study"})]
    assert sorted(runs.redundant(found)) == ["b7", "c1"]  # trial 1 keeps a3 (smallest id); the others theirs
    assert sorted(runs.redundant(list(reversed(found)))) == ["b7", "c1"], "the same answer on every machine"


def test_a_running_child_is_cut_off_only_when_its_logging_is_stale():
    now = 10 * runs.STALE_MS
    fresh = {runs.LOGGING_SINCE: str(now - 1000)}
    stale = {runs.LOGGING_SINCE: str(now - runs.STALE_MS - 1)}
    assert not runs.cut_off("RUNNING", fresh, now), "another worker is logging it now"
    assert runs.cut_off("RUNNING", stale, now) and runs.cut_off("RUNNING", {}, now)  # {}: an older release's
    assert not runs.cut_off("FINISHED", stale, now)
    ended = {**fresh, runs.LOGGER: "host/12/a"}
    assert runs.cut_off("RUNNING", ended, now, lambda logger: logger == "host/12/a"), "its logger has ended"
    assert not runs.cut_off("RUNNING", ended, now, lambda logger: False)
    assert not runs.cut_off("FINISHED", ended, now, lambda logger: True)
