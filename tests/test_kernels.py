"""search/kernels.py's GRU and RNN layers are nn.GRU and nn.RNN: the same parameters, outputs and gradients (float64,
to 1e-12), layers 1 and 2, inter-layer dropout, an initial state, and padded batches of varying lengths as the
trainer feeds them through SequenceModel; train.rnn_kernel=torch keeps PyTorch's own modules."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from search import kernels
from search.kernels import CHUNK_ROWS, GRU_MAX_BATCH, ONEDNN_MIN_BATCH, FastGRU, FastRNN, kernel_of, onednn_steps
from search.model import SequenceModel, build_model

PAIRS = [(FastGRU, torch.nn.GRU), (FastRNN, torch.nn.RNN)]


def _grads(module, x, h0):
    module.zero_grad()
    x.grad = h0.grad = None
    out, h = module(x, h0)
    (out.sin().sum() + (h * h).sum()).backward()
    return [out.detach(), h.detach(), x.grad.clone(), h0.grad.clone(), *(p.grad.clone() for p in module.parameters())]


@pytest.mark.parametrize("chunk_rows", [CHUNK_ROWS, 7], ids=["whole", "chunked"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("fast,ref", PAIRS, ids=["gru", "rnn"])
def test_outputs_and_gradients_equal_pytorchs(fast, ref, layers, chunk_rows, monkeypatch):
    """chunked: 11 steps of 3 rows through layer calls of 2 steps (the last of 1), each from the state the one
    before ended in, as sequences longer than CHUNK_ROWS rows go."""
    monkeypatch.setattr(kernels, "CHUNK_ROWS", chunk_rows)
    torch.manual_seed(0)
    theirs = ref(5, 7, layers, batch_first=True).double()
    ours = fast(5, 7, layers, batch_first=True).double()
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = torch.randn(3, 11, 5, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(layers, 3, 7, dtype=torch.double, requires_grad=True)
    for a, b in zip(_grads(theirs, x, h0), _grads(ours, x, h0), strict=True):
        assert torch.allclose(a, b, atol=1e-12, rtol=0), (a - b).abs().max()


@pytest.mark.parametrize("fast,ref", PAIRS, ids=["gru", "rnn"])
def test_inter_layer_dropout_draws_the_same_masks(fast, ref):
    torch.manual_seed(0)
    theirs, ours = ref(5, 7, 2, batch_first=True, dropout=0.5), fast(5, 7, 2, batch_first=True, dropout=0.5)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 9, 5)
    torch.manual_seed(1)
    a, _ = theirs(x)
    torch.manual_seed(1)
    b, _ = ours(x)
    assert torch.allclose(a, b, atol=1e-6) and not torch.allclose(a, theirs.eval()(x)[0], atol=1e-3)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_sequence_model_on_padded_batches_of_varying_length(cell):
    torch.manual_seed(0)
    kwargs = dict(hidden_size=8, num_layers=2, dropout=0.0, n_outputs=2, vocab_size=30, embedding_dim=6)
    ours, theirs = SequenceModel(cell, **kwargs).double(), SequenceModel(cell, kernel="torch", **kwargs).double()
    theirs.load_state_dict(ours.state_dict())
    assert type(ours.rnn) is {"gru": FastGRU, "rnn": FastRNN}[cell]
    assert type(theirs.rnn) is {"gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
    lengths = torch.tensor([12, 5, 9, 1])
    x = torch.randint(1, 30, (4, 12)) * (torch.arange(12) < lengths[:, None])  # right-padded with 0
    results = []
    for model in (ours, theirs):
        model.zero_grad()
        out = model(x, lengths)
        out.square().sum().backward()
        results.append([out.detach(), *(p.grad.clone() for p in model.parameters())])
    for a, b in zip(*results, strict=True):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


def test_large_gru_batches_without_onednn_take_pytorchs_path_and_the_kernel_is_named():
    cpu = torch.device("cpu")
    gru = FastGRU(3, 4, 1, batch_first=True)
    assert kernel_of(gru, cpu, GRU_MAX_BATCH) == "cellsearch GRU, oneDNN steps (search/kernels.py)"
    assert kernel_of(gru, cpu, 1) == "cellsearch GRU (search/kernels.py)"
    assert kernel_of(gru, cpu, GRU_MAX_BATCH + 1) == "cellsearch GRU, oneDNN steps (search/kernels.py)"
    with torch.backends.mkldnn.flags(enabled=False):
        assert kernel_of(gru, cpu, GRU_MAX_BATCH + 1) == "PyTorch GRU (autograd steps)"
    assert kernel_of(FastRNN(3, 4, 1, batch_first=True), cpu, 512) == "cellsearch RNN, oneDNN steps (search/kernels.py)"
    assert kernel_of(torch.nn.LSTM(3, 4, 1, batch_first=True), cpu, 8) == "oneDNN fused LSTM"
    assert kernel_of(torch.nn.GRU(3, 4, 1, batch_first=True), cpu, 8) == "PyTorch GRU (autograd steps)"
    assert kernel_of(gru, torch.device("cuda"), 8) == "cuDNN"
    gru = gru.double()  # MKL's products: above GRU_MAX_BATCH rows PyTorch's own path
    assert kernel_of(gru, cpu, GRU_MAX_BATCH) == "cellsearch GRU (search/kernels.py)"
    assert kernel_of(gru, cpu, GRU_MAX_BATCH + 1) == "PyTorch GRU (autograd steps)"
    reference = torch.nn.GRU(3, 4, 1, batch_first=True).double()
    reference.load_state_dict(gru.state_dict())
    x = torch.randn(GRU_MAX_BATCH + 1, 5, 3, dtype=torch.double)
    assert torch.equal(gru(x)[0], reference(x)[0]), "above the threshold: nn.GRU's own computation, bit for bit"


def test_train_rnn_kernel_torch_builds_pytorchs_modules():
    class Shape:
        vocab_size, n_features, n_outputs, every_step = None, 3, 1, False

    cfg = OmegaConf.create({"cell": "gru", "hidden_size": 4, "num_layers": 1, "dropout": 0.0, "embedding_dim": 8,
                            "forget_bias": 1.0})
    assert type(build_model(cfg, Shape()).rnn) is FastGRU
    assert type(build_model(cfg, Shape(), "torch").rnn) is torch.nn.GRU


@pytest.mark.parametrize("fast,ref", PAIRS, ids=["gru", "rnn"])
def test_float32_batches_through_onednn_steps_equal_pytorchs(fast, ref):
    """From ONEDNN_MIN_BATCH rows in float32 each step's product runs through oneDNN's packed weights (private ops of
    PyTorch's compiler: this fails if a PyTorch release renames them, and the layers would silently take addmm); at
    batch 1 through addmm, in float32 too."""
    assert torch.backends.mkldnn.is_available() and onednn_steps(ONEDNN_MIN_BATCH, torch.float32)
    assert not onednn_steps(ONEDNN_MIN_BATCH - 1, torch.float32) and not onednn_steps(64, torch.float64)
    with torch.backends.mkldnn.flags(enabled=False):
        assert not onednn_steps(64, torch.float32), "oneDNN turned off by the user: addmm"
    torch.manual_seed(0)
    theirs = ref(6, 40, 2, batch_first=True)
    ours = fast(6, 40, 2, batch_first=True)
    ours.load_state_dict(theirs.state_dict())
    # batch 1: addmm's steps, in float32 too; above GRU_MAX_BATCH the GRU's too (oneDNN's products)
    for batch in (1, ONEDNN_MIN_BATCH, ONEDNN_MIN_BATCH + 1, 2 * ONEDNN_MIN_BATCH + 1, GRU_MAX_BATCH + 1):
        x = torch.randn(batch, 30, 6, requires_grad=True)
        h0 = torch.randn(2, batch, 40, requires_grad=True)
        for a, b in zip(_grads(theirs, x, h0), _grads(ours, x, h0), strict=True):
            assert torch.allclose(a, b, atol=1e-5 * (1 + a.abs().max()), rtol=0), (a - b).abs().max()
    # oneDNN switched off between the forward (its steps) and the backward (addmm's): still the same gradients
    x = torch.randn(ONEDNN_MIN_BATCH, 30, 6)
    grads = []
    for module, onednn_backward in ((theirs, True), (ours, False)):
        module.zero_grad()
        out, h = module(x)
        with torch.backends.mkldnn.flags(enabled=onednn_backward):
            (out.sin().sum() + h.sum()).backward()
        grads.append([p.grad.clone() for p in module.parameters()])
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, atol=1e-5 * (1 + a.abs().max()), rtol=0), (a - b).abs().max()
    assert "oneDNN steps" in kernel_of(ours, torch.device("cpu"), ONEDNN_MIN_BATCH)
    assert "oneDNN" not in kernel_of(ours, torch.device("cpu"), 1)
