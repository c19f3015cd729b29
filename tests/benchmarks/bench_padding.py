"""Benchmark: padding efficiency of the sentiment batches, real tokens / processed tokens per epoch.

A batch is processed as a [batch, longest row] block, so every row shorter than the longest in its batch
costs padding. cellsearch draws length-bucketed batches (search.tasks.batch_order: shuffled pools of 50
batches, sorted by length inside a pool, the batches then shuffled); the comparison is plain shuffled
batches of the same size. Lengths are truncated at the searched sequence length first. Target >= 0.9.
Counts, not timings: the result does not depend on the machine's load.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_padding.py
"""

from __future__ import annotations

import torch

from search.datasets.rt_polarity import RtPolarityConfig


def efficiency(task, seq_len: int, batch_size: int, bucketed: bool) -> float:
    generator = torch.Generator().manual_seed(0)
    real = processed = 0
    if bucketed:
        for batch in task.batches("train", seq_len, batch_size, shuffle=True, generator=generator):
            real += int(batch.lengths.sum())
            processed += batch.x.numel()
    else:
        lengths = task.lengths["train"].clamp(max=seq_len)
        for idx in torch.split(torch.randperm(len(lengths), generator=generator), batch_size):
            real += int(lengths[idx].sum())
            processed += len(idx) * int(lengths[idx].max())
    return real / processed


def main() -> None:
    task = RtPolarityConfig().load()
    print(f"sentiment ({task.card['source']}), {task.card['splits']['train']} training texts, "
          f"tokens per text: {task.card['tokens_per_text_train']}")
    print("seq_len  batch  bucketed (cellsearch)  plain shuffled   target >= 0.9")
    worst = 1.0
    for seq_len in (16, 32, 48, 64):
        for batch_size in (32, 64, 128):
            ours, plain = efficiency(task, seq_len, batch_size, True), efficiency(task, seq_len, batch_size, False)
            worst = min(worst, ours)
            print(f"{seq_len:7d} {batch_size:6d}  {ours:21.3f}  {plain:14.3f}")
    print(f"lowest bucketed efficiency over the searched range: {worst:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
