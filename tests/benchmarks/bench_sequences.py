"""The `study=sequences` preset on a generated UCR-format set (tests/sequence_files.py: noise with one of three
motifs early on; 1,000 sequences of 60 - 120 steps by default), search and re-evaluation included, as a user runs
it. Prints the wall time, the search and re-evaluation apart, the trials per cell, the baseline and the verdict.

    python tests/benchmarks/bench_sequences.py [--sequences 1000] [overrides ...]

Target: the preset ends within 15 minutes on the 2-core machine. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import optuna
from optuna.trial import TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_first_run import minutes
from runs import run_search
from sequence_files import generated_ucr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=1000)
    args, overrides = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="cellsearch-sequences-") as folder:
        cwd = Path(folder)
        path = generated_ucr(cwd / "Motifs.csv", n=args.sequences)
        overrides = ["study=sequences", f"dataset.path={path}", *overrides]
        wall, rss = run_search(cwd, *overrides)
        storage = f"sqlite:///{cwd / 'cellsearch.db'}"
        trials = optuna.load_study(study_name="sequences", storage=storage).get_trials(deepcopy=False)
        runs = optuna.load_study(study_name="sequences.reeval", storage=storage).get_trials(deepcopy=False)
        output = (cwd / "search.log").read_text()
    print(f"python -m search {' '.join(overrides)}  ({args.sequences} generated sequences)")
    print(f"wall time {wall / 60:.1f} min (target 15), peak RSS {rss:.2f} GB")
    print(f"search: {len(trials)} trials in {minutes(trials):.1f} min; re-evaluation: {len(runs)} runs in "
          f"{minutes(runs):.1f} min")
    for cell in ("lstm", "gru"):
        mine = [t for t in trials if t.params.get("cell") == cell]
        states = {s.name.lower(): sum(t.state == s for t in mine) for s in (TrialState.COMPLETE, TrialState.PRUNED)}
        print(f"  {cell}: {len(mine)} trials {states}, {sum(t.user_attrs.get('epochs', 0) for t in mine)} epochs")
    print(next((line for line in output.splitlines() if line.startswith("data: ")), "no data line"))
    print(output[output.index("re-evaluation ('"):].strip() if "re-evaluation ('" in output else "no re-evaluation")


if __name__ == "__main__":
    main()
