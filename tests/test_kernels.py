"""search/kernels.py's GRU and RNN layers are nn.GRU and nn.RNN: the same parameters, outputs and gradients (float64,
to 1e-12; float32 through oneDNN and BLAS), layers 1 and 2, inter-layer dropout, an initial state, and padded
batches of varying lengths as the trainer feeds them through SequenceModel; train.rnn_kernel=auto measures which
path is fastest and takes it; train.rnn_kernel=torch keeps PyTorch's own modules."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from search import kernels
from search.kernels import CHUNK_ROWS, MEASURED, ONEDNN_MIN_BATCH, FastGRU, FastRNN, kernel_of, measured_kernel
from search.model import SequenceModel, build_model
from search.objective import with_kernel

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
    ours.kernel = "blas"  # float64: oneDNN cannot take it (auto might measure PyTorch's own path faster at this size)
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
    ours.kernel = "blas"
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
    ours = SequenceModel(cell, kernel="blas", **kwargs).double()
    theirs = SequenceModel(cell, kernel="torch", **kwargs).double()
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


def test_the_kernel_is_named():
    cpu = torch.device("cpu")
    gru = FastGRU(3, 4, 1, batch_first=True)
    for kernel, name in (("blas", "cellsearch GRU, BLAS products (search/kernels.py)"),
                         ("onednn", "cellsearch GRU, oneDNN products (search/kernels.py)"),
                         ("torch", "PyTorch GRU (autograd steps)")):
        gru.kernel = kernel
        assert kernel_of(gru, cpu, 8) == name
    gru.kernel = "onednn"
    with torch.backends.mkldnn.flags(enabled=False):
        assert kernel_of(gru, cpu, 8) == "cellsearch GRU, BLAS products (search/kernels.py)", "oneDNN turned off"
    assert kernel_of(gru.double(), cpu, 8) == "cellsearch GRU, BLAS products (search/kernels.py)", "float64"
    rnn = FastRNN(3, 4, 1, batch_first=True)
    rnn.kernel = "blas"
    assert kernel_of(rnn, cpu, 512) == "cellsearch RNN, BLAS products (search/kernels.py)"
    assert kernel_of(torch.nn.LSTM(3, 4, 1, batch_first=True), cpu, 8) == "oneDNN fused LSTM"
    assert kernel_of(torch.nn.GRU(3, 4, 1, batch_first=True), cpu, 8) == "PyTorch GRU (autograd steps)"
    assert kernel_of(gru, torch.device("cuda"), 8) == "cuDNN"


@pytest.mark.parametrize("fast,ref", PAIRS, ids=["gru", "rnn"])
def test_auto_measures_the_kernels_once_a_shape_and_takes_the_fastest(fast, ref, tmp_path, monkeypatch):
    """train.rnn_kernel=auto: the first batch of a shape times PyTorch's own path, BLAS's and oneDNN's (float32)
    on a fresh module, forward + backward (forward only where gradients are off, as in an evaluation), leaves the
    caller's random numbers as they were, and runs the fastest from then on (a cellsearch kernel only under
    PROBE_MARGIN of PyTorch's time); batches rounded up to the same power of 2 share the measurement; auto's outputs
    are the chosen kernel's, bit for bit."""
    monkeypatch.setenv("CELLSEARCH_CACHE_DIR", str(tmp_path))  # measured here, not read from an earlier test
    torch.manual_seed(0)
    ours, chosen = fast(6, 9, 2, batch_first=True), fast(6, 9, 2, batch_first=True)
    chosen.load_state_dict(ours.state_dict())
    x = torch.randn(3, 13, 6)
    MEASURED.clear()
    state = torch.get_rng_state()
    with torch.inference_mode():  # as an evaluation runs it: timed forward only
        evaluated, _ = ours(x)
    assert torch.equal(torch.get_rng_state(), state), "the measurement drew from the caller's random numbers"
    forward_only, = MEASURED.values()
    assert not forward_only.backward and forward_only.rows == 4
    out, _ = ours(x)
    out.sum().backward()
    assert torch.equal(torch.get_rng_state(), state)
    assert len(MEASURED) == 2
    found = measured_kernel(ours, 4)
    assert found.backward and found.rows == 4 and found.steps == 64 and list(found.ms) == ["torch", "blas", "onednn"]
    assert all(ms > 0 for ms in found.ms.values())
    fastest = min(("blas", "onednn"), key=found.ms.__getitem__)
    assert found.kernel == (fastest if found.ms[fastest] < kernels.PROBE_MARGIN * found.ms["torch"] else "torch")
    chosen.kernel = found.kernel
    assert torch.equal(out, chosen(x)[0])
    chosen.kernel = forward_only.kernel
    with torch.inference_mode():
        assert torch.equal(evaluated, chosen(x)[0])
    assert measured_kernel(ours, 3) is found and len(MEASURED) == 2, "measured once a shape"
    measured_kernel(ours, 5)
    assert len(MEASURED) == 3 and list(MEASURED.values())[2].rows == 8
    double = measured_kernel(fast(6, 9, 2, batch_first=True).double(), 4)
    assert list(double.ms) == ["torch", "blas"], "float64: oneDNN cannot take it"
    cell = ref.__name__
    assert kernel_of(ours, torch.device("cpu"), 3) == {
        "torch": f"PyTorch {cell} (autograd steps)", "blas": f"cellsearch {cell}, BLAS products (search/kernels.py)",
        "onednn": f"cellsearch {cell}, oneDNN products (search/kernels.py)"}[found.kernel]


def test_train_rnn_kernel_torch_builds_pytorchs_modules():
    class Shape:
        vocab_size, n_features, n_outputs, every_step = None, 3, 1, False

    cfg = OmegaConf.create({"cell": "gru", "hidden_size": 4, "num_layers": 1, "dropout": 0.0, "embedding_dim": 8,
                            "forget_bias": 1.0})
    assert type(build_model(cfg, Shape()).rnn) is FastGRU and build_model(cfg, Shape()).rnn.kernel == "auto"
    assert build_model(cfg, Shape(), "onednn").rnn.kernel == "onednn"
    assert type(build_model(cfg, Shape(), "torch").rnn) is torch.nn.GRU


@pytest.mark.parametrize("kernel", ["blas", "onednn"])
@pytest.mark.parametrize("fast,ref", PAIRS, ids=["gru", "rnn"])
def test_float32_batches_equal_pytorchs(fast, ref, kernel):
    """onednn: the products over all steps through oneDNN's matmul and, from ONEDNN_MIN_BATCH rows, each step's
    product through oneDNN's packed weights (private ops of PyTorch's compiler: this fails if a PyTorch release
    renames them); at batch 1 the steps through addmm. blas: every product through torch.mm / addmm."""
    assert torch.backends.mkldnn.is_available() and kernels.onednn_available(torch.float32)
    assert kernels.onednn_steps(ONEDNN_MIN_BATCH) and not kernels.onednn_steps(ONEDNN_MIN_BATCH - 1)
    assert not kernels.onednn_available(torch.float64)
    with torch.backends.mkldnn.flags(enabled=False):
        assert not kernels.onednn_available(torch.float32), "oneDNN turned off by the user"
    torch.manual_seed(0)
    theirs = ref(6, 40, 2, batch_first=True)
    ours = fast(6, 40, 2, batch_first=True)
    ours.load_state_dict(theirs.state_dict())
    ours.kernel = kernel
    for batch in (1, ONEDNN_MIN_BATCH, ONEDNN_MIN_BATCH + 1, 2 * ONEDNN_MIN_BATCH + 1, 33):
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


def test_a_trial_pins_auto_to_the_measured_kernel_and_stores_it():
    """auto becomes the kernel measured at the trial's batch size before it trains, on the CPU only; the stored
    config then names it, so that a replay or a re-evaluation trains with the same kernel (they agree to float
    rounding only)."""
    cpu = torch.device("cpu")
    gru = FastGRU(4, 6, 1, batch_first=True)
    assert kernels.pin_kernel(gru, torch.device("cuda"), 8) == "auto", "cuDNN on a GPU: nothing to measure"
    assert kernels.pin_kernel(gru, cpu, 8) == measured_kernel(gru, 8).kernel == gru.kernel
    gru.kernel = "onednn"
    assert kernels.pin_kernel(gru, cpu, 8) == "onednn", "a kernel the user chose stays"
    assert kernels.pin_kernel(torch.nn.LSTM(4, 6, 1, batch_first=True), cpu, 8) is None
    config = {"train": {"rnn_kernel": "auto", "lr": 0.1}, "seed": 1}
    assert with_kernel(config, "blas") == {"train": {"rnn_kernel": "blas", "lr": 0.1}, "seed": 1}
    assert config["train"]["rnn_kernel"] == "auto" and with_kernel(config, None) is config
    gru.kernel = "cudnn"
    with pytest.raises(ValueError, match="use auto, torch, blas or onednn"):
        gru(torch.randn(2, 3, 4))


def test_onednn_turned_off_runs_and_pins_blas(monkeypatch):
    """A trial asked for onednn (or measured it) where oneDNN is then off trains with BLAS, and pins and stores
    blas: what ran."""
    torch.manual_seed(0)
    ours, blas = FastGRU(4, 6, 1, batch_first=True), FastGRU(4, 6, 1, batch_first=True)
    blas.load_state_dict(ours.state_dict())
    ours.kernel, blas.kernel = "onednn", "blas"
    x = torch.randn(2, 5, 4)
    calls = []
    linear = kernels._linear
    monkeypatch.setattr(kernels, "_linear", lambda *a: calls.append(1) or linear(*a))
    with torch.backends.mkldnn.flags(enabled=False):
        assert torch.equal(ours(x)[0], blas(x)[0]) and not calls
        assert kernels.pin_kernel(ours, torch.device("cpu"), 2) == "blas"
    ours.kernel = "onednn"
    ours(x)
    assert calls, "with oneDNN on: its products"


def test_measurements_are_kept_between_runs_on_one_machine(tmp_path, monkeypatch):
    """A measurement taken by one process is the next one's: the same seed then trains with the same kernel, and
    the same numbers, run after run (the kernels agree to float rounding only). An unusable cache still measures."""
    monkeypatch.setenv("CELLSEARCH_CACHE_DIR", str(tmp_path / "cache"))
    code = (f"import torch; torch.set_num_threads({torch.get_num_threads()}); "  # the key has the threads
            "from search.kernels import FastRNN, measured_kernel; "
            "print(measured_kernel(FastRNN(3, 5, 1, batch_first=True), 6).ms)")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert kernels.measurements_file() == tmp_path / "cache" / "kernels.json"
    first_file = kernels.measurements_file().read_text()
    stored, = json.loads(first_file).values()
    assert str(stored["ms"]) == first.strip() and stored["rows"] == 8
    MEASURED.clear()
    again = measured_kernel(FastRNN(3, 5, 1, batch_first=True), 7)
    assert again == kernels.Measurement(**stored), "read back, not measured again"
    kernels.measurements_file().write_text("[]")  # damaged: measured again and overwritten
    MEASURED.clear()
    remeasured = measured_kernel(FastRNN(3, 5, 1, batch_first=True), 7)
    assert remeasured.ms != stored["ms"]
    assert json.loads(kernels.measurements_file().read_text()) == {next(iter(json.loads(first_file))):
                                                                      dataclasses.asdict(remeasured)}
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("CELLSEARCH_CACHE_DIR", str(tmp_path / "file"))  # not a folder
    MEASURED.clear()
    assert measured_kernel(FastRNN(3, 5, 1, batch_first=True), 7).ms != stored["ms"], "measured in this process"
