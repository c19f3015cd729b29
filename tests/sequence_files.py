"""Small files in the formats `dataset=sequences` reads, made from the shared real data (airline passengers,
Nottingham piano rolls) or generated (a UCR-format classification set), for the tests and
tests/benchmarks/bench_sequences.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def airline(data_dir: Path) -> np.ndarray:
    return pd.read_csv(data_dir / "airline_passengers" / "airline-passengers.csv")["Passengers"].to_numpy(float)


def airline_ucr(data_dir: Path, folder: Path, window: int = 12) -> tuple[Path, Path]:
    """Airline windows as UCR rows (tab separated, label first): label 1 when the next month's count is higher
    than the window's last, else 2; the last 30 windows are the test file (`_TEST`), as the archive ships it."""
    series = airline(data_dir)
    rows = [[1 if series[i + window] > series[i + window - 1] else 2, *series[i:i + window]]
            for i in range(len(series) - window)]
    train, test = folder / "Airline_TRAIN.tsv", folder / "Airline_TEST.tsv"
    for path, part in ((train, rows[:-30]), (test, rows[-30:])):
        path.write_text("".join("\t".join(f"{v:g}" for v in row) + "\n" for row in part))
    return train, test


def airline_long(data_dir: Path, path: Path) -> Path:
    """The airline series in long format: one sequence a year (id), its months (time, written shuffled), the
    passengers (feature) and a word label: 'late' for the years from 1955, else 'early'."""
    series = airline(data_dir)
    rows = [{"id": 1949 + i // 12, "time": i % 12 + 1, "passengers": v, "label": "late" if i // 12 >= 6 else "early"}
            for i, v in enumerate(series)]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def nottingham_npz(data_dir: Path, path: Path, tunes: int = 80, steps: int = 64) -> Path:
    """The first `tunes` training tunes of Nottingham as a padded .npz: X [N, T, 88] (their first `steps`
    steps), lengths, and y the mean polyphony (keys sounding a step): a regression target."""
    import scipy.io

    rolls = [np.asarray(r, float)[:steps] for r in scipy.io.loadmat(str(data_dir / "polyphonic" / "Nottingham.mat"))
             ["traindata"][0][:tunes]]
    x = np.zeros((len(rolls), max(len(r) for r in rolls), 88))
    for i, r in enumerate(rolls):
        x[i, :len(r)] = r
    np.savez(path, X=x, lengths=np.array([len(r) for r in rolls]), y=np.array([r.sum(1).mean() for r in rolls]))
    return path


def generated_ucr(path: Path, n: int = 600, low: int = 60, high: int = 120, seed: int = 0) -> Path:
    """A generated UCR-format set (comma separated, NaN-padded rows of different lengths): noise with one motif
    (a bump, a dip or a flat pulse, 8 steps) at a random place in the first half; the class is the motif, so a model
    must carry it to the sequence's end. Labels 1, 2, 3."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        length, label = int(rng.integers(low, high + 1)), int(rng.integers(1, 4))
        values = rng.normal(0, 0.5, length)
        start = int(rng.integers(0, length // 2 - 8))
        values[start:start + 8] += {1: np.hanning(8) * 3, 2: -np.hanning(8) * 3, 3: np.full(8, 2.0)}[label]
        lines.append(",".join([str(label), *(f"{v:.4f}" for v in values), *["NaN"] * (high - length)]))
    path.write_text("\n".join(lines) + "\n")
    return path
