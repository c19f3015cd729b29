"""Forecasting from any CSV: a date column, the target column, and optional further value columns as inputs.

A daily OHLC file is the typical case: `dataset.target=Close dataset.features=[Open,High,Low,Volume]
dataset.transform=log_returns`. The model sees windows of `seq_len` steps (every value column, the target
first) and predicts the target `horizon` steps after the window's last step. The split is chronological
(the last `test_size` steps are test, the `val_size` before them validation); transforms are fixed, and
the standardisation of every column is fitted on the training rows only. RMSE is on the original scale of
the target: with `log_returns` the model predicts the log return over the horizon and the forecast is the
last observed value times exp(that return), so the RMSE is in the target's own unit (e.g. price), directly
comparable to the last-value baseline, which is the same forecast with a return of zero.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from search.datasets._files import decode, require_file
from search.datasets._forecast import forecasting_task, lag_rmse
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.forecasting import Forecasting

log = logging.getLogger(__name__)


class Transform(Enum):
    none = "none"  # the values as they are
    log = "log"  # log(value): for series whose swings grow with their level; values must be > 0
    log_returns = "log_returns"  # log(value_t / value_t-1): for prices; values must be > 0


@dataclass
class SeriesCsvConfig:
    name: str = "series_csv"
    path: str | None = None  # the CSV file (required)
    date_column: str | None = None  # null: the first column
    date_format: str | None = None  # e.g. "%Y-%m-%d" or "%d/%m/%Y"; null: pandas infers it
    target: str | None = None  # the column to forecast; null: the only value column besides the date
    features: list[str] = field(default_factory=list)  # further value columns the model sees beside the target
    delimiter: str = ","
    encoding: str = "utf-8"
    horizon: int = 1  # predict the target this many steps after the window's last step
    transform: Transform = Transform.none  # none | log | log_returns (prices: predict the log return over the horizon)
    feature_transform: Transform | None = None  # null: the same as transform
    val_size: float = 0.15  # chronological; below 1: a fraction of the rows; 1 or more: a number of rows
    test_size: float = 0.15  # the last rows; standardisation is fitted on the rows before validation only
    season: int | None = None  # period of a seasonal-naive baseline (12 monthly, 5 trading days, 7 daily)
    unit: str | None = None  # the target's unit, shown with the RMSE; null: the target column's name
    seq_len: int = 30  # lookback window in steps; usually searched (space/series_csv)

    def load(self) -> Forecasting:
        if not self.path:
            raise UserError("series_csv: no file; set dataset.path=FILE.csv (a date column and value columns), "
                            "and dataset.target=COLUMN")
        path = Path(self.path).expanduser()
        frame = _read(path, self.delimiter, self.encoding)
        columns = [str(c) for c in frame.columns]
        date_column = self.date_column if self.date_column is not None else columns[0]
        _require(path, columns, [date_column], "dataset.date_column")
        target = self.target if self.target is not None else _only_value_column(path, frame, columns, date_column)
        _require(path, columns, [target], "dataset.target")
        _require(path, columns, list(self.features), "dataset.features")
        repeated = {c for c in self.features if c in (date_column, target) or list(self.features).count(c) > 1}
        if repeated:
            raise UserError(f"{path}: dataset.features names {', '.join(sorted(repeated))} more than once or as the "
                            "date or target column; list each further input column once")

        dates = _dates(path, frame[date_column], date_column, self.date_format)
        values = {c: _numbers(path, frame[c], c) for c in [target, *self.features]}
        order, ordered_note = _chronological(path, dates)
        dates = dates[order]
        values = {c: v[order] for c, v in values.items()}
        rows = order + 2  # line numbers in the file (after the header), for messages
        return self._task(path, dates, values, target, rows, ordered_note)

    def _sizes(self, path: Path, n: int) -> tuple[int, int]:
        sizes = []
        for key, value in (("val_size", self.val_size), ("test_size", self.test_size)):
            if value <= 0 or (value >= 1 and value != int(value)):
                raise UserError(f"dataset.{key}={value}: give a fraction in (0, 1) or a whole number of rows")
            sizes.append(max(1, round(value * n)) if value < 1 else int(value))
        return sizes[0], sizes[1]

    def _task(self, path: Path, dates: pd.DatetimeIndex, values: dict, target: str, rows: np.ndarray,
              ordered_note: str | None) -> Forecasting:
        n, horizon = len(dates), self.horizon
        if horizon < 1:
            raise UserError(f"dataset.horizon={horizon}: it must be a whole number of steps >= 1")
        n_val, n_test = self._sizes(path, n)
        train_end = n - n_val - n_test
        returns = self.transform is Transform.log_returns
        feature_transform = self.feature_transform or self.transform
        first_input = 1 if returns or feature_transform is Transform.log_returns else 0
        original = values[target]
        columns = [target, *self.features]
        inputs = np.stack([_transform(path, values[c], c, self.transform, rows, "dataset.transform") if c == target
                           else _transform(path, values[c], c, feature_transform, rows, "dataset.feature_transform")
                           for c in columns], axis=1)
        if train_end - first_input - horizon < 1:
            raise UserError(f"{path}: the series is too short: {n} rows leave {max(train_end, 0)} for training "
                            f"(val {n_val}, test {n_test}), fewer than the horizon ({horizon}) plus one window step"
                            f"{' plus the first row that log returns use up' if first_input else ''}; "
                            "use a longer series or lower dataset.val_size, dataset.test_size or dataset.horizon")
        bounds = {"train": (0, train_end), "val": (train_end, n - n_test), "test": (n - n_test, n)}
        task = forecasting_task(self.name, self._unit(target), inputs, columns, original, bounds, str(path), horizon,
                                first_input, returns, log=self.transform is Transform.log)
        baselines = self._baselines(path, original, bounds, train_end)
        task.baseline = dict(min(baselines, key=lambda b: b["val"]))  # the better on validation; both in the card
        task.card = self._card(path, dates, original, target, bounds, columns, baselines, ordered_note)
        return task

    def _unit(self, target: str) -> str:
        return self.unit or target  # always the target's own unit: RMSE is on the original scale (card: metric_on)

    def _baselines(self, path: Path, original: np.ndarray, bounds: dict, train_end: int) -> list[dict]:
        found = [{"name": f"last value (the value {self.horizon} step{'s' if self.horizon > 1 else ''} before)",
                  **lag_rmse(original, bounds, self.horizon)}]
        if self.season:
            if self.season < 1:
                raise UserError(f"dataset.season={self.season}: give a period of at least 1 step, or null")
            lag = self.season * math.ceil(self.horizon / self.season)  # the latest same-season value seen
            if lag > train_end:
                raise UserError(f"{path}: dataset.season={self.season} needs {lag} training rows before the "
                                f"validation part, there are {train_end}; lower the season or val/test sizes")
            found.append({"name": f"seasonal naive (the value {lag} steps before)", **lag_rmse(original, bounds, lag)})
        return found

    def _card(self, path, dates, original, target, bounds, columns, baselines, ordered_note) -> dict:
        fmt = "%Y-%m-%d" if (dates == dates.normalize()).all() else "%Y-%m-%d %H:%M:%S"
        day = [d.strftime(fmt) for d in dates]
        feature_transform = (self.feature_transform or self.transform).value
        return {
            "name": self.name,
            "source": f"file: {path.resolve()}",
            "origin": f"column {target} of {path.name}",
            "size": len(dates),
            "target": target,
            "features": list(self.features),
            "range": {"first": day[0], "last": day[-1], "min": float(original.min()), "max": float(original.max())},
            "splits": {s: f"{day[a]}..{day[b - 1]} ({b - a} rows)" for s, (a, b) in bounds.items()},
            "split": f"chronological: the last {bounds['test'][1] - bounds['test'][0]} rows test, the "
                     f"{bounds['val'][1] - bounds['val'][0]} before them validation",
            "order": ordered_note or "the file's order (dates increasing)",
            "horizon": self.horizon,
            "transform": {"target": self.transform.value, "features": feature_transform},
            "scaling": "each input column standardised with statistics of the training rows only",
            "metric_on": ("the target on its original scale, the forecast rebuilt as the last observed value x "
                          "exp(predicted log return over the horizon)" if self.transform is Transform.log_returns
                          else "the target on its original scale"),
            "baselines": {b["name"]: {"val": b["val"], "test": b["test"]} for b in baselines},
            "baseline_choice": "the baseline shown beside the models is the one with the lower validation RMSE",
        }


def _read(path: Path, delimiter: str, encoding: str) -> pd.DataFrame:
    require_file(path, "dataset.path", "a CSV with a date column and value columns")
    raw = path.read_bytes()
    if not raw.strip():
        raise UserError(f"{path}: the file is empty; give a CSV with a header and one row per time step")
    text = decode(path, raw, encoding)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise UserError(f"{path}: not a readable CSV ({str(e).strip().splitlines()[0]}); check "
                        f"dataset.delimiter (now {delimiter!r})") from None
    if frame.empty:
        raise UserError(f"{path}: no data rows after the header ({','.join(map(str, frame.columns))})")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _require(path: Path, columns: list[str], wanted: list[str], key: str) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise UserError(f"{path}: no column {missing[0]!r} ({key}); the columns are: {', '.join(columns)}")


def _only_value_column(path: Path, frame: pd.DataFrame, columns: list[str], date_column: str) -> str:
    others = [c for c in columns if c != date_column]
    numeric = [c for c in others if pd.to_numeric(frame[c], errors="coerce").notna().all()]
    if len(others) == 1:
        return others[0]
    raise UserError(f"{path}: name the column to forecast with dataset.target=COLUMN (the numeric columns are: "
                    f"{', '.join(numeric) or 'none'})")


def _dates(path: Path, column: pd.Series, name: str, date_format: str | None) -> pd.DatetimeIndex:
    text = column.str.strip()
    try:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce")
    except (ValueError, TypeError) as e:
        raise UserError(f"{path}: column {name} cannot be read as dates ({str(e).splitlines()[0]}); set "
                        "dataset.date_format (e.g. %Y-%m-%d)") from None
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        row = int(bad[0])
        how = (f"dataset.date_format={date_format!r}" if date_format
               else "the format pandas inferred from the first rows")
        raise UserError(f"{path}: row {row + 2}: {name}={column.iloc[row]!r} is not a date in {how}; fix the row "
                        "or set dataset.date_format (e.g. %Y-%m-%d)")
    return pd.DatetimeIndex(parsed)


def _numbers(path: Path, column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column.str.strip(), errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        row = int(bad[0])
        raw = column.iloc[row]
        what = "is empty" if not str(raw).strip() else f"is {raw!r}, not a finite number"
        more = f" ({len(bad)} such rows in the column)" if len(bad) > 1 else ""
        raise UserError(f"{path}: row {row + 2}: {name} {what}{more}; fill or remove the row: nothing is "
                        "interpolated or dropped silently")
    return values


def _chronological(path: Path, dates: pd.DatetimeIndex) -> tuple[np.ndarray, str | None]:
    """Row order by date; duplicate dates are an error, a file in another order is sorted (and said so)."""
    order = np.argsort(dates.to_numpy(), kind="stable")
    ordered = dates[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(same):
        a, b = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        raise UserError(f"{path}: rows {a + 2} and {b + 2} have the same date {ordered[same[0]]}; one row per step")
    if np.array_equal(order, np.arange(len(dates))):
        return order, None
    note = "newest first in the file" if np.array_equal(order, np.arange(len(dates))[::-1]) else "not in date order"
    log.warning("%s: rows were %s; sorted by date", path, note)
    return order, f"sorted by date (the rows were {note})"


def _transform(path: Path, values: np.ndarray, name: str, transform: Transform, rows: np.ndarray,
               key: str) -> np.ndarray:
    if transform is Transform.none:
        return values.astype(float)
    bad = np.flatnonzero(values <= 0)
    if len(bad):
        raise UserError(f"{path}: row {rows[bad[0]]}: {name}={values[bad[0]]:g} is not positive, which "
                        f"{key}={transform.value} needs (a logarithm); set {key}=none")
    logs = np.log(values)
    if transform is Transform.log:
        return logs
    out = np.zeros_like(logs)
    out[1:] = logs[1:] - logs[:-1]
    return out
