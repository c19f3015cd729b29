"""Tasks: a dataset already split and encoded, with the loss, the metric and the baseline that go with it.

A task is built once per process (tokenising and scaling happen there) and serves every trial. The
searched sequence length is applied when batches are drawn: the truncation length for text, the lookback
window for series, so that changing it never reloads or re-splits the data.

This module holds what every task shares (`Task`, `Batch`, `Metric`, `batch_order`); each kind is a module
of its own: text_classification, forecasting, language_model (characters, truncated BPTT), piano_roll,
long_memory (the adding and copy problems). Tasks sit above the network: they call a model to score it
(search.model knows nothing of tasks), and search.train fits a model to a task.

Padding and "no target here" are carried by the targets themselves, so that `Task.loss(output, y)`
keeps its signature: class targets use `IGNORE` (-100, cross-entropy's ignore_index), piano-roll targets
use -1 on padded steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import torch

IGNORE = -100  # a target position that counts in neither loss nor metric
EVAL_BATCH = 64  # sequences per evaluation batch (piano rolls, long-memory tasks)


@dataclass(frozen=True)
class Metric:
    name: str  # e.g. accuracy, rmse
    direction: str  # maximize | minimize
    unit: str  # e.g. "%", "thousands of passengers"

    def as_dict(self) -> dict:
        return {"name": self.name, "direction": self.direction, "unit": self.unit}

    def label(self, split: str) -> str:
        """What a number of this metric is, e.g. "val accuracy (%)"."""
        return f"{split} {self.name} ({self.unit})"


@dataclass
class Batch:
    x: torch.Tensor  # [B, T] token ids or [B, T, F] values
    lengths: torch.Tensor | None  # [B] real lengths (right-padded text); None when every row is full
    y: torch.Tensor
    carry: bool = False  # the rows continue the previous batch's rows: start from its final (detached) state

    def to(self, device: torch.device) -> Batch:
        lengths = None if self.lengths is None else self.lengths.to(device)
        return Batch(self.x.to(device), lengths, self.y.to(device), self.carry)


@dataclass
class Task:
    name: str
    metric: Metric
    card: dict  # what the data is: source, sizes, splits, classes or range
    baseline: dict = field(default_factory=dict)  # {"name": ..., "val": ..., "test": ...}

    # model inputs and outputs
    vocab_size: int | None = None
    n_features: int | None = None
    n_outputs: int = 1

    every_step: ClassVar[bool] = False  # the head reads every time step ([B, T, n_outputs]), not the last real one
    uses_seq_len: ClassVar[bool] = True  # False: the sequences have their own length; dataset.seq_len means nothing

    def to(self, device: torch.device) -> Task:
        """Move every tensor the task holds (alone, or in a dict or list by split) to `device`, once per
        process, so that batches are cut on the device instead of being copied there one by one."""
        def move(value):
            if isinstance(value, torch.Tensor):
                return value.to(device)
            if isinstance(value, dict):
                return {k: move(v) for k, v in value.items()}
            if isinstance(value, list) and value and isinstance(value[0], torch.Tensor):
                return [v.to(device) for v in value]
            return value

        for name in [f.name for f in dataclasses.fields(self)]:
            setattr(self, name, move(getattr(self, name)))
        return self

    @property
    def max_seq_len(self) -> int | None:
        """The longest sequence length the data supports; None when any length works (truncation)."""
        return None

    def batches(self, split: str, seq_len: int, batch_size: int, shuffle: bool = False,
                generator: torch.Generator | None = None) -> Iterator[Batch]:
        raise NotImplementedError

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, model: torch.nn.Module, split: str, seq_len: int, device: torch.device) -> float:
        raise NotImplementedError


def batch_order(n: int, batch_size: int, lengths: torch.Tensor | None, shuffle: bool,
                 generator: torch.Generator | None) -> list[torch.Tensor]:
    """Row indices per batch. With lengths, rows of similar length share a batch (little padding);
    with shuffle, pools of 50 batches are sorted by length and the batches then shuffled."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    if lengths is not None:
        pool = batch_size * 50 if shuffle else n
        pools = [order[i:i + pool] for i in range(0, n, pool)]
        order = torch.cat([p[torch.argsort(lengths[p], stable=True)] for p in pools])
    chunks = list(torch.split(order, batch_size))
    if shuffle:
        chunks = [chunks[i] for i in torch.randperm(len(chunks), generator=generator).tolist()]
    return chunks
