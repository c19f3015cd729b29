"""The copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016), generated from `dataset.data_seed`:
K symbols from an alphabet of `alphabet` (8), then `length` - 1 blanks and a delimiter, then K blanks during
which the model must output the K symbols in order; inputs are one-hot (alphabet + blank + delimiter).
Loss: cross-entropy on the K output positions only. Metric: accuracy in % over the copied symbols;
baseline: chance, i.e. always the most frequent training symbol (about 100/8 %). See
search/datasets/_long_memory.py for what it shares with adding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from search.datasets import _long_memory
from search.datasets._splits import SPLITS
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.long_memory import Copy


@dataclass
class CopyConfig:
    name: str = "copy"
    length: int = 50  # T, the delay: the delimiter comes T steps after the last symbol; sequences are T + 2K long
    symbols: int = 10  # K, symbols to copy
    alphabet: int = 8
    n_train: int = 10000
    n_val: int = 1000
    n_test: int = 1000
    data_seed: int = 0  # fixes the sequences; apart from `seed`, so every trial sees the same data
    seq_len: int | None = None  # not used (sequences are length + 2 * symbols long); refused when set

    def load(self) -> Copy:
        import torch  # here, not above: dataset schemas stay torch-free (search/datasets/__init__.py)

        from search.tasks import IGNORE, Metric
        from search.tasks.long_memory import Copy

        sizes = {"train": self.n_train, "val": self.n_val, "test": self.n_test}
        _long_memory.check(self.name, self.seq_len, sizes, self.length, 1)
        if self.symbols < 1 or self.alphabet < 2:
            raise UserError(f"dataset.symbols={self.symbols}, dataset.alphabet={self.alphabet}: copy needs at least "
                            "1 symbol from an alphabet of at least 2")
        rng = np.random.default_rng(self.data_seed)
        tokens, targets = {}, {}
        for split in SPLITS:
            tokens[split], targets[split] = copy_task(rng, sizes[split], self.length, self.symbols, self.alphabet,
                                                      IGNORE)
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
        task.card = _long_memory.card(self.name, "copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016)",
                                      sizes, self.data_seed,
                                      {"length": self.length, "symbols": self.symbols, "classes": self.alphabet,
                                       "steps": self.length + 2 * self.symbols,
                                       "layout": f"ids 0..{self.alphabet - 1} symbols, {self.alphabet} blank, "
                                                 f"{self.alphabet + 1} delimiter; one-hot inputs"})
        return task


def copy_task(rng: np.random.Generator, n: int, length: int, symbols: int, alphabet: int,
              ignore: int) -> tuple[np.ndarray, np.ndarray]:
    """Input token ids and targets ([n, length + 2 K]); targets are `ignore` except at the last K steps."""
    blank, delimiter = alphabet, alphabet + 1
    steps = length + 2 * symbols
    data = rng.integers(0, alphabet, (n, symbols))
    tokens = np.full((n, steps), blank, dtype=np.int64)
    tokens[:, :symbols] = data
    tokens[:, symbols + length - 1] = delimiter
    targets = np.full((n, steps), ignore, dtype=np.int64)
    targets[:, -symbols:] = data
    return tokens, targets
