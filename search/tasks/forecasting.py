"""Forecasting a series: windows of the searched length, RMSE on the original scale."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from search.tasks import Batch, Task, batch_order


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
        for idx in batch_order(len(y), batch_size, None, shuffle, generator):
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
