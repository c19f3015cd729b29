"""Character language modelling with truncated back-propagation through time: the text is read as parallel
streams, and the recurrent state is carried (detached) from one chunk to the next."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from search.errors import UserError
from search.model import detach
from search.tasks import IGNORE, Batch, Task


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
