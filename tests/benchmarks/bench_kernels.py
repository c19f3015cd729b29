"""GRU and RNN against the LSTM on the CPU: search/kernels.py's layers against nn.LSTM (at equal weights) and against
nn.GRU / nn.RNN (PyTorch's own path), forward and backward, side by side in one process.

    python tests/benchmarks/bench_kernels.py [--threads 1] [--repeats 5]

Each configuration: 1M recurrent weights a cell (88 inputs, as the piano rolls: LSTM 447 hidden units, GRU 520,
RNN 957), one layer, batch 1, 2, 4, 8, 16, 32, 64, 128 (the sentiment study's largest), sequence lengths 64 (the
sentiment study's longest) and 200 (a piano-roll tune's chunk). Printed: the median milliseconds of forward + backward
(the models interleaved round by round), and the ratios; "fast GRU" and "fast RNN" as train.rnn_kernel=auto runs them
(float32: oneDNN's products at every batch size). Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from search.kernels import FastGRU, FastRNN

INPUTS = 88
HIDDEN = {"lstm": 447, "gru": 520, "rnn": 957}  # about 1M recurrent weights each
MODELS = {"nn.LSTM": (nn.LSTM, "lstm"), "nn.GRU": (nn.GRU, "gru"), "fast GRU": (FastGRU, "gru"),
          "nn.RNN": (nn.RNN, "rnn"), "fast RNN": (FastRNN, "rnn")}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {name: cls(INPUTS, HIDDEN[cell], 1, batch_first=True) for name, (cls, cell) in MODELS.items()}
    print(f"torch {torch.__version__}, {args.threads} thread(s); recurrent weights: "
          + ", ".join(f"{n} {weights(m):,}" for n, m in models.items()))
    print(f"{'batch':>5} {'steps':>5} " + " ".join(f"{n:>9}" for n in models)
          + "   fastGRU/LSTM fastGRU/nnGRU fastRNN/LSTM fastRNN/nnRNN")
    for steps in (64, 200):
        for batch in (1, 2, 4, 8, 16, 32, 64, 128):
            ms = time_models(models, batch, steps, args.repeats)
            print(f"{batch:5} {steps:5} " + " ".join(f"{ms[n]:9.1f}" for n in models)
                  + f"   {ms['fast GRU'] / ms['nn.LSTM']:12.2f} {ms['fast GRU'] / ms['nn.GRU']:13.2f}"
                  f" {ms['fast RNN'] / ms['nn.LSTM']:12.2f} {ms['fast RNN'] / ms['nn.RNN']:13.2f}", flush=True)
    print("(milliseconds of forward + backward, median of", args.repeats, "after a warm-up)")


if __name__ == "__main__":
    main()
