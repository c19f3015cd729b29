"""Text classification: token-id sequences with class labels; the metric is accuracy in percent. `GeneratedSentiment`
also knows where each example's verdict sits (search/datasets/sentiment_generated.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from search.tasks import Batch, Task, batch_order


@dataclass
class TextClassification(Task):
    """Token-id sequences with class labels; the metric is accuracy in percent."""

    ids: dict = field(default_factory=dict)  # split -> LongTensor [N, Lmax], right-padded with 0
    lengths: dict = field(default_factory=dict)  # split -> LongTensor [N]
    labels: dict = field(default_factory=dict)  # split -> LongTensor [N]

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        lengths = self.lengths[split].clamp(max=seq_len)
        for idx in batch_order(len(lengths), batch_size, lengths, shuffle, generator):
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
class GeneratedSentiment(TextClassification):
    """Text classification that knows where each example's verdict sits."""

    positions: dict = field(default_factory=dict)  # split -> array of "start" / "end", in the split's row order

    @torch.no_grad()
    def accuracy_by_position(self, model, split: str, seq_len: int, device: torch.device) -> dict:
        """Accuracy in % on the examples with the verdict at the start and at the end, apart."""
        model.eval()
        lengths = self.lengths[split].clamp(max=seq_len)
        predicted = torch.empty(len(lengths), dtype=torch.long)
        for start in range(0, len(lengths), 512):
            rows = slice(start, start + 512)
            x = self.ids[split][rows, : int(lengths[rows].max())]
            predicted[rows] = model(x.to(device), lengths[rows].to(device)).argmax(-1).cpu()
        correct = (predicted == self.labels[split]).numpy()
        where = self.positions[split]
        return {p: float(100.0 * correct[where == p].mean()) for p in ("start", "end") if (where == p).any()}
