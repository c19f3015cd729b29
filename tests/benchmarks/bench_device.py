"""Benchmark: training throughput on whatever device this machine has, and the checks of the accelerator path.

- On a CUDA device: that the LSTM/GRU run on cuDNN's RNN kernels (verified with torch.profiler: the kernel
  names of one training step, not assumed), that the task's tensors live on the device for the whole trial,
  and mixed precision (train.amp) against full precision: samples per second and validation accuracy.
- On the CPU: samples per second with one torch thread and with the default (one per core), since the
  thread count is set deliberately (train.threads; workers=N gives each process cores/N).
- With `--workers-per-gpu 1,2,4` (CUDA only; `--seconds` each): trials per hour of the sentiment study with
  that many workers on every GPU (workers=k*G; worker i trains on GPU i mod G), each in a fresh journal file.

- With `--nottingham MINUTES` (issue 24's last part, for a lent GPU): the Nottingham protocol's epoch timed per cell
  on this device, then `study=nottingham_bai2018` whole (24 trials of up to 40 epochs, re-evaluated) with
  `--workers-per-gpu` workers on every GPU (default 8), no trial started after 60 % of MINUTES and no re-evaluation
  run more than 25 % of MINUTES after the re-evaluation began (what is going then finishes: the command can end
  later by about one trial's training); printed:
  the epoch times, the full preset's projected wall time on this device, and bench_literature.py's table beside
  Bai et al. (2018). Runs on the CPU as well (slowly: for a check of the script).

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_device.py [--epochs 2] [--workers-per-gpu 1,2,4]
    CELLSEARCH_DATA_DIR=DATA python tests/benchmarks/bench_device.py --nottingham 8 [-- overrides]

On a lent machine the data travels in an ignored folder of the checkout (the device's README): `mkdir -p
.device-data && cp -r ../shared/data/polyphonic .device-data/`, `.device-data` in .git/info/exclude and in `carry`,
`CELLSEARCH_DATA_DIR=.device-data`, and `--out $OUT/literature` to bring the storage back for the report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch

from search.api import compose
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


def nottingham(minutes: float, per_gpu: int, out: Path, extra: list[str]) -> None:
    """The published-budget Nottingham run, cut to end within `minutes` (see the module's docstring)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_literature

    start = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    epoch = bench_literature.estimate(seconds=10, warmup=3, device=device)
    workers = per_gpu * (torch.cuda.device_count() if device == "cuda" else 1)
    cfg = compose([f"study={bench_literature.ROWS['nottingham']['study']}", *extra])  # the run's own settings
    reeval = cfg.search.reeval_seeds
    seeds = cfg.search.reeval_max_seeds if reeval == "auto" else int(reeval)
    epochs, trials_per_cell = cfg.train.max_epochs, cfg.search.n_trials / len(epoch)
    work = (trials_per_cell + seeds) * epochs * sum(epoch.values())
    print(f"projected: the whole preset ({cfg.search.n_trials} trials, then up to {seeds} re-evaluation seeds a "
          f"cell), every trial and run to {epochs} epochs (early stopping shortens them), is at most {work:.0f} "
          f"worker-minutes of training on {device}; with {workers} workers about {work / workers:.0f} min wall if "
          "they do not slow each other (they share the device and its host's cores)", flush=True)
    budget = minutes * 60 - (time.perf_counter() - start)
    search_s, reeval_s = int(budget * 0.6), int(budget * 0.25)  # the rest: start-up, the trials going, the table
    storage_dir = out.resolve()
    storage_dir.mkdir(parents=True, exist_ok=True)
    bench_literature.run_row("nottingham", bench_literature.ROWS["nottingham"], storage_dir,
                             [f"workers={workers}", f"train.device={device}", f"search.timeout={search_s}",
                              f"search.reeval_timeout={reeval_s}", *extra])
    print(f"(no trial started after {search_s} s, no re-evaluation run after {reeval_s} s more; the whole command took "
          f"{(time.perf_counter() - start) / 60:.1f} min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers-per-gpu", default="", help="e.g. 1,2,4: trials/h with k workers a GPU")
    parser.add_argument("--seconds", type=float, default=120, help="search.timeout of each --workers-per-gpu run")
    parser.add_argument("--nottingham", type=float, metavar="MINUTES", help="the Nottingham preset within MINUTES")
    parser.add_argument("--out", default="bench-literature", help="--nottingham: folder for its storage")
    parser.add_argument("extra", nargs="*", help="--nottingham: overrides for its run (after --)")
    args = parser.parse_args()
    if args.nottingham:
        nottingham(args.nottingham, int(args.workers_per_gpu or 8), Path(args.out), args.extra)
        return
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
