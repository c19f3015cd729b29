"""The whole path of a study, in this process and in seconds, for the quick tier (`pytest -m "not slow"`): search,
re-evaluation, resume, the report with every figure, MLflow tracking into a local MLflow store (MLflow itself,
no server), workers, and the Slurm scripts. The slow tier runs each of these again as the real command, with
the real servers, and checks far more; this keeps every module exercised by the quick tier."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

import search
from reports.__main__ import build
from reports.config import parse

TINY = ("study=airline", "train.max_epochs=1", "train.threads=1", "search.study_name=tiny")


def test_a_tiny_study_searched_reevaluated_resumed_tracked_and_reported(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    tracking = ("tracking=mlflow", f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", "tracking.experiment=quick")
    result = search.run([*TINY, "search.n_trials=2", "search.reeval_seeds=2", *tracking])
    trials = result.study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(trials) == 2 and {t.params["cell"] for t in trials} == {"lstm", "gru"}
    assert result.verdict.source == "re-evaluation" and result.verdict.seeds == {"lstm": 2, "gru": 2}
    assert result.verdict.label in result.text
    again = search.run([*TINY, "search.n_trials=3", "search.reeval_seeds=0", *tracking])  # resumed: one more
    assert len(again.study.trials) == 3 and again.study.trials[:2] == result.study.trials[:2]

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("quick").experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 3 + 4, "three trials and four re-evaluation runs, each once"

    out = build(parse(["storage.url=sqlite:///cellsearch.db", "out=report/index.html"]))
    html = out.read_text()
    assert out.resolve() == tmp_path / "report" / "index.html" and "tiny" in html and "LSTM" in html
    assert (tmp_path / "report" / "index.csv").is_file()
    assert "tiny" in optuna_dashboard_note(tmp_path), "the verdict saved for optuna-dashboard"


def optuna_dashboard_note(folder) -> str:
    from optuna_dashboard import get_note

    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{folder}/cellsearch.db")
    return get_note(study)


def test_two_workers_share_one_budget_exactly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = search.run([*TINY, "search.n_trials=4", "search.reeval_seeds=0", "workers=2"])
    finished = result.study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(finished) == 4 and len(result.study.trials) == 4, "the budget exactly, not a count per worker"
    assert (tmp_path / "cellsearch.log").is_file(), "several workers default to the journal file"


def test_slurm_scripts_are_written_without_submitting(tmp_path, monkeypatch, postgres_url):
    from search.api import compose
    from search.study import run

    monkeypatch.chdir(tmp_path)
    cfg = compose([*TINY, "search.n_trials=4", "storage=postgres", f"storage.url={postgres_url}", "cluster=slurm",
                   "cluster.tasks=3", "cluster.submit=false", f"cluster.logs={tmp_path}/logs"])
    assert run(cfg) is None  # the login node's part: check, write, (not) submit; no trial runs here
    script = (tmp_path / "logs" / "tiny.search.sbatch").read_text()
    assert "#SBATCH --array=0-2" in script and "cluster=local" in script
    assert postgres_url not in script, "the storage URL reaches the tasks through the environment, not the script"
    assert (tmp_path / "logs" / "tiny.reeval.sbatch").is_file()
