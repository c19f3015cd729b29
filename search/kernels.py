"""GRU and tanh-RNN layers for the CPU with a hand-written backward: the same model as torch.nn.GRU / torch.nn.RNN
(the same parameters, state_dict and numbers), trained faster.

Why: on the CPU PyTorch runs nn.LSTM through one fused oneDNN kernel, but nn.GRU and nn.RNN step by step through
autograd, which records every small operation of every step and replays it backwards, and multiplies the
weight gradients step by step. Here each layer is one torch.autograd.Function:
- forward: the input projection of all steps as one GEMM, then per step only the recurrent GEMM and the gates;
- backward: per step only the gates' derivatives and the recurrent GEMM that carries the gradient back a step;
  the input, the input weights' and the recurrent weights' gradients are each one GEMM over all steps;
- those GEMMs over all steps through oneDNN's matmul in float32 (measured here, AMD EPYC, one thread: MKL's sgemm
  1.8 - 2.9x slower at these shapes), and each step's recurrent product from 2 rows up through the recurrent matrix
  packed once by oneDNN, as PyTorch's compiler does for linear layers (the product alone measured, 1M weights, one
  thread: 1.6 - 2.5x faster than addmm at 2 - 3 rows, where MKL here runs one GEMV a row, 1.5 - 1.9x at 4 - 8 rows,
  and 5 - 17 % slower at batch 1);
- a sequence of more than CHUNK_ROWS rows (steps x batch) goes through a layer in chunks of steps, each from the
  state the one before ended in, so that its buffers stay in cache (at batch 128 on 200 steps: 0.58 of nn.GRU's time
  chunked, 1.21 whole).
Same equations as PyTorch (https://pytorch.org/docs/stable/generated/torch.nn.GRU.html):
    r = σ(W_ir x + b_ir + W_hr h + b_hr)    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))    h' = (1 - z) ⊙ n + z ⊙ h
and for the RNN h' = tanh(W_ih x + b_ih + W_hh h + b_hh). Inter-layer dropout is nn.Dropout between layers, as
nn.GRU applies it (to every layer's output but the last, in training).

`FastRecurrent` is a drop-in for nn.GRU / nn.RNN (batch_first=True, bias=True): it *is* one (a subclass), so its
state_dict, parameters, flatten_parameters and cuDNN on a GPU are PyTorch's own; only its CPU forward differs.
`train.rnn_kernel` chooses: `auto` uses it on the CPU where it was measured faster than PyTorch's own path
(tests/benchmarks/bench_kernels.py, one thread, 1M weights, float32, batch 1 - 128: the RNN in 0.24 - 0.52 of nn.RNN's
time, the GRU in 0.40 - 0.65 of nn.GRU's; where MKL takes the products (float64, oneDNN off) the GRU was not faster
at batch 64, so there a GRU batch above GRU_MAX_BATCH rows runs nn.GRU's path);
`torch` keeps nn.GRU / nn.RNN's own path throughout. At batch 1 a step's recurrent GEMV reads the whole 3.2 MB
weight matrix from L3 (44 - 45 us here, measured 2026-12-07) and the elementwise work is a few tiny operations, so
the loops below make each step's views once (unbind) and do one multiplication a step in the GRU's backward.
"""

from __future__ import annotations

import torch
from torch import nn


class _GRULayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):  # x [T, B, I] contiguous, h0 [B, H]
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        gi = _affine(x.reshape(steps * batch, -1), w_ih, b_ih).view(steps, batch, 3 * hidden)
        packed = _packed(w_hh, batch)
        # addmm's steps (batch 1, float64, no oneDNN) multiply by W_hh.T laid out contiguously: measured 3 - 5 % of a
        # layer's time faster at batch 1 than through the transposed view, forwards and (as its transpose) backwards
        w_hh_t = w_hh.detach().t().contiguous() if packed is None else None
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
        ctx.save_for_backward(x, w_ih, w_hh, w_hh_t, states, gates, n)
        return states[1:], h.clone()

    @staticmethod
    def backward(ctx, grad_out, grad_h):
        x, w_ih, w_hh, w_hh_t, states, gates, n = ctx.saved_tensors
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
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
        packed = _packed(w_hh, batch, transposed=True)
        w_hh_nt = w_hh_t.t() if w_hh_t is not None else w_hh  # None where the forward took oneDNN's steps
        for t in range(steps - 1, -1, -1):
            torch.mul(d_col[t + 1], coef_t[t], out=d_gh_t[t])
            if packed is None:
                d_t[t].addcmul_(d_t[t + 1], z_t[t]).addmm_(d_gh_rows[t], w_hh_nt)
            else:
                torch.addcmul(_linear_plus(d_gh_rows[t], d_t[t], packed, None, "add"), d_t[t + 1], z_t[t], out=d_t[t])
        rows = steps * batch
        flat_gh, flat_x = d_gh.view(rows, 3 * hidden), x.reshape(rows, -1)
        # the input pre-activations' gradient: r's and z's are d_gh's; n's is dh' through tanh and (1 - z)
        d_gi = torch.cat([flat_gh[:, :2 * hidden], (d_states[1:] * to_n).view(rows, hidden)], 1)
        d_x = _matmul(d_gi, w_ih).view_as(x) if ctx.needs_input_grad[0] else None
        return (d_x, d_states[0], _weight_grad(d_gi, flat_x), _weight_grad(flat_gh, h_prevs.reshape(rows, hidden)),
                d_gi.sum(0), flat_gh.sum(0))


class _RNNLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        w_hh_t, packed = w_hh.t(), _packed(w_hh, batch)
        states = x.new_empty(steps + 1, batch, hidden)  # h0, then each step's output (as the GRU's)
        states[0] = h0
        # each step's output seeded with its input part and both biases; the step adds W_hh h in place, then tanh
        _affine(x.reshape(steps * batch, -1), w_ih, b_ih + b_hh, out=states[1:].view(steps * batch, hidden))
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
        out = states[1:]
        to_pre = 1 - out * out  # through tanh, every step at once
        d_pre = x.new_empty(steps, batch, hidden)
        d_states = _state_grads(states, grad_out, grad_h)
        d_t, to_pre_t, d_pre_t = _steps(d_states), _steps(to_pre), _steps(d_pre)
        packed = _packed(w_hh, batch, transposed=True)
        dh = d_t[steps]
        for t in range(steps - 1, -1, -1):
            torch.mul(dh, to_pre_t[t], out=d_pre_t[t])
            if packed is None:
                dh = d_t[t].addmm_(d_pre_t[t], w_hh)
            else:
                dh = _linear_plus(d_pre_t[t], d_t[t], packed, None, "add")
        flat = d_pre.view(steps * batch, hidden)
        h_prevs = states[:-1].reshape(steps * batch, hidden)
        d_x = _matmul(flat, w_ih).view_as(x) if ctx.needs_input_grad[0] else None
        d_b = flat.sum(0)
        return d_x, dh, _weight_grad(flat, x.reshape(steps * batch, -1)), _weight_grad(flat, h_prevs), d_b, d_b.clone()


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


def _packed(weight: torch.Tensor, batch: int, transposed: bool = False) -> torch.Tensor | None:
    """The recurrent matrix of a layer packed once by oneDNN for the product of each step's `batch` rows, or None
    where the steps use addmm (see onednn_steps). `_linear(h, packed, b, "none", [], "")` is then h @ W.T + b and
    `_linear_plus(h, y, packed, None, "add")` h @ W.T + y, where W is `weight` [out, in], or its transpose."""
    if not onednn_steps(batch, weight.dtype):
        return None
    weight = weight.detach()
    return _reorder(weight.t().contiguous() if transposed else weight, batch)


def _affine(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T + bias (into `out` if given), through oneDNN where it can (see _matmul)."""
    if not _onednn(x.dtype):
        return torch.addmm(bias, x, weight.t(), out=out)
    product = _linear(x, weight, bias, "none", [], "")
    return product if out is None else out.copy_(product)


def _matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b for the layers' products over all steps at once (the input gradient here; the input projection in
    _affine, the weight gradients in _weight_grad), through oneDNN's matmul where it can (float32, oneDNN on): measured
    here (AMD EPYC, one thread, the 1M-weight GRU's shapes over 200 - 6,400 rows) 1.8 - 2.9x faster than torch.mm,
    which runs MKL (oneDNN's fused LSTM takes its products the same way)."""
    if not _onednn(a.dtype):
        return a @ b
    return _linear(a, b.t(), None, "none", [], "")


def _weight_grad(grad: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """grad.T @ inputs ([rows, out] and [rows, in] -> [out, in]), a weight's gradient over all steps, through oneDNN
    where it can. oneDNN copies a transposed first operand, so of grad.T @ inputs (copies grad) and (inputs.T @ grad).T
    (copies inputs, then transposes the [out, in] result) this takes the one that copies fewer numbers: measured at
    6,400 rows of the GRU's [rows, 1560] x [rows, 520] the second is 1.3x faster, at 200 rows the first 1.2x, and
    either at least 1.8x faster than MKL's grad.T @ inputs."""
    if not _onednn(grad.dtype):
        return grad.t() @ inputs
    rows, out_features = grad.shape
    in_features = inputs.shape[1]
    if rows * in_features + out_features * in_features < rows * out_features:
        return _linear(inputs.t(), grad.t(), None, "none", [], "").t().contiguous()
    return _linear(grad.t(), inputs.t(), None, "none", [], "")


def _onednn(dtype: torch.dtype) -> bool:
    """Whether oneDNN can take a product: float32 (oneDNN's only full-precision type), a PyTorch build with the ops,
    oneDNN enabled (torch.backends.mkldnn.flags(enabled=False) turns it off)."""
    return dtype == torch.float32 and _linear is not None and torch.backends.mkldnn.enabled


def onednn_steps(batch: int, dtype: torch.dtype) -> bool:
    """Whether each step's recurrent product runs through oneDNN's packed weights instead of addmm (MKL here): from
    ONEDNN_MIN_BATCH rows, where tests/benchmarks/bench_kernels.py measured it faster (at batch 1 it is slower), in
    float32 (oneDNN's only full-precision type), where this PyTorch build has the ops and oneDNN is enabled. They
    are the private ops PyTorch's own compiler uses for CPU linear layers (torch/_inductor/fx_passes/
    mkldnn_fusion.py), pinned in tests/test_kernels.py."""
    return batch >= ONEDNN_MIN_BATCH and _onednn(dtype)


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
ONEDNN_MIN_BATCH = 2  # rows from which oneDNN's packed recurrent product was measured faster than addmm's (MKL)
_LAYERS = {"GRU": _GRULayer, "RNN_TANH": _RNNLayer}
CHUNK_ROWS = 4096  # rows (steps x batch) a layer call takes at once; longer sequences go through in chunks of steps
GRU_MAX_BATCH = 32  # rows above which the GRU layer here, its products through MKL (float64, oneDNN off), was
# measured slower than nn.GRU's own path; with oneDNN's products it was faster at every batch measured (1 - 512)
KERNELS = ("auto", "torch")


def kernel_of(rnn: nn.Module, device: torch.device, batch: int) -> str:
    """Which kernel a recurrent module trains with, in words (stored with each trial, shown in the report)."""
    cell = next(c.__name__ for c in (nn.LSTM, nn.GRU, nn.RNN) if isinstance(rnn, c)) if isinstance(
        rnn, nn.RNNBase) else type(rnn).__name__
    if device.type == "cuda":
        return "cuDNN"
    if isinstance(rnn, nn.LSTM):
        return "oneDNN fused LSTM" if device.type == "cpu" else f"{cell} ({device.type})"
    if isinstance(rnn, FastRecurrent) and device.type == "cpu" and rnn.uses_fast_path(batch):
        steps = ", oneDNN steps" if onednn_steps(batch, rnn.weight_hh_l0.dtype) else ""
        return f"cellsearch {cell}{steps} (search/kernels.py)"
    return f"PyTorch {cell} ({'autograd steps' if device.type == 'cpu' else device.type})"


class FastRecurrent:
    """Mixed into nn.GRU / nn.RNN (FastGRU, FastRNN): their CPU forward through the layers above."""

    def uses_fast_path(self, batch: int) -> bool:
        return (self.batch_first and self.bias and not self.bidirectional and not self.proj_size
                and self.mode in _LAYERS
                and (self.mode != "GRU" or batch <= GRU_MAX_BATCH or _onednn(self.weight_hh_l0.dtype)))

    def forward(self, x, hx=None):
        if x.device.type != "cpu" or x.dim() != 3 or not self.uses_fast_path(x.shape[0]):
            return super().forward(x, hx)
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
                out, h = layer.apply(seq[start:start + chunk], h, *weights)
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
