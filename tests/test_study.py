"""`python -m search` end to end, as a user runs it: real files, resume, offline, dashboard, errors."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from support import offline_env, require_data, run_search, wait_for_training

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
TRIAL_ATTRS = {"cell", "n_params", "sec_per_epoch", "epochs", "best_epoch", "val_accuracy", "seed", "device",
               "dataset", "data_source", "cellsearch_version", "config"}


SLOW = {**os.environ, "CELLSEARCH_FAULT": "slow_batches:0.5"}  # a trial of many seconds, to interrupt mid-way


def load(path, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{path}")


def finished(study):
    return [t for t in study.trials if t.state in FINISHED]


def _small_sentiment_space(tmp_path) -> tuple[str, str]:
    """The sentiment space at its small corner (the training is not what these tests check): Hydra overrides."""
    space = (Path(__file__).parents[1] / "conf" / "space" / "sentiment.yaml").read_text()
    for wide, small in (("high: 256", "high: 48"), ("high: 2}", "high: 1}"), ("[32, 64, 128]", "[128]"),
                        ("high: 64, step: 8", "high: 24, step: 8")):
        assert wide in space, f"conf/space/sentiment.yaml changed: {wide!r} is not in it"
        space = space.replace(wide, small)
    (tmp_path / "myconf" / "space").mkdir(parents=True)
    (tmp_path / "myconf" / "space" / "small.yaml").write_text(space)
    return "space=small", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]"


@pytest.mark.slow
def test_sentiment_on_real_files_then_extended(tmp_path, rt_polarity_dir):
    small = _small_sentiment_space(tmp_path)
    run = run_search(tmp_path, "study=sentiment", *small, "search.n_trials=4", "train.max_epochs=1",
                     "search.reeval_max_seeds=3")  # the default adaptive re-evaluation, to 3 seeds (looks at 2, 3)
    assert run.returncode == 0, run.stderr
    study = load(tmp_path / "cellsearch.db", "sentiment")
    trials = finished(study)
    assert len(trials) == 4
    assert {t.params["cell"] for t in trials} == {"lstm", "gru"}
    assert [t.params["cell"] for t in study.trials[:2]] == ["lstm", "gru"], "each cell tried first"
    for t in trials:
        assert TRIAL_ATTRS <= set(t.user_attrs), TRIAL_ATTRS - set(t.user_attrs)
        assert t.user_attrs["data_source"] == f"files: {rt_polarity_dir}"
        assert t.user_attrs["cell"] == t.params["cell"] and t.user_attrs["epochs"] == 1
        if t.state == TrialState.COMPLETE:
            assert 40 <= t.user_attrs["test_accuracy"] <= 100
            assert t.value == t.user_attrs["val_accuracy"]
    attrs = study.user_attrs
    assert attrs["metric"] == {"name": "accuracy", "direction": "maximize", "unit": "%"}
    assert attrs["dataset"]["size"] == 10662 and attrs["dataset"]["baseline"]["test"] == pytest.approx(50.0)
    assert attrs["config"]["search"]["n_trials"] == 4 and attrs["config"]["model"]["cell"] in ("lstm", "gru")
    assert "lstm" in run.stdout and "gru" in run.stdout and "overall best" in run.stdout
    assert attrs["config"]["compare"]["strategy"] == "balanced"  # fair by default
    # the default pipeline: the search, then each cell's best retrained in rounds of seeds, then the verdict
    runs = load(tmp_path / "cellsearch.db", "sentiment.reeval")
    seeds = len(runs.trials) // 2
    assert sorted(t.user_attrs["cell"] for t in runs.trials) == ["gru"] * seeds + ["lstm"] * seeds and seeds in (2, 3)
    assert runs.user_attrs["reeval_looks"] == [2, 3] and "re-evaluation look 1 of 2, at 2 seeds a cell" in run.stderr
    assert "verdict on study 'sentiment': " in run.stdout
    assert "not enough evidence" in run.stdout  # 2 trials a cell: fewer than min_trials

    run = run_search(tmp_path, "study=sentiment", *small, "search.n_trials=6", "train.max_epochs=1",
                     "search.reeval_seeds=0")
    assert run.returncode == 0, run.stderr
    assert "4 of 6 finished trials present, running 2" in run.stderr
    study = load(tmp_path / "cellsearch.db", "sentiment")
    assert len(finished(study)) == 6 and len(study.trials) == 6
    assert sorted(t.number for t in study.trials) == list(range(6))

    again = run_search(tmp_path, "study=sentiment", *small, "search.n_trials=6", "train.max_epochs=1")
    assert again.returncode == 0 and "nothing to run" in again.stderr
    assert len(load(tmp_path / "cellsearch.db", "sentiment").trials) == 6


@pytest.mark.slow
def test_offline_without_data_runs_on_the_generated_corpus(tmp_path):
    run = run_search(tmp_path, "study=sentiment", *_small_sentiment_space(tmp_path), "search.n_trials=2",
                     "train.max_epochs=2", "search.reeval_seeds=0", env=offline_env())
    assert run.returncode == 0, run.stderr
    assert "GENERATED corpus" in run.stderr
    study = load(tmp_path / "cellsearch.db", "sentiment")
    assert len(finished(study)) == 2
    # the fallback does not tie the cells by construction: its first trials are far from 100 %
    assert max(v for t in finished(study) for v in t.intermediate_values.values()) < 99
    assert study.user_attrs["dataset"]["source"] == "generated (offline fallback)"
    assert {t.user_attrs["data_source"] for t in study.trials} == {"generated (offline fallback)"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_optuna_dashboard_serves_the_storage(tmp_path):
    assert run_search(tmp_path, "study=airline", "search.n_trials=2", "train.max_epochs=3").returncode == 0
    port = free_port()
    command = str(Path(sys.executable).with_name("optuna-dashboard"))  # the console script pip installed
    dashboard = subprocess.Popen([command, "sqlite:///cellsearch.db",
                                  "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, body = time.time() + 60, None
        while time.time() < deadline and body is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5).read()
            except OSError:
                time.sleep(0.5)
        assert body is not None, "optuna-dashboard did not answer within 60 s"
        studies = json.loads(body)["study_summaries"]
        assert sorted(s["study_name"] for s in studies) == ["airline", "airline.reeval"]  # the search, its seeds
    finally:
        dashboard.terminate()
        dashboard.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize("override,fragment", [
    ("model.cell=transformer", "model.cell=transformer"),
    ("search.n_trials=-1", "search.n_trials=-1"),
    ("storage.url=nosuch://x", "storage.url=nosuch://x"),
    ("storage.url=postgresql://me:secret@127.0.0.1:1/none", "cannot be opened"),
    ("dataset.path=/no/such/folder", "dataset.path=/no/such/folder"),
])
def test_errors_are_one_line_and_leave_the_storage_alone(tmp_path, override, fragment):
    assert run_search(tmp_path, "study=airline", "search.n_trials=1", "train.max_epochs=2",
                      "search.reeval_seeds=0").returncode == 0
    before = (tmp_path / "cellsearch.db").read_bytes()
    run = run_search(tmp_path, override)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], run.stderr
    assert "secret" not in run.stderr + run.stdout
    assert (tmp_path / "cellsearch.db").read_bytes() == before


@pytest.mark.slow
def test_resume_refuses_a_different_experiment(tmp_path):
    env = offline_env()  # no data folder: the bundled figures
    assert run_search(tmp_path, "study=airline", "search.n_trials=2", "train.max_epochs=2", env=env).returncode == 0
    run = run_search(tmp_path, "study=airline", "space=sentiment", "search.n_trials=3", env=env)
    assert run.returncode == 2 and "different search space" in run.stderr and "search.study_name" in run.stderr
    csv = require_data("airline_passengers/airline-passengers.csv")
    run = run_search(tmp_path, "study=airline", f"dataset.path={csv}", "search.n_trials=3", env=env)
    assert run.returncode == 2 and "was run on airline from bundled" in run.stderr
    assert len(load(tmp_path / "cellsearch.db", "airline").trials) == 2


@pytest.mark.slow
def test_same_seed_same_study(tmp_path):
    values = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        assert run_search(tmp_path / folder, "study=airline", "search.n_trials=3", "train.max_epochs=4",
                          "seed=7", "search.reeval_seeds=0").returncode == 0
        values.append([(t.params, t.value) for t in load(tmp_path / folder / "cellsearch.db", "airline").trials])
    assert values[0] == values[1]
    assert values[0][0][0]["cell"] == "lstm" and all(v is not None for _, v in values[0])


@pytest.mark.slow
def test_timeout_and_journal_storage(tmp_path):
    run = run_search(tmp_path, "study=airline", "search.n_trials=100000", "search.timeout=4",
                     "storage.url=airline.log")
    assert run.returncode == 0, run.stderr
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "airline.log")))
    trials = optuna.load_study(study_name="airline", storage=storage).trials
    assert 1 <= len(trials) < 100000
    # the trial queued for the other cell may be left WAITING when the clock runs out (it runs on resume): no start
    starts = sorted(t.datetime_start for t in trials if t.state != TrialState.WAITING)
    assert starts and all(starts)  # every trial that ran has its start recorded
    assert (starts[-1] - starts[0]).total_seconds() < 6  # no trial starts after the 4 s (a wall-clock bound on the
    # whole run would measure the machine's load instead)


@pytest.mark.slow
def test_ctrl_c_records_the_trial_as_failed_and_resume_works(tmp_path):
    args = ("study=airline", "search.n_trials=2", "train.max_epochs=3", "search.reeval_seeds=0")
    proc = subprocess.Popen([sys.executable, "-m", "search", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=SLOW)
    wait_for_training(f"sqlite:///{tmp_path / 'cellsearch.db'}", "airline")
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # nothing left burning the CPU if it did not stop
    assert proc.returncode == 130, err
    assert "run the same command to resume" in err
    assert "Traceback" not in err  # our one line, not Optuna's "Trial 0 failed ..." with its traceback first
    study = load(tmp_path / "cellsearch.db", "airline")
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.WAITING]  # lstm failed, gru queued
    run = run_search(tmp_path, *args)
    assert run.returncode == 0, run.stderr
    done = finished(load(tmp_path / "cellsearch.db", "airline"))
    assert len(done) == 2 and {t.params["cell"] for t in done} == {"lstm", "gru"}, "the failed cell is queued again"


@pytest.mark.slow
@pytest.mark.parametrize("workers,how", [(1, "SIGTERM"), (2, "SIGTERM"), (2, "Ctrl-C at the terminal")])
def test_sigterm_records_the_trial_as_failed_and_resume_works(tmp_path, workers, how):
    """SIGTERM to the command (the workers get it from the parent), or Ctrl-C at a terminal (SIGINT to every
    process of the group at once): each worker's trial fails with the signal's name, and the run resumes."""
    args = ("study=airline", "train.max_epochs=3", f"workers={workers}", "storage.url=study.log",
            "search.n_trials=2", "search.reeval_seeds=0")
    proc = subprocess.Popen([sys.executable, "-m", "search", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, env=SLOW)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "study.log")))
    wait_for_training(storage, "airline", count=workers)
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # nothing left burning the CPU if it did not stop
    assert proc.returncode == 130, err
    assert "run the same command to resume" in err
    trials = optuna.load_study(study_name="airline", storage=storage).get_trials(deepcopy=False)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == workers and not [t for t in trials if t.state == TrialState.RUNNING]
    reason = "interrupted by SIGTERM" if how == "SIGTERM" else "interrupted by SIGINT (Ctrl-C)"
    assert all(t.user_attrs["fail_reason"] == reason for t in failed), [t.user_attrs for t in failed]
    assert "Traceback" not in err
    run = run_search(tmp_path, *args)
    assert run.returncode == 0, run.stderr


@pytest.mark.slow
def test_a_space_without_model_cell_studies_the_configured_cell(tmp_path):
    """A space that does not search the cell (model.cell fixed in the config) is one cell's study: its summary,
    re-evaluation and saved models see that cell (they looked for it in the trial's parameters only)."""
    (tmp_path / "conf" / "space").mkdir(parents=True)
    (tmp_path / "conf" / "space" / "nocell.yaml").write_text(
        "model.hidden_size: {type: int, low: 8, high: 32, log: true}\n"
        "train.lr: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}\n")
    run = run_search(tmp_path, "study=airline", "space=nocell", f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
                     "model.cell=gru", "search.n_trials=3", "train.max_epochs=2", "search.reeval_seeds=2")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "no trials yet" not in run.stdout and "re-evaluation skipped" not in run.stderr
    assert "trial 0 (gru)" in run.stdout and "overall best: trial" in run.stdout
    study = load(tmp_path / "cellsearch.db", "airline")
    assert all("cell" not in t.params and t.user_attrs["cell"] == "gru" for t in study.trials)
    runs = load(tmp_path / "cellsearch.db", "airline.reeval").trials
    assert [t.user_attrs["cell"] for t in runs] == ["gru", "gru"]
    saved = [p for p in (tmp_path / "cellsearch-artifacts").rglob("*") if p.is_file()]
    assert len(saved) == sum(t.value == min(u.value for u in study.trials[:t.number + 1]) for t in study.trials), \
        "only the cell's best so far is saved, not every trial"
