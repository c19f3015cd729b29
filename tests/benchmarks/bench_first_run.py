"""The newcomer's first run: the default `python -m search study=sentiment` on the real files, search and
re-evaluation included, as README's Quick start runs it. Prints its wall time (whole run, and the search
and re-evaluation apart, from the stored trials), peak RSS, the trials per cell and the verdict it printed.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_first_run.py [overrides ...]

Target: within 15 minutes of wall time on the 2-core machine. Run it on an idle machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import optuna
from optuna.trial import TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runs import run_search


def minutes(trials) -> float:
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    return (max(ends) - min(starts)).total_seconds() / 60 if starts and ends else float("nan")


def main() -> None:
    if not os.environ.get("CELLSEARCH_DATA_DIR"):
        sys.exit("set CELLSEARCH_DATA_DIR (e.g. ../shared/data): the benchmark runs on the real files")
    overrides = ["study=sentiment", *sys.argv[1:]]
    with tempfile.TemporaryDirectory(prefix="cellsearch-first-run-") as folder:
        cwd = Path(folder)
        wall, rss = run_search(cwd, *overrides)
        storage = f"sqlite:///{cwd / 'cellsearch.db'}"
        study = optuna.load_study(study_name="sentiment", storage=storage)
        trials = study.get_trials(deepcopy=False)
        runs = optuna.load_study(study_name="sentiment.reeval", storage=storage).get_trials(deepcopy=False)
        output = (cwd / "search.log").read_text()
    print(f"python -m search {' '.join(overrides)}")
    print(f"wall time {wall / 60:.1f} min (target 15), peak RSS {rss:.2f} GB")
    print(f"search: {len(trials)} trials in {minutes(trials):.1f} min; re-evaluation: {len(runs)} runs in "
          f"{minutes(runs):.1f} min (first start to last end of each)")
    for cell in ("lstm", "gru"):
        mine = [t for t in trials if t.params.get("cell") == cell]
        states = {s.name.lower(): sum(t.state == s for t in mine) for s in (TrialState.COMPLETE, TrialState.PRUNED,
                                                                            TrialState.FAIL)}
        epochs = sum(t.user_attrs.get("epochs", 0) for t in mine)
        print(f"  {cell}: {len(mine)} trials {states}, {epochs} epochs")
    print(output[output.index("re-evaluation ('"):].strip() if "re-evaluation ('" in output else "no re-evaluation")


if __name__ == "__main__":
    main()
