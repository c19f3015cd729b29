"""Hostile and careless input, second round: passwords in every URL shape, a study cellsearch did not make,
resumes that would change what a score means, the last tracebacks, and a generated sweep over every public
command-line key. Each bad input ends in one line `error: ...`, exit 2, and leaves a stored study as it was."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import pytest

from search.storage.urls import mask, mask_all
from support import offline_env, run_search

QUICK = ("study=airline", "train.max_epochs=1", "train.threads=1", "search.reeval_seeds=0")


def one_line(run, *fragments: str) -> str:
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in run.stderr, run.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def run_reports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def fingerprint(folder: Path) -> str:
    """The stored study as its files' bytes (the SQLite file only changes when something is written)."""
    return hashlib.sha256((folder / "cellsearch.db").read_bytes()).hexdigest()


# ------------------------------------------------------------------ 1. passwords in every URL shape

@pytest.mark.parametrize("url,secret", [
    ("postgresql://alice:ab/cd@host/db", "ab/cd"),
    ("postgresql://alice:ab@cd@host/db", "ab@cd"),
    ("postgresql://alice@host/db?password=ab/cd", "ab/cd"),
    ("postgresql://alice@host/db?sslmode=require&password=x%2Fy", "x%2Fy"),
    ("postgresql+psycopg://alice:p?q#r@host:5432/db", "p?q#r"),
    ("mysql+pymysql://bob:s3cr3t@host/db", "s3cr3t"),
    ("redis://:hunter2@127.0.0.1:6379/0", "hunter2"),
    ("rediss://user:hunter2@host:6380/1", "hunter2"),
])
def test_mask_hides_the_password_in_every_shape(url, secret):
    assert secret not in mask(url) and "***" in mask(url)
    assert secret not in mask(f"could not connect to {url}: refused")
    assert secret not in str(mask_all({"storage": {"url": url}, "tags": [url]}))
    assert mask("sqlite:///cellsearch.db") == "sqlite:///cellsearch.db" and mask("run.log") == "run.log"


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["user part", "query"])
def test_a_password_with_a_slash_never_reaches_output_storage_or_report(tmp_path, postgres_url, shape):
    secret = "ab/cd-s3cret"
    user, rest = postgres_url.split("://", 1)[1].split("@", 1)
    url = (f"postgresql://{user}:{secret}@{rest}" if shape == "user part"
           else f"postgresql://{user}@{rest}?password={secret}")  # trust auth here accepts any password
    run = run_search(tmp_path, *QUICK, "search.n_trials=2", "storage=postgres",
                     f"storage.url='{url}'")  # quoted: Hydra's grammar reads a second '=' otherwise
    assert run.returncode == 0, run.stderr
    assert secret not in run.stdout + run.stderr and "***" in run.stderr
    study = optuna.load_study(study_name="airline", storage=postgres_url)
    assert secret not in str(study.user_attrs) and all(secret not in str(t.user_attrs) for t in study.trials)
    report = run_reports(tmp_path, f"storage.url={url}", "out=r.html")
    assert report.returncode == 0, report.stderr
    assert secret not in (tmp_path / "r.html").read_text() + report.stderr + (tmp_path / "r.csv").read_text()


# ------------------------------------------------------------------ 3. a study cellsearch did not make

@pytest.mark.slow
def test_a_foreign_study_is_refused_and_left_alone(tmp_path):
    storage = f"sqlite:///{tmp_path / 'plain.db'}"
    plain = optuna.create_study(study_name="plain", storage=storage)
    plain.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    run = run_search(tmp_path, *QUICK, "search.study_name=plain", "storage.url=sqlite:///plain.db",
                     "search.n_trials=4")
    one_line(run, "study 'plain' was not made by cellsearch", "search.study_name=")
    again = optuna.load_study(study_name="plain", storage=storage)
    assert len(again.trials) == 3 and again.user_attrs == {}


# ------------------------------------------------------------------ 4. what a resume may change

@pytest.mark.slow
def test_a_resume_refuses_what_changes_a_score_and_records_what_changes_its_cost(tmp_path):
    assert run_search(tmp_path, *QUICK, "search.n_trials=2").returncode == 0
    before = fingerprint(tmp_path)
    for override, fragment in [("train.max_epochs=2", "train.max_epochs=1, this run train.max_epochs=2"),
                               ("compare=param_matched", "compare.strategy=balanced, this run "
                                                         "compare.strategy=param_matched"),
                               ("train.weight_decay=0.1", "train.weight_decay"),
                               ("dataset.val_months=12", "dataset.val_months")]:
        one_line(run_search(tmp_path, *QUICK, "search.n_trials=3", override), fragment,
                 "changes what a trial's score means", "search.study_name=airline_2")
        assert fingerprint(tmp_path) == before
    run = run_search(tmp_path, *QUICK, "search.n_trials=4", "pruner=none", "sampler=random")
    assert run.returncode == 0, run.stderr
    assert "settings that differ between runs" in run.stdout
    assert "pruner._target_: optuna.pruners.SuccessiveHalvingPruner" not in run.stdout  # airline: median
    assert "pruner._target_: optuna.pruners.MedianPruner (trials 0-1), optuna.pruners.NopPruner (trials 2-3)" \
        in run.stdout, run.stdout
    report = run_reports(tmp_path, "out=r.html", "dashboard=false")
    assert report.returncode == 0 and "Settings that differ between runs" in (tmp_path / "r.html").read_text()


# ------------------------------------------------------------------ 5-7. the last tracebacks, small ones

@pytest.mark.slow
def test_a_space_file_that_is_not_yaml_or_is_empty_is_one_line(tmp_path):
    conf = tmp_path / "myconf" / "space"
    conf.mkdir(parents=True)
    (conf / "broken.yaml").write_text("model.cell: {type: categorical, choices: [lstm, gru\n")
    (conf / "empty.yaml").write_text("")
    path = f"hydra.searchpath=[file://{tmp_path / 'myconf'}]"
    one_line(run_search(tmp_path, *QUICK, "space=broken", path), "broken.yaml")
    one_line(run_search(tmp_path, *QUICK, "space=empty", path), "the search space is empty")
    assert not (tmp_path / "cellsearch.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize("device,fragment", [("tpu", "train.device=tpu is not a device"),
                                             ("cuda", "no CUDA device"), ("cuda:3", "CUDA"),
                                             ("mps", "no Apple MPS device"), ("xla", "not")])
def test_a_device_this_machine_lacks_is_refused_before_any_trial(tmp_path, device, fragment):
    import torch

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > 3:
        pytest.skip("this machine has that device")
    one_line(run_search(tmp_path, *QUICK, f"train.device={device}"), fragment)
    assert not (tmp_path / "cellsearch.db").exists(), "no storage opened, no trial failed"


@pytest.mark.slow
def test_a_missing_database_driver_says_what_to_install(tmp_path):
    line = one_line(run_search(tmp_path, *QUICK, "storage.url=mysql://u:hunter2@127.0.0.1/db"),
                    "database driver is not installed", "pip install mysqlclient")
    assert "hunter2" not in line


@pytest.mark.slow
def test_a_model_too_large_for_memory_is_pruned_with_its_reason_after_a_warning(tmp_path):
    conf = tmp_path / "myconf" / "space"
    conf.mkdir(parents=True)
    (conf / "cells.yaml").write_text("model.cell: {type: categorical, choices: [lstm, gru]}\n")
    run = run_search(tmp_path, *QUICK, "space=cells", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                     "model.hidden_size=2000000", "search.n_trials=2")  # 64 TB of weights: the allocator refuses
    assert run.returncode == 0, run.stderr
    assert "costliest corner" in run.stderr and "more than half of this machine's" in run.stderr
    study = optuna.load_study(study_name="airline", storage=f"sqlite:///{tmp_path / 'cellsearch.db'}")
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED"]
    assert all(t.user_attrs["fail_reason"].startswith("out of memory on cpu") for t in study.trials)


@pytest.mark.slow
def test_the_report_csv_quotes_what_a_spreadsheet_would_run(tmp_path):
    name = '=HYPERLINK("http://example.invalid","x")'
    run = run_search(tmp_path, *QUICK, "search.n_trials=2", f"search.study_name='{name}'")  # quoted for Hydra
    assert run.returncode == 0, run.stderr
    report = run_reports(tmp_path, "out=r.html", "dashboard=false")
    assert report.returncode == 0, report.stderr
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert rows[0]["study"] == "'" + name
    assert not any(str(v).startswith(("=", "+", "@")) for row in rows for v in row.values())


# ------------------------------------------------------------------ the whole public command line

def _cases(tmp_path: Path) -> list[tuple[str, str]]:
    folder = tmp_path / "a-folder"
    folder.mkdir(exist_ok=True)
    (folder / "not-a-folder").write_text("")
    hostile = "'; rm -rf / #$(reboot)`id`<script>"
    numbers = {  # key: (wrong type, out of range, huge)
        "search.n_trials": ("abc", "0", "10000000000"),
        "search.timeout": ("soon", "-5", "1e400"),
        "search.reeval_seeds": ("many", "-1", "99999999"),
        "train.max_epochs": ("ten", "0", "10000000"),
        "train.threads": ("two", "-3", "1.5"),
        "workers": ("all", "0", "100000"),
        "seed": ("lucky", "-1", "99999999999999999999999"),
    }
    cases = []
    for key, (wrong, out_of_range, huge) in numbers.items():
        cases += [(f"{key}={wrong}", key), (f"{key}={out_of_range}", key), (f"{key}={huge}", key),
                  (f"{key}=", key), (f"{key}={hostile}", key)]
    cases += [
        ("search.study_name=", "search.study_name"),
        (f"search.study_name={'x' * 300}", "search.study_name"), ("search.study_name=esc\x1b[31m", "search.study_name"),
        ("storage.url=", "storage.url"), ("storage.url=nosuch://x", "storage.url=nosuch://x"),
        (f"storage.url=sqlite:///{folder}/not-a-folder/x.db", "not-a-folder/x.db"),
        (f"storage.url=postgresql://me:{hostile.replace(' ', '')}@127.0.0.1:1/db", "storage.url"),
        ("storage.url=postgresql://me:pw/with@slash@127.0.0.1:1/db", "cannot be opened"),
        ("storage.url=redis://127.0.0.1:1/0", "cannot be opened"),
        ("dataset.path=", "dataset.path"), ("dataset.path=/no/such/file.csv", "no such file"),
        (f"dataset.path={folder}", "is a folder, not a file"), (f"dataset.path={hostile}", "dataset.path"),
        ("model.cell=transformer", "model.cell"), ("compare=unfair", "compare"), ("study=nosuch", "nosuch"),
        ("+train.lrr=0.5", "train.lrr is not a cellsearch setting"), ("train.lrr=0.5", "lrr"),
        ("stage=deploy", "stage"), ("stage=replay", "trial=N"), ("stage=replay\ttrial=-1", "trial"),
    ]
    return cases


@pytest.mark.slow
def test_every_public_key_refuses_bad_values_in_one_line_and_keeps_the_study(tmp_path):
    env = offline_env()
    assert run_search(tmp_path, *QUICK, "search.n_trials=2", env=env).returncode == 0
    before = fingerprint(tmp_path)
    cases = _cases(tmp_path)

    def attempt(case):
        override, _fragment = case  # a tab separates the arguments of a case of several
        return case, run_search(tmp_path, *QUICK, *override.split("\t"), env=env, timeout=120)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(attempt, cases))
    failures = []
    for (override, fragment), run in results:
        lines = [line for line in run.stderr.strip().splitlines() if line.startswith("error: ")]
        if run.returncode != 2 or len(lines) != 1 or fragment not in lines[0] or "Traceback" in run.stderr:
            failures.append(f"{override!r}: exit {run.returncode}, {run.stderr.strip()[-300:]!r}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
    assert fingerprint(tmp_path) == before, "a refused run changed the stored study"
    print(f"{len(cases)} cases")


@pytest.mark.slow
@pytest.mark.parametrize("space,override,named", [("model.cell: {type: categorical, choices: [rnn]}", [], "rnn"),
                                                  ("train.lr: {type: float, low: 0.001, high: 0.01}",
                                                   ["model.cell=rnn"], "rnn")])
def test_the_memory_warning_names_the_costliest_cell_the_study_trains(tmp_path, space, override, named):
    """It named the LSTM for any space without it (and for a space that does not search the cell)."""
    (tmp_path / "myconf" / "space").mkdir(parents=True)
    (tmp_path / "myconf" / "space" / "mine.yaml").write_text(space + "\n")
    run = run_search(tmp_path, *QUICK, "space=mine", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]",
                     "model.hidden_size=2000000", "search.n_trials=1", "search.reeval_seeds=0", *override)
    assert run.returncode == 0, run.stderr
    assert f"costliest corner ({named}, hidden 2000000" in run.stderr
