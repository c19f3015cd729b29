"""Benchmark: what the pruner saves. The same 40-trial sentiment study (same sampler seed, same space,
up to 8 epochs, early stopping after 2 epochs without progress) run with successive halving (the sentiment
study's pruner), the median pruner (cellsearch's default), both per cell type, and without a pruner. Prints
the epochs trained in all, the best validation accuracy, wall time and peak memory of each. Target: at
least 50 % fewer epochs, best score within 1 point. `--pruners` names the conf/pruner/ entries to run; each
is compared with the last.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_pruning.py [--trials 40] [--out DIR] \
        [--pruners successive_halving,median,none] [KEY=VALUE ...]

The studies stay in DIR/pruning.db (a temporary folder unless --out is given): `python -m reports
storage.url=sqlite:///DIR/pruning.db` shows them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import optuna

from runs import run_search


def totals(storage: str, name: str) -> tuple[int, float, int, int]:
    study = optuna.load_study(study_name=name, storage=storage)
    finished = [t for t in study.trials if t.state.is_finished() and t.state.name != "FAIL"]
    epochs = sum(len(t.intermediate_values) for t in finished)
    pruned = sum(t.state.name == "PRUNED" for t in finished)
    return epochs, study.best_value, pruned, len(finished)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--pruners", default="successive_halving,median,none",
                        help="conf/pruner/ names; the last is the baseline")
    parser.add_argument("overrides", nargs="*", help="more overrides for both runs, e.g. train.threads=1")
    args = parser.parse_args()
    if not os.environ.get("CELLSEARCH_DATA_DIR"):
        print("note: CELLSEARCH_DATA_DIR unset: the sentiment study runs on whatever source it finds")
    folder = args.out or Path(tempfile.mkdtemp(prefix="bench-pruning-"))
    folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{folder / 'pruning.db'}"
    results = {}
    pruners = args.pruners.split(",")
    for pruner in pruners:
        name = f"sentiment-pruner-{pruner}"
        wall, rss = run_search(folder, "study=sentiment", f"pruner={pruner}", f"search.n_trials={args.trials}",
                               f"search.study_name={name}", f"storage.url={storage}", *args.overrides)
        results[pruner] = (*totals(storage, name), wall, rss)
        epochs, best, pruned, finished = results[pruner][:4]
        print(f"pruner={pruner}: {finished} trials ({pruned} pruned), {epochs} epochs trained, best validation "
              f"accuracy {best:.2f} %, {wall / 60:.1f} min wall, peak RSS {rss:.2f} GB", flush=True)
    baseline = pruners[-1]
    for pruner in pruners[:-1]:
        saved = 1 - results[pruner][0] / results[baseline][0]
        gap = results[baseline][1] - results[pruner][1]
        print(f"pruner={pruner} trained {saved:.0%} fewer epochs than pruner={baseline} (target >= 50 %); best "
              f"validation accuracy {gap:+.2f} points without it (target: within 1 point)")
    print(f"studies in {storage}")


if __name__ == "__main__":
    main()
