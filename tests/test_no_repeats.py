"""No configuration is trained twice by accident: every run of a study (a resume, an extension, a second
process or machine) samples from a random state of its own, and a drawn parameter set that a finished
trial already has is failed untrained (`repeat_of`) instead of trained again.

Before, each run re-seeded the sampler with `seed` alone: after n_trials=3, then 4, then 5, trial 4 had
exactly trial 3's parameters, and two processes started together drew identical pairs."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from support import run_search

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
QUICK = ("study=airline", "train.max_epochs=1", "train.threads=1", "search.reeval_seeds=0")


def param_sets(study: optuna.Study) -> list[tuple]:
    return [tuple(sorted(t.params.items())) for t in study.get_trials(deepcopy=False, states=FINISHED)]


@pytest.mark.slow
def test_resumes_and_extensions_draw_new_configurations(tmp_path):
    for budget in (2, 3, 4, 5):
        run = run_search(tmp_path, *QUICK, f"search.n_trials={budget}")
        assert run.returncode == 0, run.stderr
    study = optuna.load_study(study_name="airline", storage=f"sqlite:///{tmp_path / 'cellsearch.db'}")
    drawn = param_sets(study)
    assert len(drawn) == 5 and len(set(drawn)) == 5, drawn
    assert study.user_attrs["sampler_runs"] == 4
    assert study.metric_names == ["val rmse (thousands of passengers)"]  # optuna-dashboard's axis title


@pytest.mark.slow
@pytest.mark.parametrize("url", ["sqlite:///shared.db", "shared.log"])
def test_two_processes_started_together_draw_different_configurations(tmp_path, url):
    args = [sys.executable, "-m", "search", *QUICK, "search.n_trials=8", f"storage.url={url}"]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err  # a new SQLite file: both create or check its tables in turn
    storage = f"sqlite:///{tmp_path / 'shared.db'}" if url.startswith("sqlite") else \
        optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / url)))
    study = optuna.load_study(study_name="airline", storage=storage)
    drawn = param_sets(study)
    assert len(drawn) >= 8 and len(set(drawn)) == len(drawn), drawn
    assert study.user_attrs["sampler_runs"] == 2
    assert not study.get_trials(states=(TrialState.WAITING, TrialState.RUNNING))


@pytest.mark.slow
def test_a_repeated_configuration_is_failed_untrained_and_an_exhausted_space_stops(tmp_path):
    conf = tmp_path / "myconf" / "space"
    conf.mkdir(parents=True)
    (conf / "four.yaml").write_text("model.cell: {type: categorical, choices: [lstm, gru]}\n"
                                    "train.batch_size: {type: categorical, choices: [8, 16]}\n")
    run = run_search(tmp_path, *QUICK, "space=four", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                     "search.n_trials=6", "model.hidden_size=4", "dataset.seq_len=4")
    assert run.returncode == 0, run.stderr
    assert "the search space looks exhausted" in run.stderr
    study = optuna.load_study(study_name="airline", storage=f"sqlite:///{tmp_path / 'cellsearch.db'}")
    drawn = param_sets(study)
    assert len(drawn) == len(set(drawn)) == 4  # every configuration of the space, each trained once
    repeats = study.get_trials(states=(TrialState.FAIL,))
    assert len(repeats) >= 20
    for t in repeats:
        assert t.user_attrs["fail_reason"].startswith("repeats the parameters of finished trial")
        assert "epochs" not in t.user_attrs and not t.intermediate_values  # never trained
        assert param_sets(study)[[d.number for d in study.get_trials(states=FINISHED)].index(
            t.user_attrs["repeat_of"])] == tuple(sorted(t.params.items()))
