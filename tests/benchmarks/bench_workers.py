"""Benchmark: wall time of a fixed sentiment budget with workers=1 and workers=2 on this machine.

Every trial does the same work (the space searches only the cell type, balanced: as many LSTMs as GRUs;
hidden size, batch and sequence length fixed; no pruning; exactly `--epochs` epochs each), so the two runs
differ only in how the trials are spread over processes. Prints both times and their ratio (target:
workers=2 at most 0.6 of workers=1), for each model size asked.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_workers.py [--trials 12 --epochs 2]
                                                                   [--sizes 128x64,32x32]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = "model.cell: {type: categorical, choices: [lstm, gru]}\n"
FIXED = ["study=sentiment", "space=cell_only", "compare=balanced", "pruner=none", "model.num_layers=1",
         "dataset.seq_len=48"]


def timed_run(folder: Path, trials: int, epochs: int, workers: int, hidden: int, batch: int) -> float:
    args = [sys.executable, "-m", "search", *FIXED, f"hydra.searchpath=[file://{folder / 'conf'}]",
            f"model.hidden_size={hidden}", f"train.batch_size={batch}",
            f"search.n_trials={trials}", f"train.max_epochs={epochs}", f"train.patience={epochs}",
            f"workers={workers}", f"storage.url={folder / f'h{hidden}-b{batch}-workers{workers}.log'}"]
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
    parser.add_argument("--sizes", default="128x64,32x32", help="hidden x batch pairs, comma-separated")
    args = parser.parse_args()
    if not os.environ.get("CELLSEARCH_DATA_DIR"):
        print("note: CELLSEARCH_DATA_DIR unset: the sentiment study runs on its generated corpus")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "conf" / "space").mkdir(parents=True)
        (folder / "conf" / "space" / "cell_only.yaml").write_text(SPACE)
        print(f"sentiment, {args.trials} trials x {args.epochs} epochs each, 1 layer, 48 tokens, "
              f"{os.cpu_count()} cores")
        for size in args.sizes.split(","):
            hidden, batch = map(int, size.split("x"))
            one = timed_run(folder, args.trials, args.epochs, 1, hidden, batch)
            two = timed_run(folder, args.trials, args.epochs, 2, hidden, batch)
            print(f"hidden {hidden}, batch {batch}: workers=1 {one:.1f} s wall, workers=2 {two:.1f} s wall, "
                  f"ratio {two / one:.2f} (target <= 0.60)", flush=True)


if __name__ == "__main__":
    main()
