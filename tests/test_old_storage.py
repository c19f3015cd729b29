"""A storage written by an earlier release still resumes, re-evaluates, loads its saved models and reports.

The fixture (tests/fixtures/release_0_1_0.db and its artifact folder) was written by release 0.1.0 before the
redesign; see tests/fixtures/README.md. It is copied, so the test never changes it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from search.artifacts import artifact_store, load_model
from search.config import StorageConfig
from search.datasets.airline import AirlineConfig
from support import offline_env, run_search

FIXTURES = Path(__file__).parent / "fixtures"
OLD = "release_0_1_0"


def _copy_old_storage(tmp_path: Path) -> str:
    shutil.copy(FIXTURES / f"{OLD}.db", tmp_path / f"{OLD}.db")
    shutil.copytree(FIXTURES / f"{OLD}-artifacts", tmp_path / f"{OLD}-artifacts")
    return f"sqlite:///{OLD}.db"


@pytest.mark.slow
def test_old_storage_resumes_and_reports(tmp_path, monkeypatch):
    monkeypatch.delenv("CELLSEARCH_DATA_DIR", raising=False)  # as the fixture was written: the bundled airline
    url = _copy_old_storage(tmp_path)
    before = optuna.load_study(study_name="airline", storage=f"sqlite:///{tmp_path / OLD}.db")
    assert len(before.trials) == 4
    stored_attrs = dict(before.user_attrs)

    task = AirlineConfig().load()
    store = artifact_store(StorageConfig(url=f"sqlite:///{tmp_path / OLD}.db"))
    saved = [t for t in before.trials if "model_artifact" in t.user_attrs]
    assert {t.params["cell"] for t in saved} == {"lstm", "gru"}
    for trial in saved:
        model = load_model(trial, task, store)
        score = task.score(model, "val", trial.params["seq_len"], torch.device("cpu"))
        assert score == pytest.approx(trial.value, rel=1e-5)

    env = offline_env()
    run = run_search(tmp_path, "study=airline", "search.n_trials=6", "train.max_epochs=2", "search.reeval_seeds=1",
                     f"storage.url={url}", env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "4 of 6 finished trials present" in run.stderr
    study = optuna.load_study(study_name="airline", storage=f"sqlite:///{tmp_path / OLD}.db")
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(study.trials) == 6 and len(finished) >= 5
    assert study.trials[4].user_attrs["seed"] != study.trials[0].user_attrs["seed"]
    for key in ("metric", "dataset", "config"):
        assert study.user_attrs[key] == stored_attrs[key]
    assert "verdict on study 'airline'" in run.stdout

    replay = run_search(tmp_path, "study=airline", "stage=replay", "trial=1", "train.max_epochs=2",
                        f"storage.url={url}", env=env)
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert "replay of trial 1" in replay.stdout

    report = subprocess.run([sys.executable, "-m", "reports", f"storage.url={url}", "out=report.html"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env=env)
    assert report.returncode == 0, report.stderr[-3000:]
    html = (tmp_path / "report.html").read_text()
    assert "airline" in html and "thousands of passengers" in html
    csv = (tmp_path / "report.csv").read_text()
    assert "airline" in csv
