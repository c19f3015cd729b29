"""Datasets on the real files: sizes, splits, train-only fitting, baselines, and malformed input."""

import numpy as np
import pytest
import torch

from search.datasets import _review_generator
from search.datasets._text_encoding import UNK, tokenize
from search.datasets.airline import PASSENGERS, AirlineConfig
from search.datasets.rt_polarity import RtPolarityConfig
from search.errors import UserError
from support import require_data


@pytest.fixture(scope="module")
def rt_task():
    return RtPolarityConfig(path=str(require_data("rt-polarity"))).load()


def test_rt_polarity_from_the_real_files(rt_task):
    card = rt_task.card
    assert card["size"] == 10662 and card["classes"] == {"negative": 5331, "positive": 5331}
    assert card["splits"] == {"train": 8530, "val": 1066, "test": 1066}
    assert card["source"].startswith("files: ")
    for split in ("val", "test"):  # stratified: both classes in equal numbers
        assert torch.bincount(rt_task.labels[split]).tolist() == [533, 533]
    assert rt_task.baseline["val"] == pytest.approx(50.0)


def test_rt_polarity_split_is_fixed_by_split_seed(rt_task):
    again = RtPolarityConfig(path=str(require_data("rt-polarity"))).load()
    assert torch.equal(again.ids["test"], rt_task.ids["test"])
    other = RtPolarityConfig(path=str(require_data("rt-polarity")), split_seed=1).load()
    assert not torch.equal(other.labels["test"], rt_task.labels["test"]) or \
        not torch.equal(other.lengths["test"], rt_task.lengths["test"])


def test_vocabulary_is_fitted_on_train_only():
    texts = ["good film", "bad film", "good plot", "bad plot", "unseenword here", "x y"]
    from search.datasets._text_encoding import text_classification
    splits = {"train": np.array([0, 1, 2, 3]), "val": np.array([4]), "test": np.array([5])}
    task = text_classification("toy", texts, [1, 0, 1, 0, 1, 0], ["neg", "pos"], splits, 1, {"source": "toy"})
    assert task.ids["val"][0, 0].item() == UNK, "a word seen only in validation maps to <unk>"
    assert task.vocab_size == 2 + 4


def test_cp1252_bytes_decode_and_bad_encoding_is_named(tmp_path):
    (tmp_path / "rt-polarity.pos").write_bytes("a caf\xe9 film\n".encode("cp1252") * 20)
    (tmp_path / "rt-polarity.neg").write_bytes(b"dull film\n" * 20)
    task = RtPolarityConfig(path=str(tmp_path), min_freq=1).load()
    assert task.card["size"] == 40
    with pytest.raises(UserError, match=r"rt-polarity\.neg: line 1 is not utf-8"):
        (tmp_path / "rt-polarity.neg").write_bytes(b"\xff\xfe dull\n")
        RtPolarityConfig(path=str(tmp_path), encoding="utf-8").load()


def test_missing_files_are_an_error_not_a_fallback(tmp_path):
    with pytest.raises(UserError, match=r"rt-polarity\.neg, rt-polarity\.pos not found"):
        RtPolarityConfig(path=str(tmp_path)).load()


def test_generated_fallback_when_offline(monkeypatch):
    monkeypatch.delenv("CELLSEARCH_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    task = RtPolarityConfig(generated_size=400).load()
    assert task.card["source"] == "generated (offline fallback)"
    assert task.card["classes"] == {"negative": 200, "positive": 200}
    with pytest.raises(UserError, match="no files and no hub"):
        RtPolarityConfig(generated_fallback=False).load()


def test_generated_reviews_have_the_documented_structure():
    texts, labels, positions = _review_generator.generate(200, seed=3)
    assert set(positions) == {"start", "end"} and sum(labels) == 100
    assert any(" but " in t for t in texts) and any(" not " in t for t in texts)
    assert _review_generator.generate(200, seed=3)[0] == texts
    # the verdict decides: a plain positive clause is labelled positive
    for text, label in zip(texts, labels):
        clause = text.split(" , but ")[-1]
        words = tokenize(clause)
        positive = any(w in _review_generator.POSITIVE for w in words)
        negated = any(w in ("not", "never", "hardly", "far") for w in words)
        if " but " not in text and any(w in _review_generator.SUBJECTS[0] for w in words[:1]):
            assert label == int(positive != negated)


def test_airline_bundled_figures_equal_the_published_file():
    path = require_data("airline_passengers/airline-passengers.csv")
    from_file = AirlineConfig(path=str(path)).load()
    bundled = AirlineConfig().load()
    assert np.array_equal(from_file.original, np.asarray(PASSENGERS, dtype=float))
    assert np.array_equal(bundled.original, from_file.original)
    assert len(PASSENGERS) == 144 and min(PASSENGERS) == 104 and max(PASSENGERS) == 622


def test_airline_split_scaling_and_baseline():
    task = AirlineConfig().load()
    assert task.bounds == {"train": (0, 96), "val": (96, 120), "test": (120, 144)}
    train = task.scaled[:96]
    assert abs(float(train.mean())) < 1e-5 and abs(float(train.std()) - 1) < 1e-4, "scaled on train only"
    assert task.scaled[120:].mean() > 1, "the test years lie above the training level: no leakage"
    values = np.asarray(PASSENGERS, dtype=float)
    naive = np.sqrt(np.mean((values[120:] - values[108:132]) ** 2))
    assert task.baseline["test"] == pytest.approx(naive)
    x, y = task.windows("val", 12)
    assert x.shape == (24, 12, 1)
    assert torch.equal(x[0, :, 0], torch.from_numpy(task.scaled[84:96, 0])), "val windows reach back into train"
    assert np.allclose(task.to_original(y.squeeze(-1).numpy()), values[96:120], rtol=1e-4)


@pytest.mark.parametrize("content,message", [
    ("Month,Passengers\n1949-01,112\n1949-02,abc\n", "row 3 has Passengers='abc'"),
    ("Date,Count\n1949-01,112\n", "expected columns Month,Passengers"),
    ("", "not a readable CSV"),
    ("Month,Passengers\n" + "".join(f"{1949 + i // 12}-{i % 12 + 1:02d},100\n" for i in range(72)),
     r"airline \(file: .*series.csv\): column Passengers is constant over the 24 training rows; a series that"),
])
def test_airline_malformed_csv(tmp_path, content, message):
    path = tmp_path / "series.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        AirlineConfig(path=str(path)).load()
