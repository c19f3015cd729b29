"""Benchmark: cellsearch against the Hydra Optuna sweeper (hydra-optuna-sweeper), the usual way to run
Optuna from Hydra, on the same sentiment study: same data loader, model, trainer, search space (ranges of
conf/space/sentiment.yaml), TPE with seed 0, up to 8 epochs with early stopping, and the same number of
trials. The sweeper cannot prune and runs its task function once per trial (data built per trial);
cellsearch loads the data once and prunes with the median pruner per cell type. Prints each side's wall time
and best validation accuracy, and the ratio. Target: cellsearch at most 0.4 of the sweeper's wall time at an
equal or better best score.

The sweeper runs in a virtual environment of its own (hydra-optuna-sweeper 1.2.0 pins optuna < 3; the one
release that installs beside Optuna 5, 1.1.2, pins alembic < 1.7, which breaks Optuna's SQL storages), made
on first use (`--venv`, default /tmp/cellsearch-sweeper-venv): torch 2.13.0 from this machine's disk,
hydra-core 1.3.2, hydra-optuna-sweeper 1.2.0, pandas.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_sweeper.py [--trials 20]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from runs import run_search

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEER = ["torch==2.13.0", "hydra-core==1.3.2", "hydra-optuna-sweeper==1.2.0", "pandas"]


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making the sweeper's virtual environment in {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER], check=True)
    return python


def run_sweeper(python: Path, folder: Path, trials: int) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    run = subprocess.run([str(python), str(HERE / "sweeper_app" / "app.py"), "-m", f"hydra.sweeper.n_trials={trials}",
                          f"hydra.sweep.dir={folder / 'multirun'}"], cwd=folder, env=env, capture_output=True,
                         text=True)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"the sweeper failed:\n{run.stderr[-3000:]}")
    best = re.search(r"Best value: ([0-9.]+)", run.stdout + run.stderr)
    if best is None:  # the sweeper writes optimization_results.yaml with best_value
        text = (folder / "multirun" / "optimization_results.yaml").read_text()
        best = re.search(r"best_value: ([0-9.]+)", text)
    return wall, float(best.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "cellsearch-sweeper-venv")
    args = parser.parse_args()
    if not os.environ.get("CELLSEARCH_DATA_DIR"):
        sys.exit("set CELLSEARCH_DATA_DIR (both sides read the rt-polarity files)")
    python = ensure_venv(args.venv)
    folder = Path(tempfile.mkdtemp(prefix="bench-sweeper-"))
    print(f"sentiment, {args.trials} trials each, up to 8 epochs, TPE seed 0, {os.cpu_count()} cores", flush=True)
    ours, _ = run_search(folder, "study=sentiment", f"search.n_trials={args.trials}",
                         f"storage.url=sqlite:///{folder / 'ours.db'}")
    best_ours = optuna.load_study(study_name="sentiment", storage=f"sqlite:///{folder / 'ours.db'}").best_value
    print(f"cellsearch: {ours:.0f} s wall, best validation accuracy {best_ours:.2f} %", flush=True)
    theirs, best_theirs = run_sweeper(python, folder, args.trials)
    print(f"hydra-optuna-sweeper: {theirs:.0f} s wall, best validation accuracy {best_theirs:.2f} %")
    print(f"ratio {ours / theirs:.2f} of the sweeper's wall time (target <= 0.4); best score "
          f"{best_ours - best_theirs:+.2f} points against the sweeper's (target >= 0)")


if __name__ == "__main__":
    main()
