"""Numeric sequences with one label or one value each (sensor windows, ECG beats, UCR/UEA series): the model reads
a whole sequence, [T_i, F] values, and its head answers once, off the last real step. Classification is scored by
accuracy in percent; regression by RMSE on the target's original scale (the model learns it standardised).

Sequences of a split are stored right-padded with zeros in one tensor [N, T_max, F] beside their real lengths;
batches group sequences of similar length (search.tasks.batch_order) and are cut to their longest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from search.tasks import EVAL_BATCH, Batch, Task, batch_order


@dataclass
class SequenceLabels(Task):
    """What both kinds share: the padded values, their lengths, one target a sequence."""

    uses_seq_len = False  # each sequence is read whole: its length is its own
    x: dict = field(default_factory=dict)  # split -> float32 [N, T_max, F], right-padded with 0
    lengths: dict = field(default_factory=dict)  # split -> long [N]
    y: dict = field(default_factory=dict)  # split -> long [N] class indices, or float32 [N, 1] scaled values

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        lengths = self.lengths[split]
        for idx in batch_order(len(lengths), batch_size, lengths, shuffle, generator):
            batch_lengths = lengths[idx]
            yield Batch(self.x[split][idx, : int(batch_lengths.max())], batch_lengths, self.y[split][idx])

    def outputs(self, model, split: str, device: torch.device) -> torch.Tensor:
        """The model's outputs for every sequence of `split`, in the split's order."""
        model.eval()
        lengths = self.lengths[split]
        out = []
        for start in range(0, len(lengths), EVAL_BATCH * 4):
            rows = slice(start, start + EVAL_BATCH * 4)
            x = self.x[split][rows, : int(lengths[rows].max())]
            out.append(model(x.to(device), lengths[rows].to(device)).float())
        return torch.cat(out)


@dataclass
class SequenceClassification(SequenceLabels):
    """One class a sequence; the metric is accuracy in percent."""

    def loss(self, output, y):
        return F.cross_entropy(output, y)

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        predicted = self.outputs(model, split, device).argmax(-1)
        return 100.0 * float((predicted == self.y[split].to(predicted.device)).float().mean())


@dataclass
class SequenceRegression(SequenceLabels):
    """One value a sequence; the metric is RMSE on the original scale (`mean`, `std` undo the scaling)."""

    mean: float = 0.0
    std: float = 1.0

    def loss(self, output, y):
        return F.mse_loss(output, y)

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        output = self.outputs(model, split, device).double()
        target = self.y[split].to(output.device).double()
        error = (output - target) * self.std  # the standardisation undone: the mean cancels
        value = float(error.pow(2).mean())
        return math.sqrt(value) if math.isfinite(value) else math.inf  # a diverged model: train.py stops it
