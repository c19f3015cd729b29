"""Shared by the benchmarks: run `python -m search` as a user would and measure its wall time and the
peak resident memory of the process (os.wait4's rusage of that one child)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def run_search(cwd: Path, *overrides: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of one `python -m search ...` run; exits with its stderr on failure."""
    log = open(cwd / "search.log", "a")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "search", *overrides], cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    if proc.returncode != 0:
        sys.exit(f"python -m search {' '.join(overrides)} failed ({proc.returncode}); see {cwd / 'search.log'}")
    return wall, usage.ru_maxrss / 1024 ** 2  # ru_maxrss is in KB on Linux
