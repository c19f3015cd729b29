"""Datasets from the user's files: text_csv (CSV / TSV / JSON lines, and hub layouts on local copies),
series_csv (any dated CSV, OHLC prices), sentiment_generated. Real files written to tmp_path, real loaders,
malformed input, and one `python -m search` run per dataset."""

import csv
import json
import logging
import re
import time

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from search.datasets import _review_generator
from search.datasets._text_encoding import UNK, tokenize
from search.datasets.airline import AirlineConfig
from search.datasets.sentiment_generated import Distractors, SentimentGeneratedConfig
from search.datasets.series_csv import SeriesCsvConfig, Transform
from search.datasets.text_csv import TextCsvConfig
from search.errors import UserError
from search.model import SequenceModel
from support import offline_env, require_data, run_search

CPU = torch.device("cpu")
TINY_SPACE = """\
model.cell:         {type: categorical, choices: [lstm, gru]}
model.hidden_size:  {type: int, low: 8, high: 16}
train.lr:           {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
"""


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def reviews(n, classes=("bad", "good"), seed=0):
    """`n` (text, label) rows whose words tell the class, cycling through `classes`."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = classes[i % len(classes)]
        filler = " ".join(rng.choice(["the", "film", "plot", "was", "quite", "a"], size=4))
        rows.append((f"{filler} {label} {label}ly {filler}", label))
    return rows


def ohlc(path, n=400, seed=0, start="2020-01-01"):
    """A seeded random walk written as a daily OHLC file (Date,Open,High,Low,Close,Volume)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, n)))
    opening = close * np.exp(rng.normal(0, 0.003, n))
    frame = pd.DataFrame({
        "Date": pd.bdate_range(start, periods=n).strftime("%Y-%m-%d"),
        "Open": opening.round(4), "High": (np.maximum(opening, close) * 1.004).round(4),
        "Low": (np.minimum(opening, close) * 0.996).round(4), "Close": close.round(4),
        "Volume": rng.integers(10_000, 50_000, n)})
    frame.to_csv(path, index=False)
    return frame


def tiny_space(tmp_path):
    (tmp_path / "conf" / "space").mkdir(parents=True)
    (tmp_path / "conf" / "space" / "tiny.yaml").write_text(TINY_SPACE)
    return ["space=tiny", f"hydra.searchpath=[file://{tmp_path / 'conf'}]"]


def stored_card(tmp_path, name):
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'cellsearch.db'}")
    return study, study.user_attrs["dataset"]


# -- text_csv: files ----------------------------------------------------------------------------------------

def test_csv_with_word_labels_three_classes_and_a_seeded_stratified_split(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", ["id", "review", "verdict"],
                     [(i, text, label) for i, (text, label) in enumerate(reviews(300, ("bad", "good", "meh")))])
    cfg = TextCsvConfig(path=str(path), text_column="review", label_column="verdict", min_freq=1)
    task = cfg.load()
    card = task.card
    assert card["class_names"] == ["bad", "good", "meh"] and task.n_outputs == 3
    assert card["classes"] == {"bad": 100, "good": 100, "meh": 100}
    assert card["splits"] == {"train": 240, "val": 30, "test": 30}
    assert "split_seed=0" in card["split"] and card["source"] == f"file: {path.resolve()}"
    for split in ("val", "test"):
        assert torch.bincount(task.labels[split]).tolist() == [10, 10, 10], "stratified"
    assert task.baseline["val"] == pytest.approx(100 / 3)
    again, other = cfg.load(), TextCsvConfig(**{**cfg.__dict__, "split_seed": 1}).load()
    assert torch.equal(again.ids["test"], task.ids["test"])
    assert not torch.equal(other.ids["test"], task.ids["test"])


def test_vocabulary_is_fitted_on_the_training_rows_only(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["text", "label"], reviews(40))
    test = write_csv(tmp_path / "test.csv", ["text", "label"], [("zebra good", "good"), ("zebra bad", "bad")])
    task = TextCsvConfig(path=str(train), test_path=str(test), min_freq=1).load()
    assert task.card["splits"]["test"] == 2
    assert task.ids["test"][0, 0].item() == UNK, "a word seen only in the test file maps to <unk>"
    assert "test from the given files" in task.card["split"] and "val carved" in task.card["split"]


def test_tsv_without_header_numeric_labels_in_numeric_order(tmp_path):
    rows = [(label, text) for text, label in reviews(60, ("2", "10"))]
    path = write_csv(tmp_path / "data.tsv", None, rows, delimiter="\t")
    task = TextCsvConfig(path=str(path), header=False, text_column="1", label_column="0", min_freq=1).load()
    assert task.card["class_names"] == ["2", "10"], "whole-number labels sort as numbers"
    assert task.card["size"] == 60


def test_tsv_fields_are_not_quoted(tmp_path):
    path = tmp_path / "quotes.tsv"
    path.write_text('text\tlabel\n"a quote that never closes\tgood\n' + "".join(
        f"{t}\t{lab}\n" for t, lab in reviews(40)))
    task = TextCsvConfig(path=str(path), min_freq=1).load()
    assert task.card["size"] == 41, "a stray quote in a TSV field does not swallow the following lines"


def test_jsonl_with_given_validation_and_test_files(tmp_path):
    def jsonl(name, rows):
        (tmp_path / name).write_text("".join(json.dumps({"body": t, "stars": 1.0 if lab == "good" else 0})
                                             + "\n" for t, lab in rows))
        return str(tmp_path / name)

    task = TextCsvConfig(path=jsonl("train.jsonl", reviews(50)), val_path=jsonl("val.jsonl", reviews(10, seed=1)),
                         test_path=jsonl("test.jsonl", reviews(12, seed=2)), text_column="body",
                         label_column="stars", min_freq=1).load()
    assert task.card["splits"] == {"train": 50, "val": 10, "test": 12}
    assert task.card["class_names"] == ["0", "1"], "1.0 and 0 read as the labels 1 and 0"
    assert "val, test from the given files" in task.card["split"]


def test_split_column(tmp_path):
    rows = [(t, lab, "train" if i < 40 else ("dev" if i < 50 else "test")) for i, (t, lab) in enumerate(reviews(60))]
    path = write_csv(tmp_path / "all.csv", ["text", "label", "part"], rows)
    task = TextCsvConfig(path=str(path), split_column="part", min_freq=1).load()
    assert task.card["splits"] == {"train": 40, "val": 10, "test": 10}


def test_blank_texts_are_skipped_counted_and_reported(tmp_path, caplog):
    rows = [*reviews(40), ("   ", "good"), ("", "bad")]
    path = write_csv(tmp_path / "blank.csv", ["text", "label"], rows)
    with caplog.at_level(logging.WARNING):
        task = TextCsvConfig(path=str(path), min_freq=1).load()
    assert task.card["skipped_blank_texts"] == 2 and task.card["size"] == 40
    assert "skipped 2 rows with blank text" in caplog.text


def test_long_texts_are_cut_at_load_and_counted(tmp_path):
    rows = [*reviews(40), (" ".join(["good"] * 900), "good")]
    path = write_csv(tmp_path / "long.csv", ["text", "label"], rows)
    task = TextCsvConfig(path=str(path), max_tokens=100, min_freq=1).load()
    assert task.card["cut_at_load"] == {"max_tokens": 100, "texts_cut": 1}
    assert max(int(task.lengths[s].max()) for s in ("train", "val", "test")) == 100


def test_tokens_survive_the_cut_unchanged():
    text = "It's a don't-miss film, isn't it? 10/10 -- \u00e9l\u00e8ve!"
    assert tokenize(" ".join(tokenize(text))) == tokenize(text)


BAD_TEXT_FILES = [
    ("missing.csv", None, {}, r"missing\.csv: no such file"),
    ("empty.csv", b"", {}, r"empty\.csv: the file is empty"),
    ("header.csv", b"text,label\n", {}, r"header\.csv: no data rows after the header"),
    ("cols.csv", b"review,stars\nnice,1\nbad,0\n", {},
     r"no column 'text' \(dataset\.text_column\); the columns are: review, stars"),
    ("nolabel.csv", b"text,label\ngood film,good\nbad film,\n", {},
     r"nolabel\.csv: line 3: the label \(column label\) is 'empty'"),
    ("nan.csv", b"text,label\ngood film,good\nbad film,NaN\n", {},
     r"line 3: the label \(column label\) is 'NaN', not a label"),
    ("one.csv", b"text,label\ngood film,good\nbad film,good\n", {},
     r"one\.csv: every training row has the label 'good'"),
    ("latin.csv", b"text,label\ngood,1\nbad,0\ncaf\xe9,1\n", {},
     r"latin\.csv: line 4 is not utf-8; set dataset.encoding"),
    ("data.txt", b"text,label\ngood,1\n", {}, r"data\.txt: cannot tell the format from the extension '\.txt'"),
    ("fields.csv", b"text,label\ngood film,1\nbad, film,0\n", {},
     r"fields\.csv: line 3 has 3 fields, the header has 2"),
    ("quote.csv", b'text,label\n"good" film,1\nbad,0\n', {}, r'quote\.csv: line 2: .*; check the quoting'),
    ("bad.jsonl", b'{"text": "good", "label": 1}\n{"text": "bad", label: 0}\n', {},
     r"bad\.jsonl: line 2: not valid JSON"),
    ("key.jsonl", b'{"text": "good", "label": 1}\n{"text": "bad"}\n', {}, r"key\.jsonl: line 2 has no key 'label'"),
    ("noidx.csv", b"good,1\nbad,0\n", {"header": False},
     r"dataset.text_column=text: with dataset.header=false give a 0-based column index"),
    ("split.csv", b"text,label,part\ngood,1,train\nbad,0,holdout\n", {"split_column": "part"},
     r"split\.csv: line 3: split 'holdout'"),
]


@pytest.mark.parametrize("name,content,extra,message", BAD_TEXT_FILES, ids=[b[0] for b in BAD_TEXT_FILES])
def test_malformed_text_files_stop_with_one_line(tmp_path, name, content, extra, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message) as error:
        TextCsvConfig(path=str(path), **extra).load()
    assert "\n" not in str(error.value)


def test_a_test_label_unseen_in_training_is_refused(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["text", "label"], reviews(20))
    test = write_csv(tmp_path / "test.csv", ["text", "label"], [("so so", "meh")])
    with pytest.raises(UserError, match=r"test\.csv line 2: label 'meh' never occurs in the training rows"):
        TextCsvConfig(path=str(train), test_path=str(test)).load()


def test_no_source_and_two_sources_are_refused(tmp_path):
    with pytest.raises(UserError, match=r"set dataset.path=FILE"):
        TextCsvConfig().load()
    with pytest.raises(UserError, match="give one of them"):
        TextCsvConfig(path="x.csv", hub="stanfordnlp/imdb").load()


# -- text_csv: the hub's layouts, on local files of the same shape --------------------------------------------

def hub_copy(folder, kind, n_train=60, n_eval=20):
    """A local folder shaped like the hub repository of stanfordnlp/imdb or stanfordnlp/sst2 (parquet files
    with the same columns, label names and split names; the hidden labels are -1)."""
    import datasets

    if kind == "imdb":
        features = datasets.Features({"text": datasets.Value("string"),
                                      "label": datasets.ClassLabel(names=["neg", "pos"])})
        parts = {"train": (n_train, False), "test": (n_eval, False), "unsupervised": (30, True)}
        sub, column = "plain_text", "text"
        (folder / "README.md").parent.mkdir(parents=True, exist_ok=True)
        (folder / "README.md").write_text(
            "---\nconfigs:\n- config_name: plain_text\n  data_files:\n"
            + "".join(f"  - split: {s}\n    path: plain_text/{s}-*\n" for s in parts)
            + "  default: true\n---\n")
    else:
        features = datasets.Features({"idx": datasets.Value("int32"), "sentence": datasets.Value("string"),
                                      "label": datasets.ClassLabel(names=["negative", "positive"])})
        parts = {"train": (n_train, False), "validation": (n_eval, False), "test": (n_eval + 5, True)}
        sub, column = "data", "sentence"
    (folder / sub).mkdir(parents=True, exist_ok=True)
    for split, (n, hidden) in parts.items():
        rows = {column: [f"{split} {i} {'great fun' if i % 2 else 'awful mess'}" for i in range(n)],
                "label": [-1 if hidden else i % 2 for i in range(n)]}
        if kind == "sst2":
            rows["idx"] = list(range(n))
        datasets.Dataset.from_dict(rows, features=features).to_parquet(
            str(folder / sub / f"{split}-00000-of-00001.parquet"))
    return folder


def test_sst2_layout_validation_serves_as_test(tmp_path):
    import datasets

    data = datasets.load_dataset(str(hub_copy(tmp_path / "sst2", "sst2")), cache_dir=str(tmp_path / "cache"))
    assert (data["test"]["label"][:3]) == [-1, -1, -1], "the copy has the hub's hidden test labels"
    task = TextCsvConfig(min_freq=1).from_dataset_dict(data, "stanfordnlp/sst2", "hub: stanfordnlp/sst2")
    card = task.card
    assert card["hub_splits"] == {"train": "train", "val": "carved from train", "test": "validation"}
    assert card["splits"] == {"train": 54, "val": 6, "test": 20}
    assert card["class_names"] == ["negative", "positive"] and card["columns"]["text"] == "sentence"
    assert card["size"] == 80, "the hidden-label test split is not used"


def test_imdb_layout_unsupervised_split_left_out(tmp_path):
    import datasets

    data = datasets.load_dataset(str(hub_copy(tmp_path / "imdb", "imdb")), cache_dir=str(tmp_path / "cache"))
    assert set(data) == {"train", "test", "unsupervised"}
    task = TextCsvConfig(min_freq=1).from_dataset_dict(data, "stanfordnlp/imdb", "hub: stanfordnlp/imdb")
    assert task.card["splits"] == {"train": 54, "val": 6, "test": 20}
    assert task.card["class_names"] == ["neg", "pos"]
    assert torch.bincount(task.labels["test"]).tolist() == [10, 10]


def test_unknown_hub_dataset_uses_the_configured_columns(tmp_path):
    import datasets

    train = tmp_path / "train.csv"
    write_csv(train, ["review", "stars"], [(t, int(lab == "good")) for t, lab in reviews(50)])
    hidden = write_csv(tmp_path / "test.csv", ["review", "stars"], [(t, -1) for t, _ in reviews(10)])
    val = write_csv(tmp_path / "validation.csv", ["review", "stars"],
                    [(t, int(lab == "good")) for t, lab in reviews(10, seed=3)])
    data = datasets.load_dataset("csv", data_files={"train": str(train), "validation": str(val), "test": str(hidden)},
                                 cache_dir=str(tmp_path / "cache"))
    cfg = TextCsvConfig(text_column="review", label_column="stars", min_freq=1)
    task = cfg.from_dataset_dict(data, "someone/reviews", "hub: someone/reviews")
    assert task.card["hub_splits"]["test"] == "validation", "an unlabelled test is replaced by validation"
    assert task.card["splits"]["test"] == 10 and task.card["class_names"] == ["0", "1"]
    with pytest.raises(UserError, match=r"no label column 'rating' .* the columns are: review, stars"):
        TextCsvConfig(label_column="rating").from_dataset_dict(data, "someone/reviews", "hub: someone/reviews")


def test_a_known_layout_with_hidden_labels_where_labels_are_needed_is_refused(tmp_path):
    import datasets

    folder = hub_copy(tmp_path / "sst2", "sst2")
    (folder / "data" / "validation-00000-of-00001.parquet").unlink()  # a copy whose test stands as validation
    (folder / "data" / "test-00000-of-00001.parquet").rename(folder / "data" / "validation-00000-of-00001.parquet")
    data = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(UserError,
                       match=r"split validation row 0 has no label \(-1: hidden\); this split cannot serve as test"):
        TextCsvConfig().from_dataset_dict(data, "stanfordnlp/sst2", "hub: stanfordnlp/sst2")


def test_hub_unreachable_fails_fast_in_one_line(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(UserError, match=r"dataset.hub=stanfordnlp/imdb: the Hugging Face hub cannot be reached") as e:
        TextCsvConfig(hub="stanfordnlp/imdb").load()
    assert time.perf_counter() - start < 10 and "\n" not in str(e.value)
    with pytest.raises(UserError, match=r"dataset.hub_dir=/nonexistent: no such folder"):
        TextCsvConfig(hub="sst2", hub_dir="/nonexistent").load()


# -- series_csv --------------------------------------------------------------------------------------------

def test_airline_file_through_series_csv_equals_the_airline_dataset():
    path = require_data("airline_passengers/airline-passengers.csv")
    task = SeriesCsvConfig(path=str(path), transform=Transform.log, val_size=24, test_size=24, season=12,
                           unit="thousands of passengers").load()
    airline = AirlineConfig(path=str(path)).load()
    assert task.bounds == airline.bounds
    assert np.array_equal(task.scaled, airline.scaled), "one computation (search/datasets/_forecast.py)"
    assert task.baseline == pytest.approx(dict(airline.baseline, name=task.baseline["name"]))
    assert task.baseline["name"].startswith("seasonal naive"), "the better baseline on validation"
    last = task.card["baselines"]["last value (the value 1 step before)"]
    assert last == pytest.approx(airline.card["last_value_rmse"])
    assert task.card["range"]["first"] == "1949-01-01" and task.card["size"] == 144
    assert task.card["splits"]["test"] == "1959-01-01..1960-12-01 (24 rows)"
    assert task.metric.unit == "thousands of passengers"


def test_ohlc_prices_log_returns_horizon_and_train_only_scaling(tmp_path):
    frame = ohlc(tmp_path / "prices.csv", n=400)
    close = frame["Close"].to_numpy()
    horizon = 3
    task = SeriesCsvConfig(path=str(tmp_path / "prices.csv"), target="Close",
                           features=["Open", "High", "Low", "Volume"], transform=Transform.log_returns,
                           horizon=horizon, season=5).load()
    assert task.n_features == 5 and task.bounds == {"train": (0, 280), "val": (280, 340), "test": (340, 400)}
    train = task.scaled[1:280]
    assert np.allclose(train.mean(axis=0), 0, atol=1e-5) and np.allclose(train.std(axis=0), 1, atol=1e-4)
    returns = np.diff(np.log(close))
    assert np.allclose(task.scaled[1:, 0] * returns[:279].std() + returns[:279].mean(), returns, atol=1e-5)
    # the window ends `horizon` steps before its target, the target is the log return over the horizon
    x, y = task.windows("val", 10)
    targets = task.targets("val", 10)
    assert x.shape == (60, 10, 5) and targets[0] == 280
    assert torch.equal(x[0, -1], torch.from_numpy(task.scaled[280 - horizon]))
    assert np.allclose(task.to_original(y.squeeze(-1).double().numpy(), targets), close[280:340], rtol=1e-5)
    # a forecast of "no change" (a zero return) scores exactly the last-value baseline
    zero = np.full(len(targets), -task.mean / task.std)
    no_change = np.sqrt(np.mean((task.to_original(zero, targets) - close[280:340]) ** 2))
    last = task.card["baselines"][f"last value (the value {horizon} steps before)"]
    assert no_change == pytest.approx(last["val"])
    assert last["val"] == pytest.approx(np.sqrt(np.mean((close[280:340] - close[277:337]) ** 2)))
    assert "seasonal naive (the value 5 steps before)" in task.card["baselines"]
    assert "exp(predicted log return" in task.card["metric_on"] and task.metric.unit == "Close"
    assert task.max_seq_len == 280 - 1 - horizon


def test_a_model_scores_on_the_price_scale(tmp_path):
    ohlc(tmp_path / "prices.csv", n=300)
    task = SeriesCsvConfig(path=str(tmp_path / "prices.csv"), target="Close", features=["Volume"],
                           transform=Transform.log_returns, feature_transform=Transform.log).load()
    torch.manual_seed(0)
    model = SequenceModel("gru", 8, 1, 0.0, 1, n_features=task.n_features)
    rmse = task.score(model, "test", 20, CPU)
    assert 0 < rmse < 20, "an untrained model predicts a small return: the price stays near the last one"


def test_unsorted_dates_are_sorted_and_said_so(tmp_path, caplog):
    frame = ohlc(tmp_path / "asc.csv", n=120)
    frame.iloc[::-1].to_csv(tmp_path / "desc.csv", index=False)
    asc = SeriesCsvConfig(path=str(tmp_path / "asc.csv"), target="Close").load()
    with caplog.at_level(logging.WARNING):
        desc = SeriesCsvConfig(path=str(tmp_path / "desc.csv"), target="Close").load()
    assert np.array_equal(asc.original, desc.original)
    assert desc.card["order"] == "sorted by date (the rows were newest first in the file)"
    assert "sorted by date" in caplog.text


def test_date_format_and_single_value_column(tmp_path):
    (tmp_path / "s.csv").write_text("day;value\n" + "".join(f"{d:02d}/01/2024;{10 + d % 3}\n" for d in range(1, 31)))
    task = SeriesCsvConfig(path=str(tmp_path / "s.csv"), delimiter=";", date_format="%d/%m/%Y", val_size=5,
                           test_size=5).load()
    assert task.card["target"] == "value" and task.card["range"]["last"] == "2024-01-30"


BAD_SERIES = [
    ("missing.csv", None, {}, r"missing\.csv: no such file"),
    ("empty.csv", "", {}, r"empty\.csv: the file is empty"),
    ("header.csv", "Date,Close\n", {}, r"header\.csv: no data rows after the header"),
    ("cols.csv", "Date,Close\n2020-01-01,1\n", {"target": "Price"},
     r"no column 'Price' \(dataset\.target\); the columns are: Date, Close"),
    ("feat.csv", "Date,Close\n2020-01-01,1\n", {"target": "Close", "features": ["Vol"]},
     r"no column 'Vol' \(dataset\.features\)"),
    ("which.csv", "Date,Open,Close\n2020-01-01,1,2\n", {},
     r"name the column to forecast with dataset.target=COLUMN \(the numeric columns are: Open, Close\)"),
    ("nan.csv", "Date,Close\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n", {}, r"nan\.csv: row 3: Close is empty"),
    ("text.csv", "Date,Close\n2020-01-01,1\n2020-01-02,2\n2020-01-03,n/a\n", {},
     r"text\.csv: row 4: Close is 'n/a', not a finite number"),
    ("date.csv", "Date,Close\n2020-01-01,1\n2020-13-45,2\n", {}, r"date\.csv: row 3: Date='2020-13-45' is not a date"),
    ("dup.csv", "Date,Close\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n", {},
     r"dup\.csv: rows 3 and 4 have the same date"),
    ("neg.csv", "Date,Close\n2020-01-01,1\n2020-01-02,0\n", {"transform": Transform.log},
     r"neg\.csv: row 3: Close=0 is not positive, which dataset.transform=log needs"),
    ("short.csv", "Date,Close\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in range(1, 8)), {"horizon": 5},
     r"short\.csv: the series is too short: 7 rows leave 5 for training .* fewer than the horizon \(5\)"),
    ("bytes.csv", b"Date,Close\n2020-01-01,1\n2020-01-02,\xff\n", {},
     r"bytes\.csv: line 3 is not utf-8; set dataset.encoding"),
    ("flat.csv", "Date,Close,Flag\n" + "".join(f"2020-01-{d:02d},{d},1\n" for d in range(1, 21)),
     {"target": "Close", "features": ["Flag"]},
     r"flat\.csv: column Flag is constant over the 14 training rows"),
]


@pytest.mark.parametrize("name,content,extra,message", BAD_SERIES, ids=[b[0] for b in BAD_SERIES])
def test_malformed_series_stop_with_one_line(tmp_path, name, content, extra, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message) as error:
        SeriesCsvConfig(path=str(path), **extra).load()
    assert "\n" not in str(error.value)


def test_series_without_a_file_is_refused():
    with pytest.raises(UserError, match=r"series_csv: no file; set dataset.path"):
        SeriesCsvConfig().load()


# -- sentiment_generated -------------------------------------------------------------------------------------

def test_generated_reviews_card_positions_and_distractor_lengths():
    cfg = SentimentGeneratedConfig(size=600, distractors=Distractors(3, 6))
    task = cfg.load()
    card = task.card
    assert card["splits"] == {"train": 480, "val": 60, "test": 60}
    assert card["classes"] == {"negative": 300, "positive": 300}
    assert card["verdicts"]["start"] + card["verdicts"]["end"] == 600 and 0 < card["verdicts"]["contrast"] < 600
    for split, counts in card["positions_by_split"].items():
        assert sum(counts.values()) == len(task.labels[split]) == len(task.positions[split])
    made = _review_generator.reviews(600, 0, 3, 6)
    assert {r.distractors for r in made} == {3, 4, 5, 6}
    assert card["tokens_per_text"]["max"] == max(len(tokenize(r.text)) for r in made)
    assert card["verdicts_cut_at_seq_len"]["count"] == 0
    assert set(card["bag_of_words_vote"]["val"]) == {"all", "start", "end"}
    assert task.baseline["name"].startswith("majority class") and task.baseline["val"] == pytest.approx(50.0)


def test_verdict_position_is_recorded_per_example():
    made = _review_generator.reviews(200, 5, 2, 2, start_share=0.5)
    for r in made:
        clause = r.text.split(" . ")[0 if r.position == "start" else -1].rstrip(" .")
        adjectives = set(_review_generator.POSITIVE) | set(_review_generator.NEGATIVE)
        assert any(w in adjectives for w in tokenize(clause)), (r.position, r.text)
        if r.position == "start":
            assert r.carry == len(tokenize(r.text)) - len(tokenize(clause))
    assert {r.position for r in _review_generator.reviews(50, 1, start_share=1.0)} == {"start"}


def test_the_rt_polarity_fallback_corpus_is_the_documented_one():
    texts, _labels, positions = _review_generator.generate(300, 4)
    made = _review_generator.reviews(300, 4, **_review_generator.FALLBACK)
    assert texts == [r.text for r in made] and positions == [r.position for r in made]
    assert min(r.distractors for r in made) == _review_generator.FALLBACK["min_distractors"] >= 2


def test_accuracy_by_position_adds_up_to_the_score():
    task = SentimentGeneratedConfig(size=300, distractors=Distractors(0, 3)).load()
    torch.manual_seed(0)
    model = SequenceModel("gru", 8, 1, 0.0, 2, vocab_size=task.vocab_size, embedding_dim=8)
    parts = task.accuracy_by_position(model, "val", 256, CPU)
    where = task.positions["val"]
    weighted = sum(parts[p] * np.sum(where == p) for p in parts) / len(where)
    assert weighted == pytest.approx(task.score(model, "val", 256, CPU))


def test_truncation_that_cuts_end_verdicts_is_counted(caplog):
    with caplog.at_level(logging.WARNING):
        task = SentimentGeneratedConfig(size=200, distractors=Distractors(5, 5), seq_len=20).load()
    assert task.card["verdicts_cut_at_seq_len"]["count"] == task.card["verdicts"]["end"] > 0
    assert "truncation cuts it off" in caplog.text


@pytest.mark.parametrize("extra,message", [
    ({"distractors": Distractors(5, 2)}, r"dataset.distractors: min=5, max=2"),
    ({"negation": 1.5}, r"dataset.negation=1.5: give a share in \[0, 1\]"),
    ({"size": 4}, r"dataset.size=4: generate at least 20"),
])
def test_generated_config_errors(extra, message):
    with pytest.raises(UserError, match=message):
        SentimentGeneratedConfig(**extra).load()


# -- end to end: python -m search -----------------------------------------------------------------------------

@pytest.mark.slow
def test_study_text_csv_on_a_file(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", ["text", "label"], reviews(200))
    run = run_search(tmp_path, "study=text_csv", f"dataset.path={path}", "search.n_trials=2", "train.max_epochs=1",
                     "dataset.min_freq=1", *tiny_space(tmp_path), env=offline_env())
    assert run.returncode == 0, run.stderr
    study, card = stored_card(tmp_path, "text_csv")
    assert len(study.trials) == 2 and card["source"] == f"file: {path.resolve()}"
    assert card["splits"] == {"train": 160, "val": 20, "test": 20} and card["class_names"] == ["bad", "good"]
    assert card["baseline"]["val"] == pytest.approx(50.0)


@pytest.mark.slow
def test_study_text_csv_from_a_local_copy_of_sst2(tmp_path):
    folder = hub_copy(tmp_path / "sst2", "sst2")
    run = run_search(tmp_path, "study=text_csv", "dataset.hub=stanfordnlp/sst2", f"dataset.hub_dir={folder}",
                     "search.n_trials=2", "train.max_epochs=1", *tiny_space(tmp_path),
                     env=offline_env(HF_HOME=str(tmp_path / "hf")))
    assert run.returncode == 0, run.stderr
    _, card = stored_card(tmp_path, "text_csv")
    assert card["source"] == f"hub: stanfordnlp/sst2 (local copy {folder.resolve()})"
    assert card["hub_splits"]["test"] == "validation" and card["splits"]["test"] == 20


@pytest.mark.slow
def test_study_text_csv_offline_hub_is_one_line(tmp_path):
    run = run_search(tmp_path, "study=text_csv", "dataset.hub=stanfordnlp/imdb", env=offline_env(), timeout=60)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0, run.stderr
    assert "the Hugging Face hub cannot be reached" in run.stderr


@pytest.mark.slow
def test_study_series_csv_on_ohlc_prices(tmp_path):
    ohlc(tmp_path / "prices.csv", n=300)
    run = run_search(tmp_path, "study=series_csv", f"dataset.path={tmp_path / 'prices.csv'}", "dataset.target=Close",
                     "dataset.features=[Open,High,Low,Volume]", "dataset.transform=log_returns", "dataset.horizon=2",
                     "search.n_trials=2", "train.max_epochs=1", *tiny_space(tmp_path))
    assert run.returncode == 0, run.stderr
    study, card = stored_card(tmp_path, "series_csv")
    assert len(study.trials) == 2 and card["target"] == "Close" and card["horizon"] == 2
    assert card["features"] == ["Open", "High", "Low", "Volume"]
    assert card["baseline"]["name"] == "last value (the value 2 steps before)"
    assert study.user_attrs["metric"] == {"name": "rmse", "direction": "minimize", "unit": "Close"}
    assert all(t.user_attrs["test_rmse"] > 0 for t in study.trials)


@pytest.mark.slow
def test_study_series_csv_window_longer_than_the_series(tmp_path):
    ohlc(tmp_path / "short.csv", n=60)
    run = run_search(tmp_path, "study=series_csv", f"dataset.path={tmp_path / 'short.csv'}", "dataset.target=Close",
                     "search.n_trials=1")
    assert run.returncode == 2
    assert re.search(r"dataset.seq_len reaches 60(\.0)?, but series_csv has only 41 training steps", run.stderr)
    assert run.stderr.count("\n") == 1


@pytest.mark.slow
def test_study_sentiment_generated(tmp_path):
    run = run_search(tmp_path, "study=sentiment_generated", "dataset.size=300", "dataset.distractors.min=2",
                     "dataset.distractors.max=12",
                     "search.n_trials=2", "train.max_epochs=1", *tiny_space(tmp_path))
    assert run.returncode == 0, run.stderr
    study, card = stored_card(tmp_path, "sentiment_generated")
    assert len(study.trials) == 2 and card["size"] == 300 and card["distractors"] == {"min": 2, "max": 12}
    assert card["source"] == "generated: search.datasets.generated_sentiment, corpus_seed=0"
    assert {"start", "end"} <= set(card["bag_of_words_vote"]["test"])
