"""Benchmark: cellsearch beside the published LSTM-vs-GRU(-vs-RNN) comparisons.

Runs each preset as a user would (`python -m search study=...`, its progress shown), then prints per dataset and
cell the published figure, cellsearch's best search trial's test score, its re-evaluation mean and standard
deviation, and whether the verdict's direction agrees with the published gap (a gap inside the verdict's ROPE
counts as a tie; "budget too small" and "not enough evidence" are reported as undecided, not as agreement).

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_literature.py [--rows nottingham adding copy]
        [--out DIR] [--no-run] [-- extra overrides for every row, e.g. search.n_trials=12 train.batch_size=8]
    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_literature.py --estimate   # minutes an epoch

Rows (Bai, Kolter & Koltun 2018, Table 1; models of about the same size):
- nottingham: study=nottingham_bai2018, test NLL per time step in nats: LSTM 3.29, GRU 3.46, RNN 4.05.
- adding (T = 600) and copy (T = 1000): long-memory rows, LSTM and GRU as their presets search them; sequences
  that long want a GPU (`--rows adding copy` where one is lent). Bai report the adding MSE (LSTM 0.164, GRU
  5.3e-5, RNN 0.177) and the copy task's cross-entropy (LSTM 0.0204, GRU 0.0197, RNN 0.0202); cellsearch scores
  copying by accuracy, so that row's published figures are shown for the direction only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from reports.collect import load
from reports.config import ReportConfig
from reports.verdict import decide
from search.config import StorageConfig
from search.storage.open import open_existing

ROWS = {
    "nottingham": {"study": "nottingham_bai2018", "overrides": [], "better": "lower",
                   "published": {"lstm": 3.29, "gru": 3.46, "rnn": 4.05}},
    "adding": {"study": "adding", "overrides": ["dataset.length=600"],
               "better": "lower", "published": {"lstm": 0.164, "gru": 5.3e-5, "rnn": 0.177}},
    "copy": {"study": "copy", "overrides": ["dataset.length=1000"],
             "better": "lower (cross-entropy; ours: accuracy, higher)", "published": {"lstm": 0.0204, "gru": 0.0197,
                                                                                   "rnn": 0.0202}},
}


def published_direction(published: dict, rope: float, lower_better: bool) -> str:
    gap = published["gru"] - published["lstm"]  # positive: the LSTM's loss is lower
    if abs(gap) <= rope:
        return "tie"
    return "LSTM" if (gap > 0) == lower_better else "GRU"


def workers_of(extra: list[str]) -> int:
    return max([int(e.split("=", 1)[1]) for e in extra if e.startswith("workers=")] or [1])


def run_row(name: str, row: dict, out: Path, extra: list[str], run: bool = True) -> None:
    # one worker: a SQLite file; several (workers=N among the overrides): a journal file, as the search wants
    storage = f"sqlite:///{out / (name + '.db')}" if workers_of(extra) == 1 else str(out / (name + ".log"))
    command = [sys.executable, "-m", "search", f"study={row['study']}", f"search.study_name={name}",
               f"storage.url={storage}", *row["overrides"], *extra]
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    env = dict(os.environ)
    if env.get("CELLSEARCH_DATA_DIR"):  # the run's folder is `out`: a relative data folder is meant from here
        env["CELLSEARCH_DATA_DIR"] = str(Path(env["CELLSEARCH_DATA_DIR"]).resolve())
    if run and subprocess.run(command, cwd=out, check=False, env=env).returncode != 0:
        print(f"{name}: the run failed (see above)")
        return
    minutes = (time.perf_counter() - start) / 60
    # the report's own opening: it refuses a storage that is not there (--no-run on a wrong --out) instead of
    # creating an empty one
    data = load(open_existing(OmegaConf.structured(StorageConfig(url=storage))), name)
    verdict = decide(data, ReportConfig())
    metric = f"test {data.metric['name']} ({data.metric['unit']})"
    print(f"\n{name} ({metric}); published: Bai et al. 2018, Table 1, {row['better']} is better; "
          + (f"search and re-evaluation {minutes:.0f} min wall" if run else "read from the stored run"))
    print(f"  {'cell':5} {'published':>10} {'best trial':>11} {'its best epoch':>15} {'trials':>7} "
          f"{'re-evaluation mean ± sd (seeds)':>32}")
    for cell, figure in row["published"].items():
        if cell not in data.by_cell:
            continue
        mine = data.by_cell[cell]
        best = mine.best.test if mine.best is not None else np.nan
        epoch = f"{mine.best.best_epoch:.0f} of {mine.best.epochs:.0f}" if mine.best is not None else "–"
        runs = mine.reeval_tests
        spread = f"{runs.mean():.4g} ± {runs.std(ddof=1):.2g} ({len(runs)})" if len(runs) > 1 else "–"
        print(f"  {cell:5} {figure:>10.4g} {best:>11.4g} {epoch:>15} {mine.count('COMPLETE', 'PRUNED'):>7} "
              f"{spread:>32}")
    published = row["published"]  # the verdict's own ROPE rule, on the published scale: 1 % of their mean
    rope = ReportConfig().rope_relative * abs(np.mean([published["lstm"], published["gru"]]))
    expected = published_direction(published, rope, lower_better=True)  # every published figure here is a loss
    said = verdict.label
    agree = ("undecided" if said in ("budget too small", "not enough evidence", "no clear winner") else
             "agrees" if said == expected or (said == "practically equivalent" and expected == "tie") else "DISAGREES")
    print(f"  verdict: {said} (published direction: {expected}): {agree}")
    for gated in verdict.gating:
        print(f"  {gated.pair[0]} against the RNN: {gated.label}")
    if verdict.still_improving:
        print(f"  still improving: {', '.join(verdict.still_improving)}; suggested search.n_trials="
              f"{verdict.suggested_trials}")
    if verdict.still_learning:
        print(f"  still learning at the last epoch: {', '.join(verdict.still_learning)}; suggested train.max_epochs="
              f"{verdict.suggested_epochs}")


def estimate(seconds: float = 20.0, warmup: int = 5, device: str = "cpu") -> dict[str, float]:
    """Minutes one training epoch of the Nottingham protocol takes here (one-tune batches, 1M weights, the
    trainer's batches in shuffled order), from `seconds` of training steps after `warmup` untimed tunes (the
    first steps of a new sequence length build the LSTM's oneDNN kernels): whether the preset can run here. The GRU
    and RNN are timed with train.rnn_kernel=auto (search/kernels.py) and with torch (PyTorch's own path) on the CPU;
    on a GPU (cuDNN) once. Returns minutes an epoch per cell (auto)."""
    from types import SimpleNamespace

    import torch

    from search.datasets.polyphonic import PolyphonicConfig
    from search.model import build_model
    from search.sizing import budget_hidden_size

    task = PolyphonicConfig().load()
    total = sum(len(r) - 1 for r in task.rolls["train"])
    on = torch.device(device)
    task.to(on)
    kernels = ("auto", "torch") if on.type == "cpu" else ("auto",)
    minutes = {}
    for cell, kernel in [(c, k) for c in ("lstm", "gru", "rnn") for k in kernels if c != "lstm" or k == "auto"]:
        hidden = budget_hidden_size(cell, 1_000_000, 1, 88, None, 88)
        torch.manual_seed(0)
        model = build_model(SimpleNamespace(cell=cell, hidden_size=hidden, num_layers=1, dropout=0.0,
                                            embedding_dim=1, forget_bias=1.0), task, kernel).to(on)
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)
        batches = task.batches("train", None, 1, shuffle=True, generator=torch.Generator().manual_seed(0))
        start, steps, tunes = None, 0, 0
        for i, batch in enumerate(batches):
            if i == warmup:
                start = time.perf_counter()
            loss = task.loss(model(batch.x, batch.lengths), batch.y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if on.type == "cuda":
                torch.cuda.synchronize()
            if start is not None:
                steps, tunes = steps + int(batch.lengths.sum()), tunes + 1
                if time.perf_counter() - start > seconds:
                    break
        per_step = (time.perf_counter() - start) / steps
        if kernel == "auto":
            minutes[cell] = per_step * total / 60
        print(f"{cell} (train.rnn_kernel={kernel}, {on}): hidden {hidden} (1M weights), {1e3 * per_step:.3f} ms a "
              f"time step over {tunes} tunes: one training epoch ({total:,} steps, {len(task.rolls['train'])} tunes) "
              f"about {per_step * total / 60:.2f} min on {torch.get_num_threads()} thread(s)", flush=True)
    return minutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["nottingham"], choices=sorted(ROWS))
    parser.add_argument("--out", default="bench-literature", help="folder for the storages (kept, for the report)")
    parser.add_argument("--estimate", action="store_true", help="only time an epoch of the Nottingham protocol")
    parser.add_argument("--no-run", action="store_true",
                        help="print the table from the storages already in --out (the same overrides), running nothing")
    parser.add_argument("extra", nargs="*", help="overrides for every row (after --)")
    args = parser.parse_args()
    if args.estimate:
        estimate()
        return
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if "CELLSEARCH_DATA_DIR" not in os.environ and "nottingham" in args.rows:
        print("note: CELLSEARCH_DATA_DIR is not set; study=nottingham_bai2018 needs polyphonic/Nottingham.mat")
    for name in args.rows:
        run_row(name, ROWS[name], out, args.extra, run=not args.no_run)


if __name__ == "__main__":
    main()
