"""Run every benchmark with small settings, one after another (a few minutes on 2 cores, plus the
sweeper's virtual environment the first time), printing what each measured. For the figures in README run
each script with its defaults on a quiet machine: timings taken while other work runs are not comparable.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/run_all.py [--full]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL = {
    "bench_padding.py": [],
    "bench_trainer.py": ["--epochs", "1", "--repeats", "2"],
    "bench_device.py": ["--epochs", "1"],
    "bench_pruning.py": ["--trials", "12"],
    "bench_sweeper.py": ["--trials", "6"],
    "bench_workers.py": ["--trials", "4", "--epochs", "1", "--sizes", "64x64"],
    "bench_storage.py": [],
    "bench_literature.py": ["--estimate"],  # the comparison itself is hours here (tests/benchmarks/README.md)
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="each script's default (README) settings")
    parser.add_argument("--only", nargs="*", default=None, help="script names to run")
    args = parser.parse_args()
    failed = []
    for script, small in SMALL.items():
        if args.only and script not in args.only:
            continue
        command = [sys.executable, str(HERE / script), *([] if args.full else small)]
        print(f"\n== {script} {' '.join(command[2:])}", flush=True)
        start = time.perf_counter()
        if subprocess.run(command).returncode != 0:
            failed.append(script)
        print(f"({time.perf_counter() - start:.0f} s)", flush=True)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
