"""Users' own numeric sequences: `dataset=sequences` on real-format files made from the shared data (airline
windows as UCR rows, airline years as a long CSV and Parquet, Nottingham piano rolls as a padded .npz) and on a
generated UCR set; `dataset=python` with a loader of the user's; the console commands and `search.run`."""

import html
import json
import os
import subprocess
import sys

import numpy as np
import optuna
import pytest
import torch
from omegaconf import OmegaConf

from search.datasets.python import PythonConfig
from search.datasets.sequences import SequencesConfig
from search.errors import UserError
from sequence_files import airline, airline_long, airline_ucr, generated_ucr, nottingham_npz
from support import require_data, run_search

CPU = torch.device("cpu")
SMALL = ["search.n_trials=4", "train.max_epochs=2", "train.patience=1", "search.reeval_seeds=2"]


def load(**settings):
    return OmegaConf.to_object(OmegaConf.structured(SequencesConfig(**settings))).load()


def test_airline_windows_as_ucr_rows_with_a_test_file(tmp_path):
    data = require_data("airline_passengers").parent
    train, test = airline_ucr(data, tmp_path)
    task = load(path=str(train), test_path=str(test))
    series = airline(data)
    assert task.card["kind"].startswith("classification: 2 classes, inferred")
    assert len(task.y["test"]) == 30 and len(task.y["train"]) + len(task.y["val"]) == len(series) - 12 - 30
    # standardised with the training sequences only: their steps have mean 0 and sd 1, the test steps do not
    train_steps = task.x["train"][..., 0].double()
    assert abs(float(train_steps.mean())) < 1e-6 and abs(float(train_steps.std(unbiased=False)) - 1) < 1e-4
    assert float(task.x["test"].mean()) > 1.0  # the last 30 windows are the busiest years
    # the test rows, unscaled by the affine map they imply, are the test file's rows; the same map takes every
    # training sequence back to a row of the training file, and its offset is the training steps' mean alone
    raw_test = np.array([[float(v) for v in line.split("\t")[1:]] for line in test.read_text().splitlines()])
    raw_train = np.array([[float(v) for v in line.split("\t")[1:]] for line in train.read_text().splitlines()])
    scaled_test = task.x["test"][..., 0].double().numpy()
    s = raw_test.std() / scaled_test.std()
    m = raw_test.mean() - s * scaled_test.mean()
    np.testing.assert_allclose(scaled_test * s + m, raw_test, rtol=1e-5)
    back = task.x["train"][..., 0].double().numpy() * s + m
    assert all(np.abs(raw_train - row).max(axis=1).min() < 1e-3 for row in back)
    assert m == pytest.approx(back.mean(), rel=1e-6)
    assert abs(m - np.concatenate([raw_train, raw_test]).mean()) > 10  # not fitted on everything
    # the majority-class baseline is the training split's most common label, scored on val and test
    labels = task.y["train"].numpy()
    majority = np.bincount(labels).argmax()
    assert task.baseline["test"] == pytest.approx(100 * np.mean(task.y["test"].numpy() == majority))
    assert task.metric.name == "accuracy" and task.n_outputs == 2 and task.n_features == 1


def test_long_csv_and_parquet_with_word_labels(tmp_path):
    data = require_data("airline_passengers").parent
    tasks = [load(path=str(airline_long(data, tmp_path / f"years.{ext}"))) for ext in ("csv", "parquet")]
    for task in tasks:
        assert task.card["classes"] == {"early": 6, "late": 6}
        assert task.card["lengths"] == "12 steps each" and task.card["origin"].startswith("long format")
    # the rows were written shuffled: the time column orders each year's months; CSV and Parquet agree
    assert torch.equal(tasks[0].x["train"], tasks[1].x["train"])
    series = airline(data)
    year = {1949 + i: series[12 * i:12 * i + 12] for i in range(12)}
    raw = tasks[0].x["train"][0, :, 0].double()
    matches = [y for y, v in year.items() if np.allclose(np.corrcoef(v, raw.numpy())[0, 1], 1.0)]
    assert matches, "a training sequence is one year's months in calendar order"


def test_nottingham_rolls_as_padded_npz_regression(tmp_path):
    data = require_data("polyphonic/Nottingham.mat").parent.parent
    task = load(path=str(nottingham_npz(data, tmp_path / "rolls.npz")), unit="keys a step")
    assert task.card["kind"].startswith("regression: inferred")
    assert task.n_features == 88 and task.metric.unit == "keys a step" and task.metric.direction == "minimize"
    lengths = torch.cat(list(task.lengths.values()))
    assert int(lengths.max()) == 64 and len(lengths) == 80
    # the baseline is the training mean's RMSE; the metric is on the original scale (keys sounding a step)
    y = {s: task.y[s][:, 0].double() * task.std + task.mean for s in task.y}
    assert task.baseline["val"] == pytest.approx(float(((y["val"] - task.mean) ** 2).mean().sqrt()))


@pytest.mark.slow
def test_generated_ucr_study_end_to_end_with_the_console_command(tmp_path):
    path = generated_ucr(tmp_path / "Motifs.csv", n=240)
    task = load(path=str(path))
    assert task.card["lengths"].startswith("60 to 120 steps")
    assert int(task.lengths["train"].max()) <= 120 and int(task.lengths["train"].min()) >= 60
    bin_dir = os.path.dirname(sys.executable)
    assert os.path.exists(os.path.join(bin_dir, "cellsearch")), "the console command is missing: pip install ."
    result = subprocess.run([os.path.join(bin_dir, "cellsearch"), "study=sequences", f"dataset.path={path}", *SMALL],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "verdict on study 'sequences'" in result.stdout
    study = optuna.load_study(study_name="sequences", storage=f"sqlite:///{tmp_path / 'cellsearch.db'}")
    assert len(study.trials) == 4
    assert "classification: 3 classes, inferred" in json.dumps(study.user_attrs)  # the card, as stored
    assert "baseline, majority class" in result.stdout
    report = subprocess.run([os.path.join(bin_dir, "cellsearch-report"), f"out={tmp_path / 'report.html'}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    page = html.unescape((tmp_path / "report.html").read_text())
    assert "majority class (" in page and "classification: 3 classes" in page  # the baseline and the card


LOADER = '''
import numpy as np

def load(n=120, steps=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 2))
    return x, (x[:, :5, 0].mean(axis=1) > 0).astype(int)

def ragged(n=90):
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(int(rng.integers(5, 20)), 3)) for _ in range(n)]
    return {"X_train": xs[:60], "y_train": [float(x.sum()) for x in xs[:60]],
            "X_test": xs[60:], "y_test": [float(x.sum()) for x in xs[60:]]}

def nothing():
    return 42
'''


def test_python_loader_by_name_and_in_targets_style(tmp_path, monkeypatch):
    (tmp_path / "myloader.py").write_text(LOADER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))

    def python(**settings):
        return OmegaConf.to_object(OmegaConf.structured(PythonConfig(**settings))).load()

    task = python(loader="myloader:load", args={"n": 100})
    assert task.card["kind"].startswith("classification: 2 classes") and task.n_features == 2
    assert sum(len(y) for y in task.y.values()) == 100 and "myloader:load(n=100)" in task.card["source"]
    ragged = python(loader={"_target_": "myloader.ragged", "n": 90})
    assert ragged.card["kind"].startswith("regression") and len(ragged.y["test"]) == 30
    assert ragged.card["lengths"].startswith("5 to") or ragged.card["lengths"].startswith("6 to")
    with pytest.raises(UserError, match="returned int; return \\(X, y\\)"):
        python(loader="myloader:nothing")
    with pytest.raises(UserError, match="no module 'nosuchmodule'"):
        python(loader="nosuchmodule:load")
    with pytest.raises(UserError, match="myloader has no 'missing'"):
        python(loader="myloader:missing")
    with pytest.raises(UserError, match=r"needs dataset\.loader"):
        python()


@pytest.mark.slow
def test_python_loader_from_the_command_line_and_search_run(tmp_path, monkeypatch):
    (tmp_path / "myloader.py").write_text(LOADER)
    result = run_search(tmp_path, "study=sequences", "dataset=python", "dataset.loader=myloader:load",
                        "+dataset.args.n=150", *SMALL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "verdict on study 'sequences'" in result.stdout
    import search

    monkeypatch.chdir(tmp_path)
    out = search.run(["study=sequences", "dataset=python", "dataset.loader=myloader:load", "search.study_name=api",
                      *SMALL])
    assert out.study.study_name == "api" and len(out.study.trials) == 4
    assert out.verdict.label and out.text.startswith("\nverdict on study 'api'")
    assert out.verdict.seeds and all(n >= 2 for n in out.verdict.seeds.values())
    with pytest.raises(UserError, match="n_trialz"):
        search.run({"search.n_trialz": 3})


BAD = [
    ("a.tsv", "1\t0.5\tabc\n", {}, "line 1, field 3: 'abc' is not a number"),
    ("a.tsv", "1\t0.5\tnan\t0.7\n2\t1\t2\t3\n", {}, "line 1, step 2, feature 1: nan is not a finite"),
    ("a.tsv", "1\n", {}, "line 1 has a label and no values"),
    ("a.tsv", "", {}, "the file is empty"),
    ("a.tsv", "1\t1\t2\n1\t2\t3\n1\t0\t1\n", {}, "every sequence has the label '1'"),
    ("a.tsv", "a\t1\t2\nb\t2\t3\n", {"kind": "regression"}, "label 'a' is not a number"),
    ("l.csv", "id,time,v,label\n1,1,0.5,a\n1,2,0.7,b\n", {}, "sequence 1 has labels 'a' and 'b'"),
    ("l.csv", "id,time,v,label\n1,1,0.5,a\n1,1,0.7,a\n", {}, "sequence 1 has time 1 twice"),
    ("l.csv", "id,t,v,label\n1,1,0.5,a\n", {}, "no column 'time' \\(dataset.time_column\\)"),
    ("l.csv", "id,time,v,label\n1,1,x,a\n", {}, "line 2: v='x' is not a number"),
]


@pytest.mark.parametrize("name,text,settings,message", BAD)
def test_malformed_files_are_one_line_errors(tmp_path, name, text, settings, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UserError, match=message) as caught:
        load(path=str(path), **settings)
    assert "\n" not in str(caught.value)


def test_malformed_arrays_are_one_line_errors(tmp_path):
    np.savez(tmp_path / "no_y.npz", X=np.zeros((5, 4)))
    np.savez(tmp_path / "count.npz", X=np.zeros((5, 4)), y=np.zeros(4))
    np.savez(tmp_path / "len.npz", X=np.zeros((5, 4)), y=np.zeros(5), lengths=np.array([1, 2, 3, 4, 9]))
    np.save(tmp_path / "ragged.npy", np.array([np.zeros(3), np.zeros(4)], dtype=object), allow_pickle=True)
    for name, message in [("no_y.npz", "needs X and y"), ("count.npz", "5 sequences and y 4 labels"),
                          ("len.npz", "lengths\\[4\\] = 9; each length lies in 1..4")]:
        with pytest.raises(UserError, match=message):
            load(path=str(tmp_path / name))
    with pytest.raises(UserError, match=r"set dataset\.y_path"):
        load(path=str(tmp_path / "ragged.npy"))
    with pytest.raises(UserError, match="object array"):
        load(path=str(tmp_path / "ragged.npy"), y_path=str(tmp_path / "ragged.npy"))
    with pytest.raises(UserError, match="no effect on sequences"):
        load(path=str(tmp_path / "no_y.npz"), seq_len=10)


def test_a_task_scores_against_a_hand_computed_accuracy_and_rmse(tmp_path):
    """The metrics recomputed outside the task: a model that predicts a constant scores the baseline."""
    path = generated_ucr(tmp_path / "g.csv", n=120)
    task = load(path=str(path))

    class Constant(torch.nn.Module):
        def __init__(self, out):
            super().__init__()
            self.out = out

        def forward(self, x, lengths):
            return self.out.expand(len(x), -1)

    majority = int(np.bincount(task.y["train"].numpy()).argmax())
    logits = torch.full((1, task.n_outputs), -5.0)
    logits[0, majority] = 5.0
    assert task.score(Constant(logits), "test", 0, CPU) == pytest.approx(task.baseline["test"])
    values = load(path=str(nottingham_npz(require_data("polyphonic/Nottingham.mat").parent.parent,
                                          tmp_path / "r.npz", tunes=40)))
    mean_scaled = torch.zeros(1, 1)  # the training mean, standardised
    assert values.score(Constant(mean_scaled), "val", 0, CPU) == pytest.approx(values.baseline["val"], rel=1e-6)
