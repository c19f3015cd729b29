"""Benchmark: wall time of a fixed sentiment budget with workers=1 and workers=2 on this machine.

Every trial does the same work (the space searches only the cell type; hidden size, batch, sequence length
fixed; no pruning; exactly `--epochs` epochs each), so the two runs differ only in how the trials are
spread over processes. Prints both times and their ratio (target: workers=2 at most 0.6 of workers=1).

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_workers.py [--trials 12 --epochs 2]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = "model.cell: {type: categorical, choices: [lstm, gru]}\n"
FIXED = ["study=sentiment", "space=cell_only", "pruner=none", "sampler=random", "model.hidden_size=128",
         "model.num_layers=1", "train.batch_size=64", "dataset.seq_len=48"]


def timed_run(folder: Path, trials: int, epochs: int, workers: int) -> float:
    args = [sys.executable, "-m", "search", *FIXED, f"hydra.searchpath=[file://{folder / 'conf'}]",
            f"search.n_trials={trials}", f"train.max_epochs={epochs}", f"train.patience={epochs}",
            f"workers={workers}", f"storage.url={folder / f'workers{workers}.log'}"]
    start = time.perf_counter()
    run = subprocess.run(args, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"workers={workers} failed:\n{run.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("CELLSEARCH_DATA_DIR"):
        print("note: CELLSEARCH_DATA_DIR unset: the sentiment study runs on its generated corpus")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "conf" / "space").mkdir(parents=True)
        (folder / "conf" / "space" / "cell_only.yaml").write_text(SPACE)
        one = timed_run(folder, args.trials, args.epochs, 1)
        two = timed_run(folder, args.trials, args.epochs, 2)
    print(f"sentiment, {args.trials} trials x {args.epochs} epochs, {os.cpu_count()} cores")
    print(f"workers=1: {one:.1f} s wall   workers=2: {two:.1f} s wall   ratio workers=2 / workers=1: {two / one:.2f}"
          f" (target <= 0.60)")


if __name__ == "__main__":
    main()
