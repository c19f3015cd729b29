"""Fair comparison: balanced budgets, parameter-matched sizes, per-cell pruning, re-evaluation, artifacts,
replay."""

import optuna
import pytest
import torch
from optuna.distributions import CategoricalDistribution
from optuna.pruners import MedianPruner
from optuna.trial import TrialState, create_trial

from search.artifacts import artifact_store, load_model
from search.compare import PerCellPruner
from search.config import StorageConfig
from search.datasets.airline import AirlineConfig
from search.model import SequenceModel, count_parameters
from search.reeval import replay
from search.sizing import budget_hidden_size, matched_hidden_size, model_weights, recurrent_weights
from support import offline_env, run_search

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
CHEAP = ("study=airline", "train.max_epochs=2", "model.num_layers=1", "search.reeval_seeds=0")
CPU = torch.device("cpu")


def load(path, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{path}")


def per_cell(study):
    counts = {"lstm": 0, "gru": 0}
    for t in study.get_trials(deepcopy=False, states=FINISHED):
        counts[t.params["cell"]] += 1
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("workers,budget", [(1, 9), (2, 10)])
def test_balanced_gives_each_cell_the_same_number_of_trials(tmp_path, workers, budget):
    run = run_search(tmp_path, *CHEAP, "compare=balanced", f"workers={workers}", f"search.n_trials={budget}",
                     "storage.url=study.log")
    assert run.returncode == 0, run.stderr
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "study.log")))
    counts = per_cell(optuna.load_study(study_name="airline", storage=storage))
    assert sum(counts.values()) == budget and abs(counts["lstm"] - counts["gru"]) <= 1, counts


@pytest.mark.slow
def test_balanced_holds_under_tpe(tmp_path):
    """TPE past its random start-up trials still gets each cell in turn."""
    run = run_search(tmp_path, *CHEAP, "compare=balanced", "search.n_trials=14", "sampler.n_startup_trials=2")
    assert run.returncode == 0, run.stderr
    counts = per_cell(load(tmp_path / "cellsearch.db", "airline"))
    assert counts == {"lstm": 7, "gru": 7}


@pytest.mark.parametrize("input_size", [1, 32, 128])
@pytest.mark.parametrize("layers", [1, 2])
def test_param_matched_sizes_are_within_five_percent(input_size, layers):
    for hidden in range(16, 257):
        gru = matched_hidden_size("gru", hidden, input_size, layers)
        lstm = recurrent_weights("lstm", input_size, hidden, layers)
        ratio = recurrent_weights("gru", input_size, gru, layers) / lstm
        assert abs(ratio - 1) <= 0.05, (hidden, gru, ratio)
        assert matched_hidden_size("lstm", hidden, input_size, layers) == hidden


@pytest.mark.slow
def test_param_matched_study_stores_matched_models(tmp_path):
    conf = tmp_path / "conf" / "space"
    conf.mkdir(parents=True)
    (conf / "sized.yaml").write_text("model.cell: {type: categorical, choices: [lstm, gru]}\n"
                                     "model.hidden_size: {type: int, low: 16, high: 96, log: true}\n"
                                     "model.num_layers: {type: int, low: 1, high: 2}\n")
    run = run_search(tmp_path, "study=airline", "train.max_epochs=2", "compare=param_matched", "space=sized",
                     f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "search.n_trials=6")
    assert run.returncode == 0, run.stderr
    trials = load(tmp_path / "cellsearch.db", "airline").get_trials(deepcopy=False, states=FINISHED)
    assert {t.params["cell"] for t in trials} == {"lstm", "gru"}
    for t in trials:
        lstm_weights = recurrent_weights("lstm", 1, t.params["hidden_size"], t.params["num_layers"])
        assert abs(t.user_attrs["n_params_recurrent"] / lstm_weights - 1) <= 0.05
        if t.params["cell"] == "gru":
            assert t.user_attrs["hidden_size_used"] > t.params["hidden_size"]


def test_per_cell_pruner_ignores_the_other_cell():
    cell = CategoricalDistribution(["lstm", "gru"])
    study = optuna.create_study(direction="maximize")
    for value in (90.0, 92.0):
        study.add_trial(create_trial(params={"cell": "lstm"}, distributions={"cell": cell}, value=value,
                                     intermediate_values={1: value}))
    median = MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    per_cell_pruner = PerCellPruner(median)

    def gru_trial_at(value):
        study.enqueue_trial({"cell": "gru"})
        trial = study.ask({"cell": cell})
        trial.report(value, 1)
        frozen = study.get_trials(deepcopy=False)[trial.number]
        return trial, frozen

    trial, frozen = gru_trial_at(50.0)
    assert median.prune(study, frozen), "the plain median pruner judges the GRU by the LSTMs"
    assert not per_cell_pruner.prune(study, frozen), "no GRU has finished: nothing to compare with"
    study.tell(trial, 50.0)
    study.add_trial(create_trial(params={"cell": "gru"}, distributions={"cell": cell}, value=80.0,
                                 intermediate_values={1: 80.0}))
    trial, frozen = gru_trial_at(60.0)
    assert per_cell_pruner.prune(study, frozen), "a GRU below the GRUs' median is pruned"
    trial, frozen = gru_trial_at(85.0)
    assert not per_cell_pruner.prune(study, frozen), "85 is above the GRU median even if below every LSTM"


@pytest.mark.slow
def test_reeval_artifacts_and_replay(tmp_path):
    assert run_search(tmp_path, *CHEAP, "search.n_trials=4").returncode == 0
    run = run_search(tmp_path, *CHEAP, "stage=reeval", "search.reeval_seeds=3")
    assert run.returncode == 0, run.stderr
    assert "re-evaluation" in run.stdout and "3 seeds" in run.stdout
    runs = load(tmp_path / "cellsearch.db", "airline.reeval")
    by_cell = {}
    for t in runs.get_trials(deepcopy=False):
        assert t.state == TrialState.COMPLETE and {"val_rmse", "test_rmse", "source_trial"} <= set(t.user_attrs)
        by_cell.setdefault(t.user_attrs["cell"], []).append(t.user_attrs["seed"])
    assert set(by_cell) == {"lstm", "gru"}
    assert all(len(seeds) == 3 == len(set(seeds)) for seeds in by_cell.values()), by_cell
    again = run_search(tmp_path, *CHEAP, "stage=reeval", "search.reeval_seeds=3")
    assert again.returncode == 0 and len(load(tmp_path / "cellsearch.db", "airline.reeval").trials) == 6

    study = load(tmp_path / "cellsearch.db", "airline")
    task = AirlineConfig().load()
    store = artifact_store(StorageConfig(url=f"sqlite:///{tmp_path / 'cellsearch.db'}"))
    best = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.params["cell"] not in best or t.value < best[t.params["cell"]].value:
            best[t.params["cell"]] = t
    for trial in best.values():
        model = load_model(trial, task, store)
        assert task.score(model, "val", trial.params["seq_len"], CPU) == pytest.approx(trial.value, rel=1e-6)

    number = best["gru"].number
    pinned = best["gru"].user_attrs["config"]["train"]["rnn_kernel"]
    assert pinned in ("torch", "blas", "onednn"), "train.rnn_kernel=auto is stored as the kernel it measured"
    stored, replayed = replay(study, number, task, CPU)
    assert replayed == stored, "replay gives the same numbers on the CPU (the stored kernel: the same one)"


def test_every_configured_pruner_is_per_cell():
    """Each pruner of conf/pruner/ is wrapped, and sees only the judged trial's cell, hyperband's brackets too."""
    from search.sampling import make_pruner
    from test_config import make

    cell = CategoricalDistribution(["lstm", "gru"])
    study = optuna.create_study(direction="maximize")
    for i in range(12):
        name = ("lstm", "gru")[i % 2]
        study.add_trial(create_trial(params={"cell": name}, distributions={"cell": cell}, value=float(i),
                                     intermediate_values={1: float(i), 2: float(i)}))
    study.enqueue_trial({"cell": "gru"})
    trial = study.ask({"cell": cell})
    trial.report(100.0, 1)
    frozen = study.get_trials(deepcopy=False)[trial.number]
    for name in ("median", "percentile", "successive_halving", "hyperband", "none"):
        pruner = make_pruner(make(f"pruner={name}", "train.max_epochs=9"))
        assert isinstance(pruner, PerCellPruner)
        pruner.prune(study, frozen)  # runs on the per-cell view without error
        inner = pruner.pruner
        if isinstance(inner, optuna.pruners.HyperbandPruner):
            seen = [t for bracket in range(inner._n_brackets)
                    for t in inner._create_bracket_study(study, bracket).get_trials(deepcopy=False)]
            gru = {t.number for t in study.get_trials(deepcopy=False) if t.params["cell"] == "gru"}
            assert {t.number for t in seen} == gru, "the brackets together show the trial's cell, and only it"


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("shape", [(88, None, 88, 1), (32, 5000, 2, 2)])  # piano roll; embedded tokens, 2 layers
def test_param_budget_gives_the_largest_model_within_it(cell, shape):
    input_size, vocab, outputs, layers = shape
    size = budget_hidden_size(cell, 1_000_000, layers, input_size, vocab, outputs)
    assert model_weights(cell, size, layers, input_size, vocab, outputs) <= 1_000_000
    assert model_weights(cell, size + 1, layers, input_size, vocab, outputs) > 1_000_000
    model = SequenceModel(cell, size, layers, 0.0, outputs, vocab_size=vocab,
                          embedding_dim=input_size if vocab else None, n_features=None if vocab else input_size)
    assert count_parameters(model) == model_weights(cell, size, layers, input_size, vocab, outputs)


@pytest.mark.slow
def test_param_budget_sizes_every_trial_and_refuses_a_searched_size(tmp_path):
    (tmp_path / "conf" / "space").mkdir(parents=True)
    (tmp_path / "conf" / "space" / "unsized.yaml").write_text(
        "model.cell: {type: categorical, choices: [lstm, gru, rnn]}\n"
        "train.lr: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}\n")
    run = run_search(tmp_path, "study=airline", "search.n_trials=3", "train.max_epochs=1", "search.reeval_seeds=0",
                     "model.param_budget=3000", "space=unsized", f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
                     env=offline_env())
    assert run.returncode == 0, run.stderr[-2000:]
    study = load(tmp_path / "cellsearch.db", "airline")
    assert {t.params["cell"] for t in study.trials} == {"lstm", "gru", "rnn"}
    for trial in study.trials:
        assert 2800 < trial.user_attrs["n_params"] <= 3000, trial.user_attrs["n_params"]
    refused = run_search(tmp_path, "study=airline", "model.param_budget=3000", "search.study_name=other")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("error: model.param_budget=3000 sets the hidden size")
