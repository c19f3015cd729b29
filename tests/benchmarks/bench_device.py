"""Benchmark: training throughput on whatever device this machine has, and the checks of the accelerator path.

- On a CUDA device: that the LSTM/GRU run on cuDNN's RNN kernels (verified with torch.profiler: the kernel
  names of one training step, not assumed), that the task's tensors live on the device for the whole trial,
  and mixed precision (train.amp) against full precision: samples per second and validation accuracy.
- On the CPU: samples per second with one torch thread and with the default (one per core), since the
  thread count is set deliberately (train.threads; workers=N gives each process cores/N).
- With `--workers-per-gpu 1,2,4` (CUDA only; `--seconds` each): trials per hour of the sentiment study with
  that many workers on every GPU (workers=k*G; worker i trains on GPU i mod G), each in a fresh journal file.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_device.py [--epochs 2] [--workers-per-gpu 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import torch

from search.datasets.rt_polarity import RtPolarityConfig
from search.devices import choose_device
from search.model import build_model
from search.train import fit

SEQ_LEN, BATCH, HIDDEN = 64, 64, 256


def train(task, cell: str, device: torch.device, epochs: int, amp: bool = False) -> tuple[float, float]:
    """(training samples per second, best validation accuracy)."""
    torch.manual_seed(0)
    model = build_model(SimpleNamespace(cell=cell, hidden_size=HIDDEN, num_layers=1, dropout=0.0, embedding_dim=128,
                                        forget_bias=1.0), task)
    cfg = SimpleNamespace(lr=1e-3, weight_decay=0.0, max_epochs=epochs, patience=epochs, clip_grad_norm=1.0,
                          batch_size=BATCH, amp=amp)
    start = time.perf_counter()
    result = fit(model, task, SEQ_LEN, cfg, device, torch.Generator().manual_seed(0))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(task.labels["train"]) * epochs / (time.perf_counter() - start), result.best_value


def cuda_kernels(task, cell: str, device: torch.device) -> list[str]:
    """Names of the GPU kernels that one forward and backward step launches."""
    from torch.profiler import ProfilerActivity, profile

    model = build_model(SimpleNamespace(cell=cell, hidden_size=HIDDEN, num_layers=1, dropout=0.0, embedding_dim=128,
                                        forget_bias=1.0), task).to(device)
    batch = next(task.batches("train", SEQ_LEN, BATCH)).to(device)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        task.loss(model(batch.x, batch.lengths), batch.y).backward()
        torch.cuda.synchronize()
    return sorted({e.key for e in prof.key_averages()})


def trials_per_hour(per_gpu: list[int], seconds: float) -> None:
    """Finished trials per hour of study=sentiment with k workers on each GPU, for each k."""
    import optuna

    gpus = torch.cuda.device_count()
    base = None
    for k in per_gpu:
        with tempfile.TemporaryDirectory() as folder:
            journal = os.path.join(folder, "bench.log")
            command = [sys.executable, "-m", "search", "study=sentiment", f"workers={k * gpus}",
                       "search.n_trials=100000", f"search.timeout={seconds}", "search.reeval_seeds=0",
                       f"storage.url={journal}"]
            start = time.perf_counter()
            subprocess.run(command, cwd=folder, check=False, capture_output=True)
            wall = time.perf_counter() - start
            storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
            trials = optuna.load_study(study_name="sentiment", storage=storage).trials
            done = sum(t.state.is_finished() and t.state.name != "FAIL" for t in trials)
            devices = sorted({t.user_attrs.get("device", "?") for t in trials})
        rate = done * 3600 / wall
        base = base or rate
        print(f"{k} worker(s) per GPU x {gpus} GPU(s): {done} finished trials in {wall:.0f} s = {rate:,.0f} trials/h "
              f"({rate / base:.2f}x one per GPU); devices used: {', '.join(devices)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers-per-gpu", default="", help="e.g. 1,2,4: trials/h with k workers a GPU")
    parser.add_argument("--seconds", type=float, default=120, help="search.timeout of each --workers-per-gpu run")
    args = parser.parse_args()
    device = choose_device("auto")
    task = RtPolarityConfig().load()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); sentiment ({task.card['source']}), hidden {HIDDEN}, batch {BATCH}, "
          f"truncation {SEQ_LEN}, {args.epochs} epochs")
    if device.type == "cuda":
        task.to(device)
        print(f"task tensors on {task.ids['train'].device} for the whole run")
        for cell in ("lstm", "gru"):
            kernels = cuda_kernels(task, cell, device)
            rnn = [k for k in kernels if "rnn" in k.lower() or "cudnn" in k.lower() or "lstm" in k.lower()
                   or "gru" in k.lower()]
            print(f"{cell}: cuDNN RNN kernels used: {'yes' if any('cudnn' in k.lower() for k in kernels) else 'NO'} "
                  f"({', '.join(rnn[:4]) or 'none found'})")
            full, full_acc = train(task, cell, device, args.epochs)
            mixed, mixed_acc = train(task, cell, device, args.epochs, amp=True)
            print(f"{cell}: full precision {full:,.0f} samples/s (val accuracy {full_acc:.2f} %), train.amp "
                  f"{mixed:,.0f} samples/s (val accuracy {mixed_acc:.2f} %), speed-up {mixed / full:.2f}x")
        if args.workers_per_gpu:
            trials_per_hour([int(k) for k in args.workers_per_gpu.split(",")], args.seconds)
    else:
        default = torch.get_num_threads()
        for cell in ("lstm", "gru"):
            rates = {}
            for threads in sorted({1, default}):
                torch.set_num_threads(threads)
                rates[threads], _ = train(task, cell, device, args.epochs)
            torch.set_num_threads(default)
            print(f"{cell}: " + ", ".join(f"{t} thread(s) {r:,.0f} samples/s" for t, r in rates.items())
                  + (f"; {default} threads are {rates[default] / rates[1]:.2f}x one" if default > 1 else ""))
        print("no CUDA device here: the cuDNN and mixed-precision checks run only where there is one")


if __name__ == "__main__":
    main()
