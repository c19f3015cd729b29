"""The adding problem and the copy task (Hochreiter & Schmidhuber 1997), the long-memory benchmarks of
the recurrent-network literature, generated from `dataset.data_seed` (every trial sees the same data).

Adding (in the form of Le, Jaitly & Hinton 2015 and Arjovsky, Shah & Bengio 2016): each input step is
(value in U(0, 1), marker); exactly two markers are 1, one in each half of the sequence; the target is
the sum of the two marked values. Metric: mean squared error; baseline: always predicting the training
targets' mean (about 0.167, the variance of a sum of two uniforms).

Copy (Arjovsky et al. 2016): K symbols from an alphabet of `alphabet` (8), then `length` - 1 blanks and a
delimiter, then K blanks during which the model must output the K symbols in order; inputs are one-hot
(alphabet + blank + delimiter). Loss: cross-entropy on the K output positions only. Metric: accuracy in %
over the copied symbols; baseline: chance, i.e. always the most frequent training symbol (about 100/8 %).

The sequence length is the task's (`dataset.length`), not a truncation: `dataset.seq_len` has no meaning
here and is refused, on the command line or in the search space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from search.errors import UserError
from search.sequence_tasks import IGNORE, Adding, Copy
from search.tasks import SPLITS, Metric


def _check(name: str, seq_len, sizes: dict[str, int], length: int, min_length: int) -> None:
    if seq_len is not None:
        raise UserError(f"dataset.seq_len={seq_len} has no effect on {name}: its sequence length is dataset.length; "
                        "remove the override (and dataset.seq_len from the space) and set dataset.length instead")
    for split, n in sizes.items():
        if n < 1:
            raise UserError(f"dataset.n_{split}={n} is invalid: every split needs at least one sequence")
    if length < min_length:
        raise UserError(f"dataset.length={length} is invalid: {name} needs at least {min_length} steps")


def _card(name: str, origin: str, sizes: dict[str, int], data_seed: int, extra: dict) -> dict:
    return {"name": name, "source": f"generated: {name}, data_seed={data_seed}", "origin": origin,
            "size": sum(sizes.values()), "splits": dict(sizes),
            "split": f"independent draws per split from data_seed={data_seed}", **extra}


@dataclass
class AddingConfig:
    name: str = "adding"
    length: int = 100  # T, steps per sequence (the literature uses 50 to 750)
    n_train: int = 10000
    n_val: int = 1000
    n_test: int = 1000
    data_seed: int = 0  # fixes the data; apart from `seed`, so every trial sees the same sequences
    seq_len: Optional[int] = None  # not used (the length is `length`); refused when set

    def load(self) -> Adding:
        sizes = {"train": self.n_train, "val": self.n_val, "test": self.n_test}
        _check(self.name, self.seq_len, sizes, self.length, 2)
        rng = np.random.default_rng(self.data_seed)
        x, y = {}, {}
        for split in SPLITS:
            x[split], y[split] = adding_problem(rng, sizes[split], self.length)
        mean = float(y["train"].mean())
        task = Adding(name=self.name, metric=Metric("mse", "minimize", "squared error"), card={},
                      n_features=2, n_outputs=1,
                      x={s: torch.from_numpy(v) for s, v in x.items()},
                      y={s: torch.from_numpy(v) for s, v in y.items()})
        task.baseline = {"name": f"the training targets' mean ({mean:.4f})",
                         **{s: float(((y[s].astype(float) - mean) ** 2).mean()) for s in ("val", "test")}}
        task.card = _card(self.name, "adding problem (Hochreiter & Schmidhuber 1997)", sizes, self.data_seed,
                          {"length": self.length, "range": {"target_min": 0.0, "target_max": 2.0},
                           "layout": "[T, 2]: value in U(0,1), marker; one marker in each half"})
        return task


def adding_problem(rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    values = rng.random((n, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    markers = np.zeros((n, length), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = markers[rows, second] = 1.0
    target = (values[rows, first] + values[rows, second]).astype(np.float32)
    return np.stack([values, markers], axis=-1), target[:, None]


@dataclass
class CopyConfig:
    name: str = "copy"
    length: int = 50  # T, the delay: the delimiter comes T steps after the last symbol
    symbols: int = 10  # K, symbols to copy
    alphabet: int = 8
    n_train: int = 10000
    n_val: int = 1000
    n_test: int = 1000
    data_seed: int = 0
    seq_len: Optional[int] = None  # not used (sequences are length + 2 * symbols long); refused when set

    def load(self) -> Copy:
        sizes = {"train": self.n_train, "val": self.n_val, "test": self.n_test}
        _check(self.name, self.seq_len, sizes, self.length, 1)
        if self.symbols < 1 or self.alphabet < 2:
            raise UserError(f"dataset.symbols={self.symbols}, dataset.alphabet={self.alphabet}: copy needs at least "
                            "1 symbol from an alphabet of at least 2")
        rng = np.random.default_rng(self.data_seed)
        tokens, targets = {}, {}
        for split in SPLITS:
            tokens[split], targets[split] = copy_task(rng, sizes[split], self.length, self.symbols, self.alphabet)
        task = Copy(name=self.name, metric=Metric("accuracy", "maximize", "% of copied symbols"), card={},
                    n_features=self.alphabet + 2, n_outputs=self.alphabet,
                    tokens={s: torch.from_numpy(v) for s, v in tokens.items()},
                    targets={s: torch.from_numpy(v) for s, v in targets.items()})
        train = targets["train"][targets["train"] != IGNORE]
        guess = int(np.bincount(train, minlength=self.alphabet).argmax())
        task.baseline = {"name": f"chance: always the most frequent training symbol (1 in {self.alphabet})"}
        for split in ("val", "test"):
            scored = targets[split][targets[split] != IGNORE]
            task.baseline[split] = 100.0 * float((scored == guess).mean())
        task.card = _card(self.name, "copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016)", sizes,
                          self.data_seed,
                          {"length": self.length, "symbols": self.symbols, "classes": self.alphabet,
                           "steps": self.length + 2 * self.symbols,
                           "layout": f"ids 0..{self.alphabet - 1} symbols, {self.alphabet} blank, "
                                     f"{self.alphabet + 1} delimiter; one-hot inputs"})
        return task


def copy_task(rng: np.random.Generator, n: int, length: int, symbols: int,
              alphabet: int) -> tuple[np.ndarray, np.ndarray]:
    """Input token ids and targets ([n, length + 2 K]); targets are IGNORE except at the last K steps."""
    blank, delimiter = alphabet, alphabet + 1
    steps = length + 2 * symbols
    data = rng.integers(0, alphabet, (n, symbols))
    tokens = np.full((n, steps), blank, dtype=np.int64)
    tokens[:, :symbols] = data
    tokens[:, symbols + length - 1] = delimiter
    targets = np.full((n, steps), IGNORE, dtype=np.int64)
    targets[:, -symbols:] = data
    return tokens, targets
