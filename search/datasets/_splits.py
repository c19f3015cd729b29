"""The split names, and seeded stratified splits: every class is split in the same proportions, fixed by a
seed of its own (`dataset.split_seed`), so that every trial of a study shares them."""

from __future__ import annotations

import numpy as np

from search.errors import UserError

SPLITS = ("train", "val", "test")


def stratified_split(labels: np.ndarray, val_fraction: float, test_fraction: float,
                     seed: int) -> dict[str, np.ndarray]:
    """Row indices per split; every class is split in the same proportions; fixed by `seed`."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise UserError(f"dataset.val_fraction={val_fraction} and dataset.test_fraction={test_fraction} "
                        "must each lie in (0, 1) and add up to less than 1")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_val, n_test = round(len(rows) * val_fraction), round(len(rows) * test_fraction)
        parts["val"].append(rows[:n_val])
        parts["test"].append(rows[n_val:n_val + n_test])
        parts["train"].append(rows[n_val + n_test:])
    return {s: np.sort(np.concatenate(p)) for s, p in parts.items()}


def holdout(labels: np.ndarray, fraction: float, seed: int, key: str) -> np.ndarray:
    """A boolean mask of `fraction` of each class's rows, fixed by `seed` (one carved split; two use
    stratified_split)."""
    if not 0 < fraction < 1:
        raise UserError(f"{key}={fraction}: it must lie in (0, 1)")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        held[rows[: round(len(rows) * fraction)]] = True
    return held
