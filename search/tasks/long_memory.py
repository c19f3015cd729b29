"""The long-memory problems of Hochreiter & Schmidhuber (1997): adding and copying, over sequences of a
fixed, generated length (`dataset.length`; the searched seq_len means nothing here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from search.tasks import EVAL_BATCH, IGNORE, Batch, Task, batch_order


@dataclass
class Adding(Task):
    """The adding problem: [T, 2] inputs (a value in U(0, 1), a marker); the target is the sum of the two
    marked values, read off the last step. The metric is the mean squared error."""

    uses_seq_len = False  # the sequences are dataset.length long
    x: dict = field(default_factory=dict)  # split -> FloatTensor [N, T, 2]
    y: dict = field(default_factory=dict)  # split -> FloatTensor [N, 1]

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        for idx in batch_order(len(self.y[split]), batch_size, None, shuffle, generator):
            yield Batch(self.x[split][idx], None, self.y[split][idx])

    def loss(self, output, y):
        return F.mse_loss(output, y)

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        model.eval()
        squared = 0.0
        for batch in self.batches(split, seq_len, EVAL_BATCH * 8):
            batch = batch.to(device)
            squared += float(((model(batch.x, None).double() - batch.y.double()) ** 2).sum())
        return squared / len(self.y[split])


@dataclass
class Copy(Task):
    """The copy task: K symbols, a delay of blanks ending in a delimiter, then K blanks during which the model
    must output the K symbols in order. Inputs are one-hot ([T, alphabet + 2]); the head reads every step,
    and only the K output positions count (targets IGNORE elsewhere). The metric is the accuracy in % over
    the copied symbols."""

    every_step = True
    uses_seq_len = False  # the sequences are dataset.length + 2 K long
    tokens: dict = field(default_factory=dict)  # split -> LongTensor [N, L] input token ids
    targets: dict = field(default_factory=dict)  # split -> LongTensor [N, L] symbol index or IGNORE

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        for idx in batch_order(len(self.tokens[split]), batch_size, None, shuffle, generator):
            x = F.one_hot(self.tokens[split][idx], self.n_features).float()
            yield Batch(x, None, self.targets[split][idx])

    def loss(self, output, y):
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), y.reshape(-1), ignore_index=IGNORE)

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        model.eval()
        correct, total = 0, 0
        for batch in self.batches(split, seq_len, EVAL_BATCH * 4):
            batch = batch.to(device)
            scored = batch.y != IGNORE
            correct += int((model(batch.x, None).argmax(-1)[scored] == batch.y[scored]).sum())
            total += int(scored.sum())
        return 100.0 * correct / total
