"""The verdict's error rates, measured: a fast version of tests/benchmarks/bench_verdict.py (studies of known truth
in the stored schema, re-evaluated by the real search.reeval.reevaluate, judged as python -m reports judges them),
and the adaptive re-evaluation's stopping, looks and timeout."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from bench_verdict import (
    BUDGET_SCENARIOS,
    METRIC,
    Truth,
    budget_table,
    one_study,
    rates,
    search_study,
    simulated_training,
    through_the_command,
)
from reports.collect import load
from reports.config import ReportConfig
from reports.verdict import decide
from search.reeval import RunResult, reevaluate
from search.tasks import Task

optuna.logging.set_verbosity(optuna.logging.WARNING)
UNEQUAL = {"lstm": 0.62, "gru": 1.6}  # the default sentiment study's seed spreads, points of accuracy


def _truth(difference: float, spreads=UNEQUAL) -> Truth:
    return Truth({"lstm": 80.0 + difference, "gru": 80.0}, dict(spreads))


@pytest.mark.slow
@pytest.mark.parametrize("rule", [2, 3, ("auto", 6)], ids=["2 seeds", "3 seeds", "auto"])
@pytest.mark.parametrize("spreads", [UNEQUAL, {"lstm": 1.0, "gru": 1.0}], ids=["unequal", "equal"])
def test_no_difference_covers_and_declares_no_winner(rule, spreads):
    r = rates(_truth(0.0, spreads), rule, 300, seed=11)
    assert r["coverage"] >= 0.92, r  # nominal 0.95: 300 studies measure it to about ±0.013
    assert r["winner"] <= 0.05, r


@pytest.mark.slow
def test_a_real_difference_is_found_and_covered():
    fixed, auto = rates(_truth(4.0), 3, 200, seed=5), rates(_truth(4.0), ("auto", 6), 200, seed=5)
    assert fixed["coverage"] >= 0.92 and auto["coverage"] >= 0.92, (fixed, auto)
    assert auto["power"] >= 0.6 and auto["power"] > fixed["power"], (fixed, auto)  # more seeds where needed
    assert auto["seeds"] < 6, "some studies stop at an earlier look"


@pytest.mark.slow
def test_budget_flag_false_alarms_on_converged_searches_and_fires_on_climbing_ones():
    converged = next(k for k in BUDGET_SCENARIOS if "16 trials" in k and "converged" in k)
    climbing = next(k for k in BUDGET_SCENARIOS if "1 point above" in k)
    rows = budget_table(150, {k: BUDGET_SCENARIOS[k] for k in (converged, climbing)})
    assert max(rows[0]["lstm"], rows[0]["gru"]) <= 0.10, rows[0]
    assert min(rows[1]["lstm"], rows[1]["gru"]) >= 0.3, rows[1]


@pytest.mark.slow
def test_the_report_command_says_what_decide_says():
    assert through_the_command(4, ("auto", 6), _truth(1.0)) == 4


def test_adaptive_reeval_stops_at_the_first_decided_look_and_stores_its_plan():
    verdict, storage = one_study(_truth(30.0), ("auto", 6), seed=1)  # 30 points apart: decided at 2 seeds
    runs = optuna.load_study(study_name="sim.reeval", storage=storage)
    assert runs.user_attrs["reeval_looks"] == [2, 4, 6] and verdict.looks == 3
    assert verdict.seeds == {"lstm": 2, "gru": 2} and verdict.label == "LSTM"
    undecided, storage = one_study(_truth(0.7), ("auto", 6), seed=1)  # on the ROPE's edge: to the cap
    assert undecided.seeds == {"lstm": 6, "gru": 6} and not undecided.decided
    assert undecided.seeds_needed is None or undecided.seeds_needed > 6


def test_a_later_reeval_adds_its_looks_and_the_interval_widens():
    truth = _truth(0.7)
    verdict, storage = one_study(truth, 3, seed=2)
    assert verdict.looks == 1 and verdict.level == 0.95
    study = optuna.load_study(study_name="sim", storage=storage)
    reevaluate(study, Task("simulated", METRIC, {}), None, "auto", 4, train=simulated_training(
        truth, np.random.default_rng(3)))
    again = decide(load(storage, "sim"), ReportConfig())
    assert optuna.load_study(study_name="sim.reeval", storage=storage).user_attrs["reeval_looks"] == [2, 3, 4]
    assert again.looks == 3 and again.level == pytest.approx(1 - 0.05 / 3)


def test_reeval_timeout_stops_before_the_next_run():
    storage, truth = optuna.storages.InMemoryStorage(), _truth(0.7)
    study = search_study(storage, "sim", truth, np.random.default_rng(0))
    draw = simulated_training(truth, np.random.default_rng(0))

    def slow(trial, seed) -> RunResult:  # a run of 0.1 s
        time.sleep(0.1)
        return draw(trial, seed)

    reevaluate(study, Task("simulated", METRIC, {}), None, "auto", 6, timeout=0.2, train=slow)
    runs = len(optuna.load_study(study_name="sim.reeval", storage=storage).trials)
    assert 1 <= runs <= 3, f"{runs} runs: the 12 of 6 seeds a cell would take 1.2 s"
