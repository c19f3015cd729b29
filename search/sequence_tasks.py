"""Tasks whose model predicts along the sequence (or reads sequences of a fixed, generated length):
character language modelling with truncated back-propagation through time, polyphonic music (piano
rolls), and the adding and copy problems of Hochreiter & Schmidhuber (1997).

Padding and "no target here" are carried by the targets themselves, so that `Task.loss(output, y)`
keeps its signature: class targets use `IGNORE` (-100, cross-entropy's ignore_index), piano-roll targets
use -1 on padded steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

from search.errors import UserError
from search.model import detach
from search.tasks import Batch, Task, _batch_order

IGNORE = -100  # a target position that counts in neither loss nor metric
EVAL_BATCH = 64  # sequences per evaluation batch (piano rolls, synthetic tasks)


def streams(ids: torch.Tensor, n_streams: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-character targets of a text as `n_streams` contiguous rows ([B, L] each): row b holds
    characters b*L .. (b+1)*L of the text, so that reading the chunks left to right continues every row.
    The last row(s) are padded at the end (input 0, target IGNORE): every character is predicted once."""
    inputs, targets = ids[:-1], ids[1:]
    n = len(targets)
    width = math.ceil(n / n_streams)
    x = torch.zeros(n_streams * width, dtype=torch.long, device=ids.device)  # where Task.to put the text
    y = torch.full((n_streams * width,), IGNORE, dtype=torch.long, device=ids.device)
    x[:n], y[:n] = inputs, targets
    return x.view(n_streams, width), y.view(n_streams, width)


@dataclass
class CharLanguageModel(Task):
    """Next-character prediction on one long text per split; the metric is bits per character.

    Training reads the text as `batch_size` parallel streams cut into chunks of `seq_len` characters; the
    recurrent state is carried (detached) from one chunk to the next within an epoch, so the model sees
    context beyond one chunk while gradients are truncated at its start. Evaluation reads each split as
    `eval_streams` streams and carries the state through the whole split."""

    every_step = True
    ids: dict = field(default_factory=dict)  # split -> LongTensor [n_chars]
    eval_streams: int = 8
    eval_chunk: int = 256  # evaluation chunk length (state is carried, so it changes only speed)

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        ids = self.ids[split]
        if shuffle:  # a fresh chunk boundary each epoch: drop a random 0..seq_len-1 leading characters
            ids = ids[int(torch.randint(0, min(seq_len, len(ids) - 1), (1,), generator=generator)):]
        if len(ids) - 1 < batch_size:
            raise UserError(f"{self.name}: the {split} split has {len(ids)} characters, too few for {batch_size} "
                            "parallel streams; lower train.batch_size or use more text")
        x, y = streams(ids, batch_size)
        for start in range(0, x.shape[1], seq_len):
            yield Batch(x[:, start:start + seq_len], None, y[:, start:start + seq_len], carry=True)

    def loss(self, output, y):
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), y.reshape(-1), ignore_index=IGNORE)

    @torch.no_grad()
    def score(self, model, split, seq_len, device):
        """Bits per character of the split, every character after the first predicted once, state carried."""
        model.eval()
        x, y = streams(self.ids[split], min(self.eval_streams, len(self.ids[split]) - 1))
        state, nats, count = None, 0.0, 0
        for start in range(0, x.shape[1], self.eval_chunk):
            xs, ys = x[:, start:start + self.eval_chunk].to(device), y[:, start:start + self.eval_chunk].to(device)
            output, state = model(xs, None, state, return_state=True)
            nats += float(F.cross_entropy(output.reshape(-1, output.shape[-1]), ys.reshape(-1),
                                          ignore_index=IGNORE, reduction="sum"))
            count += int((ys != IGNORE).sum())
            state = detach(state)
        return nats / count / math.log(2)


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
        for idx in _batch_order(len(rolls), batch_size, lengths, shuffle, generator):
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


@dataclass
class Adding(Task):
    """The adding problem: [T, 2] inputs (a value in U(0, 1), a marker); the target is the sum of the two
    marked values, read off the last step. The metric is the mean squared error."""

    uses_seq_len = False  # the sequences are dataset.length long
    x: dict = field(default_factory=dict)  # split -> FloatTensor [N, T, 2]
    y: dict = field(default_factory=dict)  # split -> FloatTensor [N, 1]

    def batches(self, split, seq_len, batch_size, shuffle=False, generator=None):
        for idx in _batch_order(len(self.y[split]), batch_size, None, shuffle, generator):
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
        for idx in _batch_order(len(self.tokens[split]), batch_size, None, shuffle, generator):
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
