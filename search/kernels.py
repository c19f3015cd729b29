"""GRU and tanh-RNN layers for the CPU with a hand-written backward: the same model as torch.nn.GRU / torch.nn.RNN
(the same parameters, state_dict and numbers), trained faster.

Why: on the CPU PyTorch runs nn.LSTM through one fused oneDNN kernel, but nn.GRU and nn.RNN step by step through
autograd, which records every small operation of every step and replays it backwards, and multiplies the
weight gradients step by step. Here each layer is one torch.autograd.Function:
- forward: the input projection of all steps as one GEMM, then per step only the recurrent GEMM and the gates;
- backward: per step only the gates' derivatives and the recurrent GEMM that carries the gradient back a step;
  the input, the input weights' and the recurrent weights' gradients are each one GEMM over all steps;
- those GEMMs over all steps through oneDNN's matmul or through BLAS (torch.mm: MKL in PyTorch's x86 builds), and
  on oneDNN each step's recurrent product from 2 rows up through the recurrent matrix packed once by oneDNN, as
  PyTorch's compiler does for linear layers. Which is faster depends on the CPU (one thread, the 1M-weight GRU's
  shapes): on an AMD EPYC MKL's sgemm was 1.8 - 2.9x slower than oneDNN and the packed step product 1.6 - 2.5x faster
  than addmm at 2 - 3 rows; on an Intel Xeon (Sapphire Rapids) MKL was 1.1 - 1.7x faster than oneDNN and addmm's
  step product 1.0 - 1.4x faster than the packed one (1 - 128 rows). So the kernel is measured, not assumed
  (measured_kernel);
- a sequence of more than CHUNK_ROWS rows (steps x batch) goes through a layer in chunks of steps, each from the
  state the one before ended in, so that its buffers stay in cache (AMD EPYC, batch 128 on 200 steps: 0.58 of
  nn.GRU's time chunked, 1.21 whole).
Same equations as PyTorch (https://pytorch.org/docs/stable/generated/torch.nn.GRU.html):
    r = σ(W_ir x + b_ir + W_hr h + b_hr)    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))    h' = (1 - z) ⊙ n + z ⊙ h
and for the RNN h' = tanh(W_ih x + b_ih + W_hh h + b_hh). Inter-layer dropout is nn.Dropout between layers, as
nn.GRU applies it (to every layer's output but the last, in training).

`FastRecurrent` is a drop-in for nn.GRU / nn.RNN (batch_first=True, bias=True): it *is* one (a subclass), so its
state_dict, parameters, flatten_parameters and cuDNN on a GPU are PyTorch's own; only its CPU forward differs.
`train.rnn_kernel` chooses: `auto` times, at the first batch of each shape on the CPU, PyTorch's own path and these
layers with BLAS's and with oneDNN's products, and trains with the fastest (measured_kernel; a cellsearch kernel only
where it took under PROBE_MARGIN of PyTorch's time), as torch.backends.cudnn.benchmark does for convolutions; the
measurement is kept on disk (measurements_file), so one machine chooses alike run after run and the same seed gives
the same numbers, and a trial pins the kernel and stores it in its config (pin_kernel), so a replay or a
re-evaluation elsewhere trains with the same one; `torch` keeps nn.GRU / nn.RNN's own path throughout; `blas` and
`onednn` fix these layers' products (the kernels agree to float rounding, not bit for bit). Measured with
tests/benchmarks/bench_kernels.py (one thread, 1M weights, float32, batch 1 - 128): on the AMD EPYC the layers
took 0.24 - 0.65 of nn.GRU's / nn.RNN's time at every batch; on the Intel Xeon the GRU was slower than nn.GRU from
batch 64, where auto keeps nn.GRU's path. At batch 1 a step's recurrent GEMV reads the whole 3.2 MB weight matrix
and the elementwise work is a few tiny operations, so the loops below make each step's views once (unbind) and do
one multiplication a step in the GRU's backward.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import filelock
import torch
from torch import nn


class _GRULayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, onednn):  # x [T, B, I] contiguous, h0 [B, H]
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        ctx.onednn = onednn
        gi = _affine(x.reshape(steps * batch, -1), w_ih, b_ih, onednn).view(steps, batch, 3 * hidden)
        packed = _packed(w_hh, batch, onednn)
        w_hh_t = _step_weight(w_hh, batch) if packed is None else None
        states = x.new_empty(steps + 1, batch, hidden)  # h0, then each step's output: the backward's h_prevs as a view
        states[0] = h0
        # every step's gate pre-activations, seeded before the loop with what does not depend on h (r's and z's input
        # parts and biases, n's recurrent bias); each step adds W_hh h in place (addmm_: no copy of a bias a step),
        # then turns r's and z's into r and z in place; n's part stays W_hn h + b_hn, needed backwards
        gates = x.new_empty(steps, batch, 3 * hidden)
        torch.add(gi[..., :2 * hidden], b_hh[:2 * hidden], out=gates[..., :2 * hidden])
        gates[..., 2 * hidden:] = b_hh[2 * hidden:]
        n = x.new_empty(steps, batch, hidden)
        # each step's views made once (unbind, in C++): indexing them in the loop cost as much as the arithmetic
        gi_n, gates_t, rz_t = _steps(gi[..., 2 * hidden:]), _steps(gates), _steps(gates[..., :2 * hidden])
        r_t, z_t = _steps(gates[..., :hidden]), _steps(gates[..., hidden:2 * hidden])
        gh_n = _steps(gates[..., 2 * hidden:])
        n_t, out_t = _steps(n), _steps(states[1:])
        h = h0
        for t in range(steps):
            if packed is None:
                gates_t[t].addmm_(h, w_hh_t)
            else:
                gates_t[t].copy_(_linear_plus(h, gates_t[t], packed, None, "add"))
            rz_t[t].sigmoid_()
            torch.addcmul(gi_n[t], r_t[t], gh_n[t], out=n_t[t]).tanh_()
            h = torch.lerp(n_t[t], h, z_t[t], out=out_t[t])  # h' = n + z (h - n)
        ctx.save_for_backward(x, w_ih, w_hh, states, gates, n)
        return states[1:], h.clone()

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        x, w_ih, w_hh, states, gates, n = ctx.saved_tensors
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        onednn = ctx.onednn and onednn_available(x.dtype)  # as the forward's, unless the user turned oneDNN off since
        r, z = gates[..., :hidden], gates[..., hidden:2 * hidden]
        h_prevs = states[:-1]
        # every step's local derivatives at once; the loop below only chains them back through time
        to_n = (1 - z) * (1 - n * n)  # dh' -> n's pre-activation
        # dh' -> the pre-activations of r, z and n's recurrent part (W_hn h + b_hn), as one [3, H] factor a step:
        # d (W_hh h + b_hh) = dh' * coef, one multiplication a step
        coef = x.new_empty(steps, batch, 3, hidden)
        torch.mul(to_n * gates[..., 2 * hidden:], r * (1 - r), out=coef[:, :, 0])
        torch.mul(h_prevs - n, z * (1 - z), out=coef[:, :, 1])
        torch.mul(to_n, r, out=coef[:, :, 2])
        d_gh = x.new_empty(steps, batch, 3, hidden)
        d_states = _state_grads(states, grad_out, grad_h)  # each step adds what it carries back into the one before
        d_t, d_col, coef_t, z_t = _steps(d_states), _steps(d_states.unsqueeze(2)), _steps(coef), _steps(z)
        d_gh_t, d_gh_rows = _steps(d_gh), _steps(d_gh.view(steps, batch, 3 * hidden))
        packed = _packed(w_hh, batch, onednn, transposed=True)
        for t in range(steps - 1, -1, -1):
            torch.mul(d_col[t + 1], coef_t[t], out=d_gh_t[t])
            if packed is None:
                d_t[t].addcmul_(d_t[t + 1], z_t[t]).addmm_(d_gh_rows[t], w_hh)
            else:
                torch.addcmul(_linear_plus(d_gh_rows[t], d_t[t], packed, None, "add"), d_t[t + 1], z_t[t], out=d_t[t])
        rows = steps * batch
        flat_gh, flat_x = d_gh.view(rows, 3 * hidden), x.reshape(rows, -1)
        # the input pre-activations' gradient: r's and z's are d_gh's; n's is dh' through tanh and (1 - z)
        d_gi = torch.cat([flat_gh[:, :2 * hidden], (d_states[1:] * to_n).view(rows, hidden)], 1)
        d_x = _matmul(d_gi, w_ih, onednn).view_as(x) if ctx.needs_input_grad[0] else None
        return (d_x, d_states[0], _weight_grad(d_gi, flat_x, onednn),
                _weight_grad(flat_gh, h_prevs.reshape(rows, hidden), onednn), d_gi.sum(0), flat_gh.sum(0), None)


class _RNNLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, onednn):
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        ctx.onednn = onednn
        packed = _packed(w_hh, batch, onednn)
        w_hh_t = _step_weight(w_hh, batch) if packed is None else None
        states = x.new_empty(steps + 1, batch, hidden)  # h0, then each step's output (as the GRU's)
        states[0] = h0
        # each step's output seeded with its input part and both biases; the step adds W_hh h in place, then tanh
        _affine(x.reshape(steps * batch, -1), w_ih, b_ih + b_hh, onednn, out=states[1:].view(steps * batch, hidden))
        out_t = _steps(states[1:])
        h = h0
        for t in range(steps):
            if packed is None:
                h = out_t[t].addmm_(h, w_hh_t).tanh_()
            else:
                h = torch.tanh(_linear_plus(h, out_t[t], packed, None, "add"), out=out_t[t])
        ctx.save_for_backward(x, w_ih, w_hh, states)
        return states[1:], h.clone()

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        x, w_ih, w_hh, states = ctx.saved_tensors
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        onednn = ctx.onednn and onednn_available(x.dtype)
        out = states[1:]
        to_pre = 1 - out * out  # through tanh, every step at once
        d_pre = x.new_empty(steps, batch, hidden)
        d_states = _state_grads(states, grad_out, grad_h)
        d_t, to_pre_t, d_pre_t = _steps(d_states), _steps(to_pre), _steps(d_pre)
        packed = _packed(w_hh, batch, onednn, transposed=True)
        dh = d_t[steps]
        for t in range(steps - 1, -1, -1):
            torch.mul(dh, to_pre_t[t], out=d_pre_t[t])
            if packed is None:
                dh = d_t[t].addmm_(d_pre_t[t], w_hh)
            else:
                dh = _linear_plus(d_pre_t[t], d_t[t], packed, None, "add")
        flat = d_pre.view(steps * batch, hidden)
        h_prevs = states[:-1].reshape(steps * batch, hidden)
        d_x = _matmul(flat, w_ih, onednn).view_as(x) if ctx.needs_input_grad[0] else None
        d_b = flat.sum(0)
        return (d_x, dh, _weight_grad(flat, x.reshape(steps * batch, -1), onednn), _weight_grad(flat, h_prevs, onednn),
                d_b, d_b.clone(), None)


def _state_grads(states: torch.Tensor, grad_out: torch.Tensor | None, grad_h: torch.Tensor | None) -> torch.Tensor:
    """The gradients of a layer's states [T + 1, B, H] as the backward loops start them: [t + 1] is step t's output's
    from outside (plus the final state's at [T]), [0] (h0's) zero. Each step adds what it carries back into the one
    before, so [t + 1] is whole (dh') when step t reads it."""
    d_states = torch.zeros_like(states)
    if grad_out is not None:
        d_states[1:] = grad_out
    if grad_h is not None:
        d_states[-1] += grad_h
    return d_states


def _step_weight(weight: torch.Tensor, batch: int) -> torch.Tensor:
    """W.T for addmm's steps (h @ W.T), laid out contiguously from CONTIGUOUS_MIN_BATCH rows: through the transposed
    view MKL ran a step's product 2 - 2.4x slower at 4 - 8 rows on the Intel Xeon (the GRU's [8, 520] x [520, 1560]:
    320 us against 145) and as fast at 1 - 2 rows, where the copy (3.2 - 3.7 MB a layer call) cost the RNN 3 - 7 %.
    The backward's products (g @ W) take W itself, contiguous already."""
    weight = weight.detach().t()
    return weight.contiguous() if batch >= CONTIGUOUS_MIN_BATCH else weight


def _packed(weight: torch.Tensor, batch: int, onednn: bool, transposed: bool = False) -> torch.Tensor | None:
    """The recurrent matrix of a layer packed once by oneDNN for the product of each step's `batch` rows, or None
    where the steps use addmm (BLAS; see onednn_steps). `_linear(h, packed, b, "none", [], "")` is then h @ W.T + b
    and `_linear_plus(h, y, packed, None, "add")` h @ W.T + y, where W is `weight` [out, in], or its transpose."""
    if not (onednn and onednn_steps(batch)):
        return None
    weight = weight.detach()
    return _reorder(weight.t().contiguous() if transposed else weight, batch)


def _affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, onednn: bool,
            out: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T + bias (into `out` if given), through oneDNN or BLAS (see _matmul)."""
    if not onednn:
        return torch.addmm(bias, x, weight.t(), out=out)
    product = _linear(x, weight, bias, "none", [], "")
    return product if out is None else out.copy_(product)


def _matmul(a: torch.Tensor, b: torch.Tensor, onednn: bool) -> torch.Tensor:
    """a @ b for the layers' products over all steps at once (the input gradient here; the input projection in
    _affine, the weight gradients in _weight_grad), through oneDNN's matmul or through torch.mm (BLAS: MKL in
    PyTorch's x86 builds). Which is faster depends on the CPU: measured at the 1M-weight GRU's shapes over 200 -
    6,400 rows, one thread, oneDNN was 1.8 - 2.9x faster on an AMD EPYC and MKL 1.1 - 1.7x faster on an Intel Xeon
    (Sapphire Rapids), so the module measures (see measured_kernel)."""
    if not onednn:
        return a @ b
    return _linear(a, b.t(), None, "none", [], "")


def _weight_grad(grad: torch.Tensor, inputs: torch.Tensor, onednn: bool) -> torch.Tensor:
    """grad.T @ inputs ([rows, out] and [rows, in] -> [out, in]), a weight's gradient over all steps, through oneDNN
    or BLAS. oneDNN copies a transposed first operand, so of grad.T @ inputs (copies grad) and (inputs.T @ grad).T
    (copies inputs, then transposes the [out, in] result) this takes the one that copies fewer numbers: measured at
    6,400 rows of the GRU's [rows, 1560] x [rows, 520] the second is 1.3x faster, at 200 rows the first 1.2x."""
    if not onednn:
        return grad.t() @ inputs
    rows, out_features = grad.shape
    in_features = inputs.shape[1]
    if rows * in_features + out_features * in_features < rows * out_features:
        return _linear(inputs.t(), grad.t(), None, "none", [], "").t().contiguous()
    return _linear(grad.t(), inputs.t(), None, "none", [], "")


def onednn_available(dtype: torch.dtype) -> bool:
    """Whether oneDNN can take a product: float32 (oneDNN's only full-precision type), a PyTorch build with the ops
    (the private ones PyTorch's own compiler uses for CPU linear layers, torch/_inductor/fx_passes/mkldnn_fusion.py,
    pinned in tests/test_kernels.py), oneDNN enabled (torch.backends.mkldnn.flags(enabled=False) turns it off)."""
    return dtype == torch.float32 and _linear is not None and torch.backends.mkldnn.enabled


def onednn_steps(batch: int) -> bool:
    """Whether, on the onednn kernel, each step's recurrent product runs through oneDNN's packed weights instead of
    addmm: from ONEDNN_MIN_BATCH rows (at batch 1 the packed product was slower on both CPUs measured: 5 - 17 % on
    the AMD EPYC, 36 % on the Intel Xeon)."""
    return batch >= ONEDNN_MIN_BATCH


def _steps(tensor: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """A [T, ...] tensor's T step views."""
    return tensor.unbind(0)


try:
    _linear, _linear_plus = torch.ops.mkldnn._linear_pointwise.default, torch.ops.mkldnn._linear_pointwise.binary
    _reorder = torch.ops.mkldnn._reorder_linear_weight
    if not torch.backends.mkldnn.is_available():
        raise RuntimeError("PyTorch built without oneDNN")
except (AttributeError, RuntimeError):  # a PyTorch build without oneDNN
    _linear = _linear_plus = _reorder = None
ONEDNN_MIN_BATCH = 2  # rows from which oneDNN's packed recurrent product was measured faster than addmm's
CONTIGUOUS_MIN_BATCH = 3  # rows from which addmm's steps multiply by a contiguous copy of W.T (see _step_weight)
_LAYERS = {"GRU": _GRULayer, "RNN_TANH": _RNNLayer}
KERNELS = ("torch", "blas", "onednn")  # what train.rnn_kernel=auto chooses from (and may be set to)
CHUNK_ROWS = 4096  # rows (steps x batch) a layer call takes at once; longer sequences go through in chunks of steps
PROBE_STEPS = 64  # the most steps a measurement's sequences have (fewer above CHUNK_ROWS // PROBE_STEPS rows)
PROBE_ROUNDS = 3  # timed rounds a measurement takes (the median of each kernel's), after one untimed
PROBE_MARGIN = 0.95  # the most a cellsearch kernel may take of PyTorch's time to be chosen: ties stay PyTorch's
LOCK_SECONDS = 30  # the longest a process waits for the measurements file's lock (then measures for itself)
_SOURCE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]  # this code: a change measures again
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Measurement:
    """What a module's kernel was chosen from: each candidate's median ms of one forward (+ backward, where
    `backward`) of `rows` x `steps` random inputs through a fresh module of the same shape."""
    kernel: str
    ms: dict[str, float]
    rows: int
    steps: int
    backward: bool


MEASURED: dict[tuple, Measurement] = {}  # in this process, by (mode, input, hidden, layers, rows, dtype, threads,
# backward, oneDNN on); on disk (stored_measurement) also by CPU, PyTorch version and this file's source


def measured_kernel(module: nn.RNNBase, batch: int, backward: bool | None = None) -> Measurement:
    """The kernel (torch, blas or onednn) that runs `module` fastest at `batch` rows on this CPU, measured once per
    machine and shape (batch rounded up to a power of 2; kept on disk, stored_measurement), as
    torch.backends.cudnn.benchmark chooses convolutions: a
    fresh module of the same shape (its own random numbers, the caller's random state untouched) times one forward +
    backward of each kernel (forward only where `backward` is False; None: whether gradients are on, so an
    evaluation under no_grad is timed as it runs), interleaved round by round, and a cellsearch kernel is chosen
    only where it took under PROBE_MARGIN of PyTorch's time. Which one is faster depends on the CPU: the products
    over all steps were 1.8 - 2.9x faster through oneDNN on an AMD EPYC and 1.1 - 1.7x faster through MKL on an
    Intel Xeon, and the GRU at batch 128 was faster than nn.GRU's own path on the first and slower on the second."""
    rows = 1 << (max(batch, 1) - 1).bit_length()
    dtype = module.weight_hh_l0.dtype
    backward = torch.is_grad_enabled() if backward is None else backward
    shape = (module.input_size, module.hidden_size, module.num_layers)
    key = (module.mode, *shape, rows, dtype, torch.get_num_threads(), backward, onednn_available(dtype))
    if key not in MEASURED:
        MEASURED[key] = found = stored_measurement(key, lambda: _measure(type(module), *shape, rows, dtype, backward))
        log.info("%s(%d -> %d, %d layer(s)) at batch %d on the CPU: %s, ms of a forward%s over %d steps %s",
                 module.mode, *shape, rows, found.kernel, " + backward" if backward else "", found.steps,
                 ", ".join(f"{k} {v:.1f}" for k, v in found.ms.items()))
    return MEASURED[key]


def measurements_file() -> Path:
    """Where measured kernels are kept between runs: $CELLSEARCH_CACHE_DIR, else $XDG_CACHE_HOME/cellsearch, else
    ~/.cache/cellsearch; kernels.json (delete it to measure again)."""
    root = os.environ.get("CELLSEARCH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cellsearch")
    return Path(root) / "kernels.json"


def stored_measurement(key: tuple, measure) -> Measurement:
    """The measurement of `key` on this CPU as first stored here, from measurements_file(), else `measure()`, then
    stored: so that the same seed trains with the same kernel, hence the same numbers, run after run on one machine
    (the kernels agree to float rounding only, and a timing near a tie could choose either). The file is read and
    written under a lock beside it, not held while measuring; where two processes measured the same key, the first
    stored stands. A damaged file or entry is measured again and overwritten; an unusable folder measures in this
    process only (a warning)."""
    name = " | ".join(map(str, (_cpu_name(), f"torch {torch.__version__}", f"kernels.py {_SOURCE}", *key)))
    path, found = measurements_file(), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(f"{path}.lock", timeout=LOCK_SECONDS):
            stored = _entry(_table(path), name)
        if stored is not None:
            return stored
        found = measure()
        with filelock.FileLock(f"{path}.lock", timeout=LOCK_SECONDS):
            table = _table(path)
            stored = _entry(table, name)
            if stored is not None:  # another process stored it meanwhile: its choice stands
                return stored
            table[name] = asdict(found)
            part = path.with_name(f"{path.name}.{os.getpid()}.part")
            try:
                part.write_text(json.dumps(table, indent=1))
                os.replace(part, path)  # whole or not at all
            finally:
                part.unlink(missing_ok=True)
        return found
    except (OSError, filelock.Timeout) as e:
        log.warning("kernel measurements not kept between runs (%s: %s): measuring in this process",
                    type(e).__name__, e)
        return found if found is not None else measure()


def _table(path: Path) -> dict:
    try:
        table = json.loads(path.read_text()) if path.exists() else {}
    except (ValueError, UnicodeDecodeError):  # damaged: measured again and overwritten
        return {}
    return table if isinstance(table, dict) else {}


def _entry(table: dict, name: str) -> Measurement | None:
    try:
        found = Measurement(**table[name])
    except (KeyError, TypeError):
        return None
    return found if found.kernel in KERNELS and isinstance(found.ms, dict) else None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _measure(cls: type, input_size: int, hidden_size: int, num_layers: int, rows: int, dtype: torch.dtype,
             backward: bool) -> Measurement:
    steps = max(8, min(PROBE_STEPS, CHUNK_ROWS // rows))
    candidates = ["torch", "blas"] + (["onednn"] if onednn_available(dtype) else [])
    times: dict[str, list[float]] = {kernel: [] for kernel in candidates}
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.set_grad_enabled(backward):
        probe = cls(input_size, hidden_size, num_layers, batch_first=True, dtype=dtype)
        x = torch.randn(rows, steps, input_size, dtype=dtype, requires_grad=backward)
        for i in range(PROBE_ROUNDS + 1):
            for kernel in candidates:
                probe.kernel = kernel
                start = time.perf_counter()
                out, _ = probe(x)
                if backward:
                    out.sum().backward()
                if i:  # the first round is a warm-up
                    times[kernel].append(time.perf_counter() - start)
    ms = {kernel: 1000 * statistics.median(t) for kernel, t in times.items()}
    fastest = min(candidates[1:], key=ms.__getitem__)
    return Measurement(fastest if ms[fastest] < PROBE_MARGIN * ms["torch"] else "torch", ms, rows, steps, backward)


def kernel_of(rnn: nn.Module, device: torch.device, batch: int) -> str:
    """Which kernel a recurrent module trains with at `batch` rows, in words (stored with each trial, shown in the
    report); for train.rnn_kernel=auto on the CPU this measures it (measured_kernel, forward + backward) if nothing
    has yet."""
    cell = next(c.__name__ for c in (nn.LSTM, nn.GRU, nn.RNN) if isinstance(rnn, c)) if isinstance(
        rnn, nn.RNNBase) else type(rnn).__name__
    if device.type == "cuda":
        return "cuDNN"
    if isinstance(rnn, nn.LSTM):
        return "oneDNN fused LSTM" if device.type == "cpu" else f"{cell} ({device.type})"
    if isinstance(rnn, FastRecurrent) and device.type == "cpu":
        kernel = rnn.kernel_for(batch, backward=True)
        if kernel != "torch":
            return f"cellsearch {cell}, {'oneDNN' if kernel == 'onednn' else 'BLAS'} products (search/kernels.py)"
    return f"PyTorch {cell} ({'autograd steps' if device.type == 'cpu' else device.type})"


def pin_kernel(rnn: nn.Module, device: torch.device, batch: int) -> str | None:
    """A trial's recurrent kernel fixed before it trains: train.rnn_kernel=auto on the CPU becomes the kernel measured
    fastest at the trial's batch size (torch, blas or onednn), which its training and evaluation batches then all
    take and which the trial stores in its config, so that a replay or a re-evaluation trains with the same one (the
    kernels agree to float rounding only). Returns the module's kernel setting (None for a module without one)."""
    if isinstance(rnn, FastRecurrent) and device.type == "cpu" and rnn.kernel in ("auto", "onednn"):
        rnn.kernel = rnn.kernel_for(batch, backward=True)  # onednn where oneDNN is off: blas, as it runs
    return getattr(rnn, "kernel", None) if isinstance(rnn, FastRecurrent) else None


class FastRecurrent:
    """Mixed into nn.GRU / nn.RNN (FastGRU, FastRNN): their CPU forward through the layers above. `kernel` is
    train.rnn_kernel: auto (measured_kernel), torch (PyTorch's own path), blas or onednn (the layers above, their
    products through BLAS or oneDNN; onednn falls back to blas where oneDNN cannot take them)."""

    kernel = "auto"

    def supports_fast_path(self) -> bool:
        return (self.batch_first and self.bias and not self.bidirectional and not self.proj_size
                and self.mode in _LAYERS)

    def kernel_for(self, batch: int, backward: bool | None = None) -> str:
        """torch, blas or onednn: the path a CPU batch of `batch` rows takes (auto: see measured_kernel)."""
        if self.kernel != "auto" and self.kernel not in KERNELS:
            raise ValueError(f"rnn kernel {self.kernel!r}: use auto, torch, blas or onednn")
        if self.kernel == "torch" or not self.supports_fast_path():
            return "torch"
        kernel = measured_kernel(self, batch, backward).kernel if self.kernel == "auto" else self.kernel
        if kernel == "onednn" and not onednn_available(self.weight_hh_l0.dtype):
            return "blas"  # turned off since measured (or asked for where oneDNN cannot take it)
        return kernel

    def forward(self, x, hx=None):
        if x.device.type != "cpu" or x.dim() != 3:
            return super().forward(x, hx)
        kernel = self.kernel_for(x.shape[0])
        if kernel == "torch":
            return super().forward(x, hx)
        onednn = kernel == "onednn"  # kernel_for has checked that oneDNN can take it now
        layer = _LAYERS[self.mode]
        batch = x.shape[0]
        if hx is None:
            hx = x.new_zeros(self.num_layers, batch, self.hidden_size)
        seq = x.transpose(0, 1).contiguous()  # [T, B, I]: each step's rows contiguous
        finals = []
        chunk = max(1, CHUNK_ROWS // batch)  # steps a layer call takes at once
        for i in range(self.num_layers):
            weights = [getattr(self, f"{name}_l{i}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h, outputs = hx[i], []
            for start in range(0, seq.shape[0], chunk):  # each chunk starts from the state the one before ended in
                out, h = layer.apply(seq[start:start + chunk], h, *weights, onednn)
                outputs.append(out)
            seq = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
            finals.append(h)
            if self.training and self.dropout > 0 and i < self.num_layers - 1:
                seq = nn.functional.dropout(seq, self.dropout, training=True)
        return seq.transpose(0, 1), torch.stack(finals)


class FastGRU(FastRecurrent, nn.GRU):
    pass


class FastRNN(FastRecurrent, nn.RNN):
    pass
