"""Polyphonic music as piano rolls: next-step prediction of 88 keys, scored in nats per time step."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

from search.tasks import EVAL_BATCH, Batch, Task, batch_order


@dataclass
class PianoRoll(Task):
    """Polyphonic music: from the keys sounding at step t, predict each of the 88 keys at t+1 (independent
    sigmoids). The metric is the negative log-likelihood per time step in nats, summed over the keys and
    averaged over all predicted steps of the split (Boulanger-Lewandowski et al. 2012; Bai et al. 2018).
    Sequences of a batch are right-padded; padded steps have target -1 and count nowhere."""

    every_step = True
    uses_seq_len = False  # whole tunes: the sequence length is the tune's
    rolls: dict = field(default_factory=dict)  # split -> list of uint8 tensors [T_i, 88]

    def _lengths(self, split: str) -> torch.Tensor:
        return torch.tensor([len(r) - 1 for r in self.rolls[split]])

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        rolls = self.rolls[split]
        lengths = self._lengths(split)
        for idx in batch_order(len(rolls), batch_size, lengths, shuffle, generator):
            chosen = [rolls[i] for i in idx.tolist()]
            x = pad_sequence([r[:-1].float() for r in chosen], batch_first=True)
            y = pad_sequence([r[1:].float() for r in chosen], batch_first=True, padding_value=-1.0)
            yield Batch(x, lengths[idx], y)

    @staticmethod
    def nll_sum(output: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Summed negative log-likelihood (nats) over the real steps, and how many real steps there were."""
        real = y[..., 0] >= 0  # [B, T]
        nll = F.binary_cross_entropy_with_logits(output[real], y[real], reduction="sum")
        return nll, int(real.sum())

    def loss(self, output, y):
        nll, steps = self.nll_sum(output, y)
        return nll / steps

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        model.eval()
        nats, steps = 0.0, 0
        for batch in self.batches(split, seq_len, EVAL_BATCH):
            batch = batch.to(device)
            nll, n = self.nll_sum(model(batch.x, batch.lengths), batch.y)
            nats, steps = nats + float(nll), steps + n
        return nats / steps
