"""GRU and RNN against the LSTM on the CPU: search/kernels.py's layers against nn.LSTM (at equal weights) and against
nn.GRU / nn.RNN (PyTorch's own path), forward and backward, side by side in one process.

    python tests/benchmarks/bench_kernels.py [--threads 1] [--repeats 5]

Each configuration: 1M recurrent weights a cell (88 inputs, as the piano rolls: LSTM 447 hidden units, GRU 520,
RNN 957), one layer, batch 1, 2, 4, 8, 16, 32, 64, 128 (the sentiment study's largest), sequence lengths 64 (the
sentiment study's longest) and 200 (a piano-roll tune's chunk). Printed: the median milliseconds of forward + backward
(the models interleaved round by round) of PyTorch's modules and of search/kernels.py's layers with each kernel
(train.rnn_kernel=blas and =onednn), the kernel train.rnn_kernel=auto measured fastest for the shape (its own
measurement, search.kernels.measured_kernel), and the ratios of auto's time (the chosen kernel's, as timed here) to
the LSTM's and to PyTorch's own module's. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from search.kernels import FastGRU, FastRNN, measured_kernel

INPUTS = 88
HIDDEN = {"lstm": 447, "gru": 520, "rnn": 957}  # about 1M recurrent weights each
MODELS = {"nn.LSTM": (nn.LSTM, "lstm", None), "nn.GRU": (nn.GRU, "gru", None), "GRU blas": (FastGRU, "gru", "blas"),
          "GRU onednn": (FastGRU, "gru", "onednn"), "nn.RNN": (nn.RNN, "rnn", None),
          "RNN blas": (FastRNN, "rnn", "blas"), "RNN onednn": (FastRNN, "rnn", "onednn")}


def weights(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def time_models(models: dict[str, nn.Module], batch: int, steps: int, repeats: int) -> dict[str, float]:
    """Median ms of one forward + backward of each model on a [batch, steps, INPUTS] input, the models
    interleaved round by round (a drift of the machine's speed then falls on all of them alike)."""
    x = torch.randn(batch, steps, INPUTS)
    times: dict[str, list[float]] = {name: [] for name in models}
    for i in range(repeats + 1):
        for name, model in models.items():
            start = time.perf_counter()
            out, _ = model(x)
            out.sum().backward()
            if i:  # the first round is a warm-up
                times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def build(cls: type, cell: str, kernel: str | None) -> nn.Module:
    model = cls(INPUTS, HIDDEN[cell], 1, batch_first=True)
    if kernel:
        model.kernel = kernel
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ["CELLSEARCH_CACHE_DIR"] = tempfile.mkdtemp()  # auto's own measurement now, not one kept from before
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {name: build(*spec) for name, spec in MODELS.items()}
    print(f"torch {torch.__version__}, {args.threads} thread(s); recurrent weights: "
          + ", ".join(f"{n} {weights(m):,}" for n, m in models.items()))
    print(f"{'batch':>5} {'steps':>5} " + " ".join(f"{n:>10}" for n in models)
          + "   GRU auto  RNN auto   GRU/LSTM GRU/nn.GRU RNN/LSTM RNN/nn.RNN")
    for steps in (64, 200):
        for batch in (1, 2, 4, 8, 16, 32, 64, 128):
            ms = time_models(models, batch, steps, args.repeats)
            auto = {}
            for cell in ("GRU", "RNN"):
                kernel = measured_kernel(models[f"{cell} blas"], batch).kernel
                auto[cell] = (kernel, ms[f"nn.{cell}" if kernel == "torch" else f"{cell} {kernel}"])
            print(f"{batch:5} {steps:5} " + " ".join(f"{ms[n]:10.1f}" for n in models)
                  + f"   {auto['GRU'][0]:>8}  {auto['RNN'][0]:>8}"
                  f"   {auto['GRU'][1] / ms['nn.LSTM']:8.2f} {auto['GRU'][1] / ms['nn.GRU']:10.2f}"
                  f" {auto['RNN'][1] / ms['nn.LSTM']:8.2f} {auto['RNN'][1] / ms['nn.RNN']:10.2f}", flush=True)
    print("(milliseconds of forward + backward, median of", args.repeats, "after a warm-up; auto: the kernel",
          "train.rnn_kernel=auto measured fastest, its time the ratios')")


if __name__ == "__main__":
    main()
