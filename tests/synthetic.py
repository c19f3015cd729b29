"""Studies shaped exactly like cellsearch's (the same study and trial attributes), made in seconds with a
cheap objective instead of training: for testing and benchmarking the report on many trials."""

from __future__ import annotations

import math

import numpy as np
import optuna

from search.compare import PerCellPruner  # as cellsearch prunes: each cell against its own trials

METRIC = {"name": "accuracy", "direction": "maximize", "unit": "%"}


def make_study(storage, name: str, n_trials: int, lstm_advantage: float = 2.0, noise: float = 1.0,
               dataset: str = "toy", seed: int = 0, sampler: optuna.samplers.BaseSampler | None = None,
               reeval_seeds: int = 0, epochs: int = 6) -> optuna.Study:
    """A study whose LSTM trials score `lstm_advantage` points of accuracy above the GRU's on average.
    With `reeval_seeds`, also the `<name>.reeval` study with that many runs per cell. The trials run in memory
    and are then copied into `storage` (a journal or SQLite storage would spend most of the time writing)."""
    target, storage = storage, optuna.storages.InMemoryStorage()
    rng = np.random.default_rng(seed)
    sampler = sampler or optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize", sampler=sampler,
                                pruner=PerCellPruner(optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)))
    study.set_user_attr("metric", METRIC)
    study.set_user_attr("dataset", {"name": dataset, "source": "synthetic (tests/synthetic.py)", "size": 1000,
                                    "baseline": {"name": "majority class", "val": 50.0, "test": 50.0}})
    study.set_user_attr("config", {"sampler": {"_target_": f"optuna.samplers.{type(sampler).__name__}"},
                                   "storage": {"url": "sqlite:///synthetic.db"}})

    def quality(cell, hidden, lr, dropout):
        return (75.0 + (lstm_advantage if cell == "lstm" else 0.0) - 4.0 * (math.log10(lr) + 2.5) ** 2
                + 1.5 * math.log2(hidden / 32) / 3 - 3.0 * (dropout - 0.2) ** 2)

    def objective(trial: optuna.Trial) -> float:
        cell = trial.suggest_categorical("cell", ["lstm", "gru"])
        hidden = trial.suggest_int("hidden_size", 32, 256, log=True)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.5)
        if cell == "lstm":
            trial.suggest_float("forget_bias", 0.0, 2.0)
        final = quality(cell, hidden, lr, dropout) + rng.normal(0, noise)
        n_params = (4 if cell == "lstm" else 3) * (hidden * (128 + hidden) + 2 * hidden) + 128 * 5000
        trial.set_user_attr("cell", cell)
        trial.set_user_attr("n_params", n_params)
        trial.set_user_attr("sec_per_epoch", 0.5 + n_params / 1e6 + rng.uniform(0, 0.1))
        for epoch in range(1, epochs + 1):
            value = final - 10.0 * 0.5 ** epoch
            trial.report(value, epoch)
            trial.set_user_attr("epochs", epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        trial.set_user_attr("test_accuracy", final + rng.normal(0, noise / 2))
        return value

    study.optimize(objective, n_trials=n_trials)
    if reeval_seeds:
        runs = optuna.create_study(study_name=f"{name}.reeval", storage=storage, direction="maximize")
        runs.set_user_attr("of_study", name)
        runs.set_user_attr("metric", METRIC)
        for cell in ("lstm", "gru"):
            best = max((t for t in study.trials if t.value is not None and t.params["cell"] == cell),
                       key=lambda t: t.value)
            for k in range(reeval_seeds):
                test = quality(cell, best.params["hidden_size"], best.params["lr"], best.params["dropout"]) \
                    + rng.normal(0, noise)
                runs.add_trial(optuna.trial.create_trial(
                    params=best.params, distributions=best.distributions, value=test + rng.normal(0, 0.3),
                    user_attrs={"cell": cell, "seed": 1_000_000 + k, "source_trial": best.number,
                                "val_accuracy": test + 0.1, "test_accuracy": test,
                                "n_params": best.user_attrs["n_params"], "sec_per_epoch": 0.6}))
    if target is None:
        return study
    for copied in (name, f"{name}.reeval") if reeval_seeds else (name,):
        optuna.copy_study(from_study_name=copied, from_storage=storage, to_storage=target)
    return optuna.load_study(study_name=name, storage=target)
