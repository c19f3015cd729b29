"""The model (both cells, padding, forget-gate init) and the trainer (learning, best epoch, divergence)."""

import pytest
import torch
from omegaconf import OmegaConf

from search.config import TrainConfig
from search.datasets.airline import AirlineConfig
from search.datasets.rt_polarity import RtPolarityConfig
from search.datasets.sentiment_generated import Distractors, SentimentGeneratedConfig
from search.model import SequenceModel, count_parameters
from search.train import NonFiniteLoss, fit

CPU = torch.device("cpu")


def train_cfg(**kw):
    return OmegaConf.structured(TrainConfig(**kw))


@pytest.mark.parametrize("cell,gates,kind", [("lstm", 4, torch.nn.LSTM), ("gru", 3, torch.nn.GRU),
                                            ("rnn", 1, torch.nn.RNN)])
def test_recurrent_parameter_count(cell, gates, kind):
    model = SequenceModel(cell, hidden_size=20, num_layers=1, dropout=0.0, n_outputs=1, n_features=3)
    assert count_parameters(model.rnn) == gates * (3 * 20 + 20 * 20 + 2 * 20)
    assert isinstance(model.rnn, kind), "the fast GRU/RNN (search/kernels.py) is PyTorch's module, subclassed"
    torch_kernel = SequenceModel(cell, hidden_size=20, num_layers=1, dropout=0.0, n_outputs=1, n_features=3,
                                 kernel="torch")
    assert type(torch_kernel.rnn) is kind, "train.rnn_kernel=torch keeps PyTorch's own module"
    if cell == "rnn":
        assert model.rnn.nonlinearity == "tanh"


def test_lstm_forget_gate_bias_is_initialised():
    model = SequenceModel("lstm", 8, 2, 0.0, 2, vocab_size=10, embedding_dim=4, forget_bias=1.5)
    for layer in range(2):
        b_ih, b_hh = getattr(model.rnn, f"bias_ih_l{layer}"), getattr(model.rnn, f"bias_hh_l{layer}")
        assert torch.all(b_ih[8:16] == 1.5) and torch.all(b_hh[8:16] == 0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_right_padding_does_not_change_the_output(cell):
    torch.manual_seed(0)
    model = SequenceModel(cell, 16, 2, 0.0, 3, vocab_size=50, embedding_dim=8).eval()
    short, long = torch.randint(2, 50, (4,)), torch.randint(2, 50, (9,))
    padded = torch.zeros(2, 9, dtype=torch.long)
    padded[0, :4], padded[1] = short, long
    together = model(padded, torch.tensor([4, 9]))
    alone = torch.cat([model(short[None], torch.tensor([4])), model(long[None], torch.tensor([9]))])
    assert torch.allclose(together, alone, atol=1e-6)


def test_fit_learns_and_keeps_the_best_epoch():
    task = SentimentGeneratedConfig(size=2000, distractors=Distractors(0, 4)).load()  # an easy corpus: it learns
    torch.manual_seed(0)
    model = SequenceModel("gru", 32, 1, 0.0, 2, vocab_size=task.vocab_size, embedding_dim=32)
    seen = []
    result = fit(model, task, 64, train_cfg(max_epochs=5, lr=3e-3, patience=5), CPU,
                 torch.Generator().manual_seed(0), on_epoch=lambda p: seen.append(p.history[-1]))
    assert seen == result.history and result.epochs == len(seen)
    assert result.best_value == max(seen) > task.baseline["val"] + 5
    assert task.score(model, "val", 64, CPU) == result.best_value, "the best epoch's weights are kept"


def test_early_stopping_and_divergence():
    task = AirlineConfig().load()
    model = SequenceModel("lstm", 8, 1, 0.0, 1, n_features=1)
    result = fit(model, task, 12, train_cfg(max_epochs=200, lr=1e-2, patience=3, batch_size=16), CPU,
                 torch.Generator().manual_seed(0))
    assert result.epochs < 200 and result.epochs - result.best_epoch == 3
    with pytest.raises(NonFiniteLoss, match="became"):
        fit(SequenceModel("lstm", 8, 1, 0.0, 1, n_features=1), task, 12,
            train_cfg(max_epochs=5, lr=1e6, clip_grad_norm=0), CPU, torch.Generator().manual_seed(0))


def test_learning_rate_divided_when_validation_stops_improving():
    """train.lr_plateau_factor (Bai et al. 2018: divide by 10): the rate drops after each epoch that did not
    improve on the best for lr_plateau_patience epochs, and never otherwise."""
    task = AirlineConfig().load()
    model = SequenceModel("gru", 8, 1, 0.0, 1, n_features=1)
    result = fit(model, task, 12, train_cfg(max_epochs=60, lr=3e-2, patience=8, batch_size=16, lr_plateau_factor=0.1,
                                            lr_plateau_patience=1), CPU, torch.Generator().manual_seed(0))
    assert result.lrs[0] == pytest.approx(3e-2) and min(result.lrs) < 3e-2, result.lrs
    best = float("inf")
    stale = 0
    for epoch, value in enumerate(result.history[:-1]):
        stale = 0 if value < best else stale + 1
        best = min(best, value)
        dropped = result.lrs[epoch + 1] < result.lrs[epoch]
        assert dropped == (stale > 1), (epoch, result.history, result.lrs)
        stale = 0 if dropped else stale
    constant = fit(SequenceModel("gru", 8, 1, 0.0, 1, n_features=1), task, 12,
                   train_cfg(max_epochs=10, lr=3e-2, batch_size=16), CPU, torch.Generator().manual_seed(0))
    assert constant.lrs == [pytest.approx(3e-2)] * constant.epochs


def test_same_seed_same_numbers():
    task = AirlineConfig().load()

    def once():
        torch.manual_seed(3)
        model = SequenceModel("gru", 8, 1, 0.1, 1, n_features=1)
        return fit(model, task, 12, train_cfg(max_epochs=4), CPU, torch.Generator().manual_seed(3)).history

    assert once() == once()


def test_task_to_moves_every_tensor_it_holds():
    task = RtPolarityConfig(path=None, hub=None, generated_size=200, min_freq=1).load()
    task.to(torch.device("meta"))  # the meta device: any tensor left behind would show up here
    tensors = []
    for value in vars(task).values():
        values = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
        tensors += [v for v in values if isinstance(v, torch.Tensor)]
    assert tensors and all(t.device.type == "meta" for t in tensors)


@pytest.mark.slow
def test_mixed_precision_needs_cuda_and_says_so_before_creating_a_storage(tmp_path):
    from support import run_search

    result = run_search(tmp_path, "study=airline", "train.amp=true", "train.device=cpu")
    assert result.returncode == 2 and "train.amp=true needs a CUDA device" in result.stderr
    assert not (tmp_path / "cellsearch.db").exists()
