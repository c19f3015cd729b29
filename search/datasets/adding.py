"""The adding problem (Hochreiter & Schmidhuber 1997), in the form of Le, Jaitly & Hinton 2015 and Arjovsky,
Shah & Bengio 2016, generated from `dataset.data_seed`: each input step is (value in U(0, 1), marker);
exactly two markers are 1, one in each half of the sequence; the target is the sum of the two marked
values. Metric: mean squared error; baseline: always predicting the training targets' mean (about 0.167,
the variance of a sum of two uniforms). See search/datasets/_long_memory.py for what it shares with copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from search.datasets import _long_memory
from search.datasets._splits import SPLITS

if TYPE_CHECKING:
    from search.tasks.long_memory import Adding


@dataclass
class AddingConfig:
    name: str = "adding"
    length: int = 100  # T, steps per sequence (the literature uses 50 to 750; longer is harder)
    n_train: int = 10000
    n_val: int = 1000
    n_test: int = 1000
    data_seed: int = 0  # fixes the data; apart from `seed`, so every trial sees the same sequences
    seq_len: int | None = None  # not used (the length is `length`); refused when set

    def load(self) -> Adding:
        import torch  # here, not above: dataset schemas stay torch-free (search/datasets/__init__.py)

        from search.tasks import Metric
        from search.tasks.long_memory import Adding

        sizes = {"train": self.n_train, "val": self.n_val, "test": self.n_test}
        _long_memory.check(self.name, self.seq_len, sizes, self.length, 2)
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
        task.card = _long_memory.card(self.name, "adding problem (Hochreiter & Schmidhuber 1997)", sizes,
                                      self.data_seed,
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
