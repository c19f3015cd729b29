"""Does the verdict mean what it says? A simulation of studies of known truth through the real code.

Each simulated study is written in cellsearch's stored schema (search trials with their cell, validation and
test scores, epochs; search/records.py) into an Optuna storage. Its re-evaluation runs are made by the real
`search.reeval.reevaluate` (fixed seeds, or `auto`: rounds that stop when the report's verdict is decided),
with the training replaced by draws of known truth: each cell's seed scores are normal around its true mean
with its seed spread (the default sentiment study's: LSTM 0.62, GRU 1.6 points of accuracy). The verdict is then
read as `python -m reports` reads it (reports.collect.load, reports.verdict.decide), and a sample of the studies
goes through the `python -m reports` command itself, whose CSV must agree.

Printed per seed rule, spread and true difference:
  coverage   share of studies whose interval holds the true difference (nominal: the confidence, 0.95)
  winner     share declaring a winner: with no true difference, the false-winner rate (must be <= 0.05)
  power      share declaring the truly better cell the winner (true differences of 2 and 4 points: 4 and 8 ROPEs)
  equivalent share declaring "practically equivalent"
  seeds      mean re-evaluation seeds a cell
Then the budget check (reports/budget.py): how often a cell is flagged "still improving" on searches whose
configurations are on their plateau (converged: the false-alarm rate, must be <= 0.10) and on searches that were
still finding better ones.

    python tests/benchmarks/bench_verdict.py [--studies N] [--quick] [--part verdict|budget|all]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import os
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reports.collect import load  # noqa: E402
from reports.config import ReportConfig  # noqa: E402
from reports.verdict import EQUIVALENT, decide  # noqa: E402
from search.reeval import RunResult, reevaluate  # noqa: E402
from search.tasks import Metric, Task  # noqa: E402

METRIC = Metric("accuracy", "maximize", "%")
CELL = optuna.distributions.CategoricalDistribution(["lstm", "gru"])
SPREADS = {"equal (1.0, 1.0)": (1.0, 1.0), "unequal (LSTM 0.62, GRU 1.6)": (0.62, 1.6)}
RULES = {"2 seeds": 2, "3 seeds": 3, "5 seeds": 5, "10 seeds": 10, "auto, max 6": ("auto", 6),
         "auto, max 10": ("auto", 10)}
SEC_PER_EPOCH, EPOCHS = 2.0, 8


@dataclass
class Truth:
    means: dict  # cell -> true mean test score of its best configuration
    spreads: dict  # cell -> seed standard deviation
    gap: float = 1.0  # search trials: scale of the exponential gap of a configuration below the plateau
    trend: float = 0.0  # ... and a rise per trial (a search still climbing)
    trials: int = 8  # completed search trials a cell

    @property
    def effect(self) -> float:
        return self.means["lstm"] - self.means["gru"]


def search_study(storage, name: str, truth: Truth, rng: np.random.Generator) -> optuna.Study:
    """A finished search in cellsearch's schema: each cell's trials are configurations below its plateau (its true
    mean), scored once with seed noise."""
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    study.set_user_attr("metric", METRIC.as_dict())
    study.set_user_attr("dataset", {"name": "simulated", "source": "tests/benchmarks/bench_verdict.py",
                                    "baseline": {"name": "majority class", "val": 50.0, "test": 50.0}})
    for i in range(truth.trials):  # in the order a search ran them: a climbing one gets better as it goes
        for cell in ("lstm", "gru"):
            quality = truth.means[cell] - rng.exponential(truth.gap) - truth.trend * (truth.trials - 1 - i)
            val = quality + rng.normal(0, truth.spreads[cell])
            study.add_trial(optuna.trial.create_trial(
                params={"cell": cell}, distributions={"cell": CELL}, value=val,
                user_attrs={"cell": cell, "test_accuracy": quality + rng.normal(0, truth.spreads[cell]),
                            "epochs": EPOCHS, "best_epoch": EPOCHS - 2, "sec_per_epoch": SEC_PER_EPOCH,
                            "n_params": 1000}))
    return study


def simulated_training(truth: Truth, rng: np.random.Generator):
    """Stands in for training in search.reeval.reevaluate: a seed of a cell's best configuration scores its true
    mean plus seed noise (validation and test move together, as they do for one seed)."""
    def train(trial: optuna.trial.FrozenTrial, seed: int) -> RunResult:
        cell = trial.params["cell"]
        luck = rng.normal(0, truth.spreads[cell])
        test = truth.means[cell] + luck
        val = truth.means[cell] + luck + rng.normal(0, 0.25 * truth.spreads[cell])
        return RunResult(val, test, [val], 1000, SEC_PER_EPOCH, EPOCHS, EPOCHS - 2)
    return train


def one_study(truth: Truth, rule, seed: int, storage=None, name: str = "sim"):
    """The verdict on one simulated study, and the study's storage."""
    rng = np.random.default_rng(seed)
    storage = storage if storage is not None else optuna.storages.InMemoryStorage()
    study = search_study(storage, name, truth, rng)
    seeds, max_seeds = rule if isinstance(rule, tuple) else (rule, rule)
    task = Task("simulated", METRIC, {"source": "simulation"})
    with contextlib.redirect_stdout(io.StringIO()):
        reevaluate(study, task, torch.device("cpu"), seeds, max_seeds, train=simulated_training(truth, rng))
    return decide(load(storage, name), ReportConfig()), storage


def rates(truth: Truth, rule, studies: int, seed: int) -> dict:
    verdicts = [one_study(truth, rule, seed + i)[0] for i in range(studies)]
    effect = truth.effect
    better = "lstm" if effect > 0 else "gru" if effect < 0 else None
    return {
        "coverage": np.mean([v.low <= effect <= v.high for v in verdicts]),
        "winner": np.mean([v.winner is not None for v in verdicts]),
        "power": np.mean([v.winner == better for v in verdicts]) if better else float("nan"),
        "equivalent": np.mean([v.label == EQUIVALENT for v in verdicts]),
        "seeds": np.mean([np.mean(list(v.seeds.values())) for v in verdicts]),
    }


def verdict_table(studies: int, rules: dict, spreads: dict, differences=(0.0, 2.0, 4.0)) -> list[dict]:
    rows = []
    for rule_name, rule in rules.items():
        for spread_name, (sd_l, sd_g) in spreads.items():
            for diff in differences:
                truth = Truth({"lstm": 80.0 + diff, "gru": 80.0}, {"lstm": sd_l, "gru": sd_g})
                start = time.perf_counter()
                r = rates(truth, rule, studies, seed=zlib.crc32(f"{rule_name} {spread_name} {diff}".encode()))
                rows.append({"rule": rule_name, "spreads": spread_name, "difference": diff, **r})
                print(f"  {rule_name:13} {spread_name:29} true difference {diff:3.1f}: coverage {r['coverage']:.3f}, "
                      f"winner {r['winner']:.3f}, power {r['power']:.3f}, equivalent {r['equivalent']:.3f}, "
                      f"seeds a cell {r['seeds']:.1f}  ({studies} studies, {time.perf_counter() - start:.0f} s)",
                      flush=True)
    return rows


def budget_table(studies: int, scenarios: dict) -> list[dict]:
    """How often each cell is flagged still improving, per kind of search."""
    rows = []
    for name, (gap, trend, trials) in scenarios.items():
        truth = Truth({"lstm": 80.0, "gru": 80.0}, {"lstm": 0.62, "gru": 1.6}, gap=gap, trend=trend, trials=trials)
        verdicts = [one_study(truth, ("auto", 6), 7919 * i + trials)[0] for i in range(studies)]
        flags = {c: np.mean([c in v.still_improving for v in verdicts]) for c in ("lstm", "gru")}
        rows.append({"search": name, **flags})
        print(f"  {name:58} flagged still improving: LSTM {flags['lstm']:.3f}, GRU {flags['gru']:.3f} "
              f"({studies} studies)", flush=True)
    return rows


BUDGET_SCENARIOS = {  # name: (gap scale in points, rise per trial, completed trials a cell)
    "converged: configurations within ~1 point of the plateau, 8 trials": (1.0, 0.0, 8),
    "converged: configurations within ~1 point of the plateau, 16 trials": (1.0, 0.0, 16),
    "converged: configurations within ~1 point of the plateau, 32 trials": (1.0, 0.0, 32),
    "still improving: each trial 1 point above the last, 8 trials": (1.0, 1.0, 8),
    "still improving: each trial 0.5 points above the last, 8 trials": (1.0, 0.5, 8),
    "still improving: each trial 0.25 points above the last, 16 trials": (1.0, 0.25, 16),
    "still improving: configurations spread ~12 points, 8 trials": (12.0, 0.0, 8),
}


def through_the_command(studies: int, rule, truth: Truth) -> int:
    """Write `studies` simulated studies into one SQLite file, run `python -m reports` on it, and check that its CSV
    says what reports.verdict.decide said here; returns the studies checked."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/sim.db"
        storage = optuna.storages.RDBStorage(url)
        expected = {}
        for i in range(studies):
            memory = optuna.storages.InMemoryStorage()
            verdict, _ = one_study(truth, rule, 424242 + i, memory, f"sim-{i}")
            for name in (f"sim-{i}", f"sim-{i}.reeval"):
                optuna.copy_study(from_study_name=name, from_storage=memory, to_storage=storage)
            expected[f"sim-{i}"] = verdict
        del storage
        done = subprocess.run([sys.executable, "-m", "reports", f"storage.url={url}", f"out={tmp}/r.html",
                               "dashboard=false"], cwd=ROOT, capture_output=True, text=True, env=os.environ)
        if done.returncode != 0:
            sys.exit(f"python -m reports failed: {done.stderr}")
        with open(f"{tmp}/r.csv") as f:
            rows = {r["study"]: r for r in csv.DictReader(f)}
    for name, v in expected.items():
        row = rows[name]
        if row["verdict"] != v.label or not np.isclose(float(row["ci_low"]), v.low) or not np.isclose(
                float(row["ci_high"]), v.high):
            sys.exit(f"{name}: the command's CSV says {row['verdict']} [{row['ci_low']}, {row['ci_high']}], "
                     f"decide() said {v.label} [{v.low}, {v.high}]")
    return len(expected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000, help="simulated studies per row")
    parser.add_argument("--quick", action="store_true", help="200 studies a row, fewer rows")
    parser.add_argument("--part", choices=("verdict", "budget", "all"), default="all")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    studies = 200 if args.quick else args.studies
    start = time.perf_counter()
    rules = {k: RULES[k] for k in ("2 seeds", "3 seeds", "auto, max 6")} if args.quick else RULES
    if args.part in ("verdict", "all"):
        print("verdict: coverage of the 95 % interval, winners declared, power (ROPE 0.5 points)")
        verdict_table(studies, rules, SPREADS)
    if args.part in ("budget", "all"):
        print("budget: 'still improving' flags (seed spreads LSTM 0.62, GRU 1.6; re-evaluated with the default auto)")
        budget_table(studies, BUDGET_SCENARIOS)
    checked = through_the_command(20, ("auto", 6), Truth({"lstm": 81.0, "gru": 80.0}, {"lstm": 0.62, "gru": 1.6}))
    print(f"python -m reports on {checked} of the simulated studies: its CSV agrees with decide() on every one")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
