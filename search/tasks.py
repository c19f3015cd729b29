"""Tasks: a dataset already split and encoded, with the loss, the metric and the baseline that go with it.

A task is built once per process (tokenising and scaling happen there) and serves every trial. The
searched sequence length is applied when batches are drawn: the truncation length for text, the lookback
window for series, so that changing it never reloads or re-splits the data.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar, Iterator

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

    def label(self, split: str) -> str:
        """What a number of this metric is, e.g. "val accuracy (%)"."""
        return f"{split} {self.name} ({self.unit})"


@dataclass
class Batch:
    x: torch.Tensor  # [B, T] token ids or [B, T, F] values
    lengths: torch.Tensor | None  # [B] real lengths (right-padded text); None when every row is full
    y: torch.Tensor
    carry: bool = False  # the rows continue the previous batch's rows: start from its final (detached) state

    def to(self, device: torch.device) -> "Batch":
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

    def to(self, device: torch.device) -> "Task":
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
    """Forecasting a series `horizon` steps ahead (one by default); the metric is RMSE on the original scale.

    `scaled` holds the model's inputs, transformed (e.g. log) and standardised with training statistics:
    one series [N], or several [N, F] with the target's own column first. The value predicted for step t is
    `target[t]` (default: the first input column), from the `seq_len` inputs that end `horizon` steps
    before t, i.e. at the last step a forecaster would have seen. Targets of each split are the indices in
    `bounds[split]`; their input windows may reach back into the previous split. Inputs start at step
    `first_input` (1 for returns, which step 0 has none of).

    `original` is the target on its original scale; `mean` and `std` undo the target's standardisation,
    then `log` takes exp, or `returns` (the target is the log return over the horizon) multiplies the last
    observed original value by exp(predicted return): RMSE is always on the original scale.
    """

    scaled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    original: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bounds: dict = field(default_factory=dict)  # split -> (first target index, end index)
    mean: float = 0.0
    std: float = 1.0
    log: bool = False
    target: np.ndarray | None = None  # [N] scaled values to predict; None: the first input column
    horizon: int = 1
    returns: bool = False
    first_input: int = 0

    @property
    def max_seq_len(self) -> int:
        return self.bounds["train"][1] - self.first_input - self.horizon  # leaves at least one training window

    def targets(self, split: str, seq_len: int) -> np.ndarray:
        """Indices of the steps predicted in `split` with windows of `seq_len` inputs."""
        start, end = self.bounds[split]
        return np.arange(max(start, self.first_input + seq_len + self.horizon - 1), end)

    def windows(self, split: str, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.from_numpy(self.scaled)
        inputs = inputs.unsqueeze(-1) if inputs.dim() == 1 else inputs  # [N, F]
        target = inputs[:, 0] if self.target is None else torch.from_numpy(self.target)
        targets = torch.from_numpy(self.targets(split, seq_len))
        x = inputs.unfold(0, seq_len, 1)[targets - self.horizon - seq_len + 1].transpose(1, 2)  # [B, T, F]
        return x.contiguous(), target[targets].unsqueeze(-1)

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        x, y = self.windows(split, seq_len)
        for idx in _batch_order(len(y), batch_size, None, shuffle, generator):
            yield Batch(x[idx], None, y[idx])

    def loss(self, output, y):
        return F.mse_loss(output, y)

    def to_original(self, scaled: np.ndarray, targets: np.ndarray | None = None) -> np.ndarray:
        """Model outputs back on the original scale; `targets` (their step indices) is needed for returns."""
        values = scaled * self.std + self.mean
        if self.returns:
            return self.original[np.asarray(targets) - self.horizon] * np.exp(values)
        return np.exp(values) if self.log else values

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        model.eval()
        x, _ = self.windows(split, seq_len)
        targets = self.targets(split, seq_len)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged model scores inf; train.py stops it
            output = model(x.to(device), None).squeeze(-1).double().cpu().numpy()
            predicted = self.to_original(output, targets)
            return float(math.sqrt(np.mean((predicted - self.original[targets]) ** 2)))
