"""Box & Jenkins international airline passengers: monthly totals in thousands, 1949-01 to 1960-12.

The 144 public-domain figures ship with the package; `dataset.path` (or
`$CELLSEARCH_DATA_DIR/airline_passengers/airline-passengers.csv`) reads them from a `Month,Passengers` CSV
instead. Chronological split: the last `test_months` are test, the `val_months` before them validation.
The series is log-transformed (its seasonality is multiplicative) and standardised with statistics of the
training months only; RMSE is computed back on the original scale, in thousands of passengers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from search.datasets._files import find_data
from search.datasets._forecast import forecasting_task, lag_rmse
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.forecasting import Forecasting

PASSENGERS = (
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
    115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
    145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
    171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
    196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
    204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
    242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278,
    284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
    315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,
    340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
    360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,
    417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
)
CSV_NAME = Path("airline_passengers") / "airline-passengers.csv"


@dataclass
class AirlineConfig:
    name: str = "airline"
    path: str | None = None  # a Month,Passengers CSV; default: $CELLSEARCH_DATA_DIR copy, else bundled figures
    log: bool = True  # model log(passengers): the seasonal swing grows with the level
    val_months: int = 24  # 1957-1958 with the bundled figures
    test_months: int = 24  # 1959-1960
    season: int = 12  # period of the seasonal-naive baseline (the value 12 months earlier)
    seq_len: int = 12  # lookback window in months; usually searched (space/airline)

    def load(self) -> Forecasting:
        path = find_data(self.path or None, CSV_NAME, "a CSV with columns Month,Passengers")
        if path is None:
            months = pd.period_range("1949-01", periods=len(PASSENGERS), freq="M").astype(str)
            values, source = np.asarray(PASSENGERS, dtype=float), "bundled with cellsearch (Box & Jenkins 1976)"
        else:
            months, values = _read_csv(path)
            source = f"file: {path.resolve()}"
        return self._task(list(months), values, source)

    def _task(self, months: list[str], values: np.ndarray, source: str) -> Forecasting:
        n = len(values)
        train_end = n - self.val_months - self.test_months
        if self.val_months < 1 or self.test_months < 1 or train_end < 2 * self.season:
            raise UserError(f"airline: {n} months cannot hold val_months={self.val_months}, test_months="
                            f"{self.test_months} and two seasons of training; lower them")
        bounds = {"train": (0, train_end), "val": (train_end, n - self.test_months), "test": (n - self.test_months, n)}
        transformed = np.log(values) if self.log else values.copy()
        task = forecasting_task(self.name, "thousands of passengers", transformed[:, None], ["Passengers"], values,
                                bounds, f"airline ({source})", log=self.log,
                                constant="a series that does not vary over them cannot be forecast")
        task.baseline = {"name": f"seasonal naive (value {self.season} months earlier)",
                         **lag_rmse(values, bounds, self.season)}
        task.card = {
            "name": self.name,
            "source": source,
            "origin": "Box & Jenkins international airline passengers, monthly totals in thousands",
            "size": n,
            "range": {"first": months[0], "last": months[-1], "min": float(values.min()), "max": float(values.max())},
            "splits": {s: f"{months[a]}..{months[b - 1]} ({b - a} months)" for s, (a, b) in bounds.items()},
            "split": "chronological",
            "scaling": ("log, then " if self.log else "") + "standardised with training-month statistics",
            "last_value_rmse": lag_rmse(values, bounds, 1),
        }
        return task


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from None
    if list(frame.columns[:2]) != ["Month", "Passengers"]:
        raise UserError(f"{path}: expected columns Month,Passengers, found {','.join(map(str, frame.columns))}")
    values = pd.to_numeric(frame["Passengers"], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() | (values <= 0).to_numpy())
    if len(bad):
        row = int(bad[0])
        raise UserError(f"{path}: row {row + 2} has Passengers={frame['Passengers'].iloc[row]!r}, "
                        "not a positive number")
    return frame["Month"].astype(str).tolist(), values.to_numpy(dtype=float)
