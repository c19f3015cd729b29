"""Tasks: a dataset already split and encoded, with the loss, the metric and the baseline that go with it.

A task is built once per process (tokenising and scaling happen there) and serves every trial. The
searched sequence length is applied when batches are drawn: the truncation length for text, the lookback
window for series, so that changing it never reloads or re-splits the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Metric:
    name: str  # e.g. accuracy, rmse
    direction: str  # maximize | minimize
    unit: str  # e.g. "%", "thousands of passengers"

    def as_dict(self) -> dict:
        return {"name": self.name, "direction": self.direction, "unit": self.unit}


@dataclass
class Batch:
    x: torch.Tensor  # [B, T] token ids or [B, T, F] values
    lengths: torch.Tensor | None  # [B] real lengths (right-padded text); None when every row is full
    y: torch.Tensor

    def to(self, device: torch.device) -> "Batch":
        lengths = None if self.lengths is None else self.lengths.to(device)
        return Batch(self.x.to(device), lengths, self.y.to(device))


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


def _batch_order(n: int, batch_size: int, lengths: torch.Tensor | None, shuffle: bool,
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


@dataclass
class TextClassification(Task):
    """Token-id sequences with class labels; the metric is accuracy in percent."""

    ids: dict = field(default_factory=dict)  # split -> LongTensor [N, Lmax], right-padded with 0
    lengths: dict = field(default_factory=dict)  # split -> LongTensor [N]
    labels: dict = field(default_factory=dict)  # split -> LongTensor [N]

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        lengths = self.lengths[split].clamp(max=seq_len)
        for idx in _batch_order(len(lengths), batch_size, lengths, shuffle, generator):
            batch_lengths = lengths[idx]
            yield Batch(self.ids[split][idx, : int(batch_lengths.max())], batch_lengths, self.labels[split][idx])

    def loss(self, output, y):
        return F.cross_entropy(output, y)

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        model.eval()
        correct = 0
        for batch in self.batches(split, seq_len, 512):
            batch = batch.to(device)
            correct += int((model(batch.x, batch.lengths).argmax(-1) == batch.y).sum())
        return 100.0 * correct / len(self.labels[split])


@dataclass
class Forecasting(Task):
    """One-step-ahead forecasting of a scaled series; the metric is RMSE on the original scale.

    `scaled` holds the transformed series (log if asked, then standardised with training statistics).
    Targets of each split are the indices in `bounds[split]`; their input windows may reach back into
    the previous split, as a forecaster would see them.
    """

    scaled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    original: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bounds: dict = field(default_factory=dict)  # split -> (first target index, end index)
    mean: float = 0.0
    std: float = 1.0
    log: bool = False

    @property
    def max_seq_len(self) -> int:
        return self.bounds["train"][1] - 1  # leaves at least one training window

    def windows(self, split: str, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        start, end = self.bounds[split]
        start = max(start, seq_len)
        series = torch.from_numpy(self.scaled)
        targets = torch.arange(start, end)
        x = torch.stack([series[t - seq_len:t] for t in targets.tolist()]).unsqueeze(-1)
        return x, series[targets].unsqueeze(-1)

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        x, y = self.windows(split, seq_len)
        for idx in _batch_order(len(y), batch_size, None, shuffle, generator):
            yield Batch(x[idx], None, y[idx])

    def loss(self, output, y):
        return F.mse_loss(output, y)

    def to_original(self, scaled: np.ndarray) -> np.ndarray:
        values = scaled * self.std + self.mean
        return np.exp(values) if self.log else values

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        model.eval()
        x, _ = self.windows(split, seq_len)
        start, end = self.bounds[split]
        actual = self.original[max(start, seq_len):end]
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged model scores inf; train.py stops it
            predicted = self.to_original(model(x.to(device), None).squeeze(-1).double().cpu().numpy())
            return float(math.sqrt(np.mean((predicted - actual) ** 2)))
