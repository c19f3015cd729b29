"""Benchmark: cellsearch's trainer (search.train.fit) against the shortest plain PyTorch loop.

Both train the same model (search.model.SequenceModel) on the same sentiment batches (the task's
length-bucketed batches, drawn from the same seeded generator) for the same epochs, with the same Adam,
gradient clipping and one validation pass per epoch; the plain loop leaves out everything else fit() does
(the finite-loss check, best-epoch bookkeeping and weight copies, early stopping, the per-epoch callback).
Throughput is real (unpadded) training tokens per second; each pair is run alternately `--repeats` times
and the fastest of each is kept. Target: the trainer at >= 0.95 of the plain loop.

    CELLSEARCH_DATA_DIR=../shared/data python tests/benchmarks/bench_trainer.py [--epochs 2 --repeats 3]
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import torch

from search.datasets.rt_polarity import RtPolarityConfig
from search.model import build_model
from search.train import fit

SEQ_LEN, BATCH = 64, 64


def real_tokens(task, split: str) -> int:
    return int(task.lengths[split].clamp(max=SEQ_LEN).sum())


def plain_loop(model, task, train_cfg, generator) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr)
    for _ in range(train_cfg.max_epochs):
        model.train()
        for batch in task.batches("train", SEQ_LEN, BATCH, shuffle=True, generator=generator):
            loss = torch.nn.functional.cross_entropy(model(batch.x, batch.lengths), batch.y)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.clip_grad_norm)
            optimizer.step()
        task.score(model, "val", SEQ_LEN, torch.device("cpu"))


def timed(kind: str, cell: str, hidden: int, task, epochs: int) -> float:
    model_cfg = SimpleNamespace(cell=cell, hidden_size=hidden, num_layers=1, dropout=0.0, embedding_dim=128,
                                forget_bias=1.0)
    train_cfg = SimpleNamespace(lr=1e-3, weight_decay=0.0, max_epochs=epochs, patience=epochs, clip_grad_norm=1.0,
                                batch_size=BATCH)
    torch.manual_seed(0)
    model = build_model(model_cfg, task)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    if kind == "trainer":
        fit(model, task, SEQ_LEN, train_cfg, torch.device("cpu"), generator)
    else:
        plain_loop(model, task, train_cfg, generator)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", default="lstm:64,gru:64,lstm:256,gru:256")
    args = parser.parse_args()
    task = RtPolarityConfig().load()
    tokens = real_tokens(task, "train") * args.epochs
    print(f"sentiment ({task.card['source']}), {task.card['splits']['train']} training texts, truncation "
          f"{SEQ_LEN}, batch {BATCH}, {args.epochs} epochs, {torch.get_num_threads()} torch threads")
    for config in args.configs.split(","):
        cell, hidden = config.split(":")
        best = {"trainer": float("inf"), "plain": float("inf")}
        for _ in range(args.repeats):
            for kind in best:
                best[kind] = min(best[kind], timed(kind, cell, int(hidden), task, args.epochs))
        rate = {k: tokens / v for k, v in best.items()}
        print(f"{cell} hidden {hidden}: trainer {rate['trainer']:,.0f} tokens/s, plain loop {rate['plain']:,.0f} "
              f"tokens/s, ratio {rate['trainer'] / rate['plain']:.3f} (target >= 0.95)", flush=True)


if __name__ == "__main__":
    main()
