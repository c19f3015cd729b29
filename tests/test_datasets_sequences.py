"""The sequence datasets: character language modelling (truncated BPTT), polyphonic piano rolls, and the
adding and copy problems. Metrics recomputed independently, state carrying, padding, every bad input,
and one `python -m search` run per dataset."""

import logging
import math
import pickle

import numpy as np
import optuna
import pytest
import scipy.io
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from search.config import ModelConfig, TrainConfig
from search.datasets.adding import AddingConfig
from search.datasets.chars import CharsConfig
from search.datasets.copy import CopyConfig
from search.datasets.polyphonic import PolyphonicConfig
from search.errors import UserError
from search.model import SequenceModel, build_model, detach
from search.tasks import IGNORE
from search.tasks.language_model import streams
from search.train import fit
from support import require_data, run_search

CPU = torch.device("cpu")
NOTTINGHAM = "polyphonic/Nottingham.mat"


def train_cfg(**kw):
    return OmegaConf.structured(TrainConfig(**kw))


def model_for(task, cell="gru", hidden=16, **kw):
    torch.manual_seed(0)
    return build_model(OmegaConf.structured(ModelConfig(cell=cell, hidden_size=hidden, embedding_dim=8, **kw)), task)


def constant(model, bias):
    """Make the model ignore its input: zero head weights, the given logits as the bias."""
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return model


def load_study(tmp_path, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'cellsearch.db'}")


def one_line_error(run, *fragments):
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, run.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------- the model: state in and out, every step

@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_state_carried_across_chunks_equals_one_pass(cell):
    torch.manual_seed(0)
    model = SequenceModel(cell, 12, 2, 0.0, 5, vocab_size=9, embedding_dim=4, every_step=True).eval()
    x = torch.randint(1, 9, (3, 20))
    whole = model(x, None)
    assert whole.shape == (3, 20, 5)
    first, state = model(x[:, :7], None, None, return_state=True)
    second, _ = model(x[:, 7:], None, detach(state), return_state=True)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-6)
    fresh = model(x[:, 7:], None)
    assert not torch.allclose(fresh, second, atol=1e-3), "a fresh state must differ from the carried one"


# ---------------------------------------------------------------- chars

def write_text(tmp_path, text, name="text.txt", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_streams_cover_every_character_once_in_order():
    ids = torch.arange(2, 25)  # 23 characters: 22 targets
    x, y = streams(ids, 4)
    assert x.shape == (4, 6)
    real = y != IGNORE
    assert int(real.sum()) == 22
    assert torch.equal(y[real], ids[1:]) and torch.equal(x[real], ids[:-1])  # row-major order = text order


def test_chars_uniform_predictor_scores_log2_of_the_classes(tmp_path):
    text = "".join(chr(97 + (i * 7) % 26) for i in range(3000))
    task = CharsConfig(path=str(write_text(tmp_path, text))).load()
    model = constant(model_for(task), torch.zeros(task.n_outputs))
    for split in ("val", "test"):
        assert task.score(model, split, 50, CPU) == pytest.approx(math.log2(task.n_outputs), rel=1e-6)


def test_chars_splits_vocabulary_and_unigram_baseline(tmp_path, caplog):
    rng = np.random.default_rng(0)
    train_text = "".join(rng.choice(list("aaaabbbcc d"), 1800))
    tail = "".join(rng.choice(list("abcd xyz"), 200))  # x, y and z are not in train
    task = CharsConfig(path=str(write_text(tmp_path, train_text + tail))).load()
    assert task.card["splits"]["train"] == "characters 0..1799 (1800)"
    val, test = tail[:100], tail[100:]
    assert task.card["unknown"] == {"train": 0, "val": sum(c in "xyz" for c in val),
                                    "test": sum(c in "xyz" for c in test)}
    assert task.card["classes"] == 5 and task.n_outputs == 7  # a b c d ' ', plus <pad> and <unk>
    assert "never occur in train" in caplog.text
    counts = {c: train_text.count(c) for c in set(train_text)}
    for split, part in (("val", val), ("test", test)):
        bits = [-math.log2((counts.get(c, 0) + 1) / (len(train_text) + 6)) for c in part[1:]]
        assert task.baseline[split] == pytest.approx(sum(bits) / len(bits))


def test_chars_max_chars_caps_the_corpus(tmp_path):
    task = CharsConfig(path=str(write_text(tmp_path, "abcde" * 1000)), max_chars=1000).load()
    assert task.card["size"] == 1000 and task.card["max_chars"] == 1000
    assert sum(len(v) for v in task.ids.values()) == 1000


def test_truncated_bptt_carries_the_state_across_chunks(tmp_path):
    # "aabb" repeated: after an 'a' comes 'a' or 'b' depending on the character before it. With chunks of
    # two characters, only a state carried over the chunk boundary knows that character.
    task = CharsConfig(path=str(write_text(tmp_path, "aabb" * 1500)), eval_streams=4).load()
    model = model_for(task, "gru", 16)
    fit(model, task, 2, train_cfg(max_epochs=4, lr=1e-2, batch_size=8, patience=4), CPU,
        torch.Generator().manual_seed(0))
    carried = task.score(model, "val", 2, CPU)

    x, y = streams(task.ids["val"], 4)
    nats, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, x.shape[1], 2):  # the same chunks, each from a zero state
            out = model(x[:, start:start + 2], None)
            ys = y[:, start:start + 2]
            nats += float(F.cross_entropy(out.reshape(-1, out.shape[-1]), ys.reshape(-1), ignore_index=IGNORE,
                                          reduction="sum"))
            count += int((ys != IGNORE).sum())
    reset = nats / count / math.log(2)
    assert carried < 0.1, carried
    assert reset > 0.35, reset  # the first character of every chunk is a coin toss without the state


@pytest.mark.parametrize("content,fragment", [
    (None, "no such file"),
    (b"", "the file is empty"),
    (b"line one\nline two\nbad \xff byte\n" + b"x" * 500, "line 3 is not utf-8"),
    (b"x" * 20, "split holds 1 characters of 20"),
])
def test_chars_bad_files_stop_with_one_line(tmp_path, content, fragment):
    path = tmp_path / "text.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=fragment) as e:
        CharsConfig(path=str(path)).load()
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_chars_config_errors(tmp_path):
    path = write_text(tmp_path, "abc" * 500)
    with pytest.raises(UserError, match=r"dataset.encoding=nope is not an encoding"):
        CharsConfig(path=str(path), encoding="nope").load()
    with pytest.raises(UserError, match=r"dataset.max_chars=50 is too small"):
        CharsConfig(path=str(path), max_chars=50).load()
    with pytest.raises(UserError, match=r"dataset.val_fraction=0.6 and dataset.test_fraction=0.5"):
        CharsConfig(path=str(path), val_fraction=0.6, test_fraction=0.5).load()


def test_chars_too_few_characters_for_the_batch(tmp_path):
    task = CharsConfig(path=str(write_text(tmp_path, "ab" * 60))).load()
    with pytest.raises(UserError, match="too few for 128 parallel streams"):
        next(task.batches("train", 10, 128))


@pytest.mark.slow
def test_chars_study_end_to_end(tmp_path):
    corpus = require_data("tiny_shakespeare/input.txt")
    run = run_search(tmp_path, "study=chars", "dataset.max_chars=20000", "search.n_trials=2", "train.max_epochs=1",
                     "model.embedding_dim=16")
    assert run.returncode == 0, run.stderr
    study = load_study(tmp_path, "chars")
    card = study.user_attrs["dataset"]
    assert card["source"] == f"file: {corpus}" and card["size"] == 20000 and card["max_chars"] == 20000
    assert card["splits"]["val"] == "characters 18000..18999 (1000)"
    assert study.user_attrs["metric"] == {"name": "bpc", "direction": "minimize", "unit": "bits per character"}
    assert 3 < card["baseline"]["val"] < 6
    assert {t.params["cell"] for t in study.trials} == {"lstm", "gru"}
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert 0 < trial.user_attrs["test_bpc"] < math.log2(card["classes"] + 2) + 1


# ---------------------------------------------------------------- polyphonic

@pytest.fixture(scope="module")
def nottingham():
    return scipy.io.loadmat(str(require_data(NOTTINGHAM)))


def small_mat(tmp_path, mat, sizes=(24, 8, 8), steps=60, name="small.mat", **changes):
    """A .mat like the published ones: the first sequences of each split of the real file, cut short."""
    data = {}
    for key, n in zip(("traindata", "validdata", "testdata"), sizes):
        cells = np.empty((1, n), dtype=object)
        for i in range(n):
            cells[0, i] = mat[key][0, i][:steps - 3 * (i % 5)].astype(np.uint8)
        data[key] = cells
    data.update(changes)
    path = tmp_path / name
    scipy.io.savemat(str(path), data)
    return path


def to_pickle(mat, path):
    """The Boulanger-Lewandowski layout: train/valid/test, lists of sequences of tuples of MIDI notes."""
    data = {split: [[tuple(int(j) + 21 for j in np.flatnonzero(step)) for step in seq] for seq in mat[key][0]]
            for split, key in (("train", "traindata"), ("valid", "validdata"), ("test", "testdata"))}
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def test_polyphonic_frequency_baseline_recomputed_by_hand(nottingham):
    task = PolyphonicConfig(path=str(require_data(NOTTINGHAM))).load()
    train = np.concatenate(list(nottingham["traindata"][0])).astype(float)
    p = (train.sum(0) + 1) / (len(train) + 2)
    for split, key in (("val", "validdata"), ("test", "testdata")):
        total, steps = 0.0, 0
        for seq in nottingham[key][0]:
            for step in seq[1:]:
                total -= sum(math.log(p[k]) if step[k] else math.log(1 - p[k]) for k in range(88))
                steps += 1
        assert task.baseline[split] == pytest.approx(total / steps, rel=1e-9)
        # the same predictor as a model: padded batches, masked steps, must score exactly that
        model = constant(model_for(task), torch.from_numpy(np.log(p / (1 - p))))
        assert task.score(model, split, None, CPU) == pytest.approx(total / steps, rel=1e-5)
    assert task.card["splits"]["train"].startswith("694 sequences") and task.card["size"] == 694 + 173 + 170


def test_polyphonic_padding_is_masked(tmp_path, nottingham):
    task = PolyphonicConfig(path=str(small_mat(tmp_path, nottingham))).load()
    model = model_for(task, "lstm", 24)
    lengths = [len(r) for r in task.rolls["val"]]
    assert len(set(lengths)) > 1, "the batches must hold sequences of different lengths"
    total, steps = 0.0, 0
    with torch.no_grad():
        for roll in task.rolls["val"]:  # one unpadded sequence at a time, as Bai et al. evaluate
            out = torch.sigmoid(model(roll[None, :-1].float(), None))[0].double()
            y = roll[1:].double()
            total -= float((y * out.log() + (1 - y) * (1 - out).log()).sum())
            steps += len(y)
    assert task.score(model, "val", None, CPU) == pytest.approx(total / steps, rel=1e-5)
    batch = next(task.batches("val", None, 8))
    assert bool((batch.y[..., 0] < 0).any()), "a batch of unequal sequences has padded steps"
    with torch.no_grad():
        out = model(batch.x, batch.lengths)
    noisy = out.clone()
    noisy[batch.y < 0] += 100.0  # whatever the model says at padded steps does not count
    assert float(task.loss(noisy, batch.y)) == pytest.approx(float(task.loss(out, batch.y)))
    real = batch.y >= 0
    assert float(task.loss(out, batch.y)) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(out[real], batch.y[real], reduction="sum")) / int(real[..., 0].sum()))


def test_polyphonic_pickle_reads_like_the_mat(tmp_path, nottingham):
    mat_path = small_mat(tmp_path, nottingham)
    pickle_path = to_pickle(scipy.io.loadmat(str(mat_path)), tmp_path / "small.pickle")
    from_mat = PolyphonicConfig(path=str(mat_path)).load()
    from_pickle = PolyphonicConfig(path=str(pickle_path)).load()
    for split in ("train", "val", "test"):
        assert len(from_pickle.rolls[split]) == len(from_mat.rolls[split])
        assert all(torch.equal(a, b) for a, b in zip(from_pickle.rolls[split], from_mat.rolls[split]))
    assert from_pickle.baseline["name"] == from_mat.baseline["name"]
    for split in ("val", "test"):
        assert from_pickle.baseline[split] == pytest.approx(from_mat.baseline[split], rel=1e-12)
    assert from_pickle.card["splits"] == from_mat.card["splits"]


@pytest.mark.slow
def test_bai2018_preset_runs_another_piano_roll_set_through_its_path_alone(tmp_path, nottingham):
    """study=nottingham_bai2018 on a piano-roll set of the same family given as a Boulanger-Lewandowski pickle
    (JSB Chorales, MuseData and Piano-midi.de come so): the three cells, each at the preset's 1M weights, one-tune
    batches, the published learning-rate schedule, and a verdict with the gated cells against the RNN."""
    path = to_pickle(scipy.io.loadmat(str(small_mat(tmp_path, nottingham, sizes=(6, 3, 3), steps=20))),
                     tmp_path / "JSB_Chorales.pickle")
    done = run_search(tmp_path, "study=nottingham_bai2018", f"dataset.path={path}", "search.study_name=jsb_bai2018",
                      "search.n_trials=3", "train.max_epochs=2", "search.reeval_seeds=0", "storage.url=sqlite:///j.db")
    assert done.returncode == 0, done.stderr[-2000:]
    study = optuna.load_study(study_name="jsb_bai2018", storage="sqlite:///" + str(tmp_path / "j.db"))
    trials = study.get_trials()
    assert sorted(t.params["cell"] for t in trials) == ["gru", "lstm", "rnn"], "balanced: every listed cell"
    for t in trials:
        assert 0.95e6 < t.user_attrs["n_params"] <= 1_000_000, (t.params["cell"], t.user_attrs["n_params"])
        train = t.user_attrs["config"]["train"]
        assert (train["batch_size"], train["lr_plateau_factor"], train["lr_plateau_patience"]) == (1, 0.1, 2)
    assert {t.user_attrs["hidden_size_used"] for t in trials} == {447, 520, 914}
    assert "JSB_Chorales.pickle" in str(study.user_attrs["dataset"]), "the card names the file it read"
    assert "against the plain RNN" in done.stdout + done.stderr


def test_polyphonic_pickle_never_runs_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran code",))

    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"train": [Evil()], "valid": [], "test": []}))
    with pytest.raises(UserError, match=r"refusing to build builtins.print"):
        PolyphonicConfig(path=str(path)).load()


def test_polyphonic_short_sequences_are_skipped_and_counted(tmp_path, nottingham, caplog):
    one_step = np.empty((1, 1), dtype=object)
    one_step[0, 0] = nottingham["traindata"][0, 0][:1]
    extra = small_mat(tmp_path, nottingham)
    data = scipy.io.loadmat(str(extra))
    data["traindata"] = np.concatenate([data["traindata"], one_step], axis=1)
    scipy.io.savemat(str(extra), {k: v for k, v in data.items() if not k.startswith("__")})
    with caplog.at_level(logging.WARNING):
        task = PolyphonicConfig(path=str(extra)).load()
    assert task.card["skipped_short_sequences"] == {"train": 1, "val": 0, "test": 0}
    assert len(task.rolls["train"]) == 24 and "skipped 1 train sequence" in caplog.text


def bad_pickle(tmp_path, data):
    path = tmp_path / "bad.pickle"
    path.write_bytes(pickle.dumps(data))
    return path


@pytest.mark.parametrize("make,fragment", [
    (lambda tmp, mat: tmp / "none.mat", "no such file"),
    (lambda tmp, mat: _write(tmp / "empty.mat", b""), "the file is empty"),
    (lambda tmp, mat: _write(tmp / "junk.mat", b"not matlab at all" * 20), "not a readable MATLAB file"),
    (lambda tmp, mat: _write(tmp / "rolls.npz", b"x"), "unknown piano-roll format"),
    (lambda tmp, mat: _without(tmp, mat, "testdata"),
     "no 'testdata' array"),
    (lambda tmp, mat: _cells(tmp, mat, "validdata", np.zeros((30, 87), np.uint8)),
     "validdata sequence 1 has shape (30, 87), not T x 88"),
    (lambda tmp, mat: _cells(tmp, mat, "traindata", np.full((30, 88), 2, np.uint8)),
     "traindata sequence 1, step 1: values other than 0 and 1"),
    (lambda tmp, mat: _empty_split(tmp, mat), "the test split has no sequences"),
    (lambda tmp, mat: _cells(tmp, mat, "testdata", np.zeros((1, 88), np.uint8)),
     "every test sequence is shorter than 2 steps"),
    (lambda tmp, mat: bad_pickle(tmp, {"train": [], "test": []}), "expected a dict with train, valid and test"),
    (lambda tmp, mat: bad_pickle(tmp, [1, 2]), "expected a dict with train, valid and test, found list"),
    (lambda tmp, mat: bad_pickle(tmp, {"train": [[(60,), (20, 64)]], "valid": [], "test": []}),
     "train sequence 1, step 2: note 20 is not a MIDI note number of the piano (21..108)"),
    (lambda tmp, mat: bad_pickle(tmp, {"train": [[(60,)]], "valid": [[(109,), ()]], "test": []}),
     "valid sequence 1, step 1: note 109"),
    (lambda tmp, mat: _write(tmp / "cut.pickle", pickle.dumps({"train": [[(60,)] * 50]})[:20]),
     "not a readable piano-roll pickle"),
])
def test_polyphonic_bad_files_stop_with_one_line(tmp_path, nottingham, make, fragment):
    path = make(tmp_path, nottingham)
    with pytest.raises(UserError) as e:
        PolyphonicConfig(path=str(path)).load()
    message = str(e.value)
    assert fragment in message and str(path) in message and "\n" not in message, message


def _write(path, content):
    path.write_bytes(content)
    return path


def _without(tmp_path, mat, key):
    path = small_mat(tmp_path, mat)
    data = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__") and k != key}
    scipy.io.savemat(str(path), data)
    return path


def _cells(tmp_path, mat, key, first):
    path = small_mat(tmp_path, mat)
    data = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = first
    data[key] = cells
    scipy.io.savemat(str(path), data)
    return path


def _empty_split(tmp_path, mat):
    path = small_mat(tmp_path, mat)
    data = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    data["testdata"] = np.empty((1, 0), dtype=object)
    scipy.io.savemat(str(path), data)
    return path


@pytest.mark.slow
def test_polyphonic_study_end_to_end(tmp_path, nottingham):
    path = small_mat(tmp_path, nottingham)
    run = run_search(tmp_path, "study=polyphonic", f"dataset.path={path}", "search.n_trials=2", "train.max_epochs=1")
    assert run.returncode == 0, run.stderr
    study = load_study(tmp_path, "polyphonic")
    card = study.user_attrs["dataset"]
    assert card["source"] == f"file: {path}" and card["size"] == 40
    assert card["splits"]["val"].startswith("8 sequences") and card["baseline"]["val"] > 1
    assert study.user_attrs["metric"]["unit"] == "nats per time step (summed over 88 keys)"
    assert {t.params["cell"] for t in study.trials} == {"lstm", "gru"}
    assert all(t.state == optuna.trial.TrialState.COMPLETE and t.user_attrs["test_nll"] > 0 for t in study.trials)


# ---------------------------------------------------------------- adding and copy

def test_adding_problem_data_and_mean_baseline():
    task = AddingConfig(length=30, n_train=500, n_val=200, n_test=300, data_seed=4).load()
    x, y = task.x["val"].numpy(), task.y["val"].numpy()[:, 0]
    assert x.shape == (200, 30, 2) and task.card["splits"] == {"train": 500, "val": 200, "test": 300}
    markers = x[..., 1]
    assert (markers.sum(1) == 2).all() and (markers[:, :15].sum(1) == 1).all()
    assert np.allclose(y, (x[..., 0] * markers).sum(1), atol=1e-6)
    mean = float(task.y["train"].mean())
    assert task.baseline["val"] == pytest.approx(float(((y - mean) ** 2).mean()), rel=1e-5)
    assert 0.12 < task.baseline["test"] < 0.22  # about 1/6, the variance of a sum of two uniforms
    model = constant(model_for(task), [mean])  # the baseline as a model scores the baseline
    assert task.score(model, "test", None, CPU) == pytest.approx(task.baseline["test"], rel=1e-4)
    again = AddingConfig(length=30, n_train=500, n_val=200, n_test=300, data_seed=4).load()
    other = AddingConfig(length=30, n_train=500, n_val=200, n_test=300, data_seed=5).load()
    assert torch.equal(again.x["test"], task.x["test"]) and not torch.equal(other.x["test"], task.x["test"])


def test_copy_task_layout_metric_and_chance_baseline():
    task = CopyConfig(length=12, symbols=4, n_train=400, n_val=100, n_test=100).load()
    tokens, targets = task.tokens["val"], task.targets["val"]
    assert tokens.shape == (100, 12 + 8) and task.n_features == 10 and task.n_outputs == 8
    assert torch.equal(targets[:, -4:], tokens[:, :4]) and bool((targets[:, :-4] == IGNORE).all())
    assert bool((tokens[:, 4:15] == 8).all()) and bool((tokens[:, 15] == 9).all()) and bool((tokens[:, 16:] == 8).all())
    for symbol in (0, 5):  # a model that always says `symbol` is right exactly as often as it is copied
        model = constant(model_for(task), F.one_hot(torch.tensor(symbol), 8).float() * 5)
        share = 100.0 * float((targets[:, -4:] == symbol).float().mean())
        assert task.score(model, "val", None, CPU) == pytest.approx(share)
    counts = torch.bincount(task.targets["train"][:, -4:].reshape(-1), minlength=8)
    guess = int(counts.argmax())
    assert task.baseline["val"] == pytest.approx(100.0 * float((targets[:, -4:] == guess).float().mean()))
    batch = next(task.batches("train", None, 16))
    out = torch.randn(16, 20, 8)
    changed = out.clone()
    changed[:, :-4] = 0.0  # outside the output positions nothing counts
    assert float(task.loss(out, batch.y)) == pytest.approx(float(task.loss(changed, batch.y)))


def test_adding_is_learnt_below_the_baseline():
    task = AddingConfig(length=10, n_train=2000, n_val=200, n_test=200).load()
    model = model_for(task, "lstm", 32)
    result = fit(model, task, None, train_cfg(max_epochs=6, lr=1e-2, batch_size=32, patience=6), CPU,
                 torch.Generator().manual_seed(0))
    assert result.best_value < task.baseline["val"] / 4


@pytest.mark.parametrize("config,fragment", [
    (lambda: AddingConfig(seq_len=20), "dataset.seq_len=20 has no effect on adding"),
    (lambda: CopyConfig(seq_len=20), "dataset.seq_len=20 has no effect on copy"),
    (lambda: PolyphonicConfig(seq_len=20), "dataset.seq_len=20 has no effect on polyphonic"),
    (lambda: AddingConfig(n_val=0), "dataset.n_val=0 is invalid"),
    (lambda: AddingConfig(length=1), "adding needs at least 2 steps"),
    (lambda: CopyConfig(symbols=0), "copy needs at least 1 symbol"),
])
def test_synthetic_config_errors(config, fragment):
    with pytest.raises(UserError, match=fragment):
        config().load()


@pytest.mark.slow
@pytest.mark.parametrize("study", ["adding", "copy"])
def test_synthetic_study_end_to_end_and_seq_len_refused(tmp_path, study):
    sizes = ("dataset.length=12", "dataset.n_train=256", "dataset.n_val=64", "dataset.n_test=64")
    run = run_search(tmp_path, f"study={study}", *sizes, "search.n_trials=2", "train.max_epochs=1")
    assert run.returncode == 0, run.stderr
    study_ = load_study(tmp_path, study)
    card = study_.user_attrs["dataset"]
    assert card["source"] == f"generated: {study}, data_seed=0" and card["length"] == 12
    assert card["splits"] == {"train": 256, "val": 64, "test": 64}
    assert {t.params["cell"] for t in study_.trials} == {"lstm", "gru"}
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study_.trials)
    baseline = card["baseline"]["test"]
    assert (0.1 < baseline < 0.25) if study == "adding" else (5 < baseline < 20)

    one_line_error(run_search(tmp_path, f"study={study}", "dataset.seq_len=30"), "dataset.seq_len=30 has no effect")
    spaces = tmp_path / "myconf" / "space"
    spaces.mkdir(parents=True)
    (spaces / "with_seq_len.yaml").write_text(
        "model.cell: {type: categorical, choices: [lstm, gru]}\n"
        "dataset.seq_len: {type: int, low: 8, high: 16}\n")
    one_line_error(run_search(tmp_path, f"study={study}", "space=with_seq_len",
                              f"hydra.searchpath=[file://{tmp_path / 'myconf'}]", "search.study_name=other", *sizes),
                   f"the space searches dataset.seq_len, which {study} does not use")
