"""What `airline` and `series_csv` share: the Forecasting task built from input columns already transformed (log,
log returns, or as they are), standardised with the statistics of the training rows only, and the RMSE of a
lagged-value baseline on the original scale. Each dataset keeps its own reading, checks, baselines' names and card."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.forecasting import Forecasting


def lag_rmse(original: np.ndarray, bounds: dict, lag: int) -> dict[str, float]:
    """RMSE of forecasting each validation and test step by the value `lag` steps before it."""
    return {s: float(np.sqrt(np.mean((original[a:b] - original[a - lag:b - lag]) ** 2)))
            for s, (a, b) in bounds.items() if s != "train"}


def forecasting_task(name: str, unit: str, inputs: np.ndarray, columns: list[str], original: np.ndarray,
                     bounds: dict, where: str, horizon: int = 1, first_input: int = 0, returns: bool = False,
                     log: bool = False, constant: str = "drop it from dataset.features (or the target cannot be "
                                                        "forecast)") -> Forecasting:
    """The task over `inputs` [N, F] (the target's column first, transformed), its targets the first column's
    values `horizon` steps after each window (`log`: to be taken exp of), or with `returns` the log return of
    `original` over the horizon. `first_input` rows (the first, for returns) hold no input. `where` begins an error
    message, `constant` ends the one for a column that does not vary over the training rows."""
    from search.tasks import Metric  # here, not above: the schema stays torch-free (search/datasets/__init__.py)
    from search.tasks.forecasting import Forecasting

    train_end = bounds["train"][1]
    means, stds = inputs[first_input:train_end].mean(axis=0), inputs[first_input:train_end].std(axis=0)
    flat = [c for c, s in zip(columns, stds, strict=True) if not s > 0]
    if flat:
        raise UserError(f"{where}: column {flat[0]} is constant over the {train_end} training rows; {constant}")
    scaled = ((inputs - means) / stds).astype(np.float32)
    scaled[:first_input] = 0.0  # no return before the first row; no window reaches it
    task = Forecasting(name=name, metric=Metric("rmse", "minimize", unit), card={}, n_features=len(columns),
                       n_outputs=1, scaled=scaled, original=original, bounds=bounds, horizon=horizon,
                       first_input=first_input)
    if returns:  # the target: the log return from the last seen value to the one `horizon` steps later
        logs = np.log(original)
        ahead = np.zeros(len(original))
        ahead[horizon:] = logs[horizon:] - logs[:-horizon]
        fit = ahead[first_input + horizon:train_end]  # the training targets (a window has >= 1 step)
        task.mean, task.std, task.returns = float(fit.mean()), float(fit.std()), True
        if not task.std > 0:
            raise UserError(f"{where}: {columns[0]} never changes over the training rows; nothing to forecast")
        task.target = ((ahead - task.mean) / task.std).astype(np.float32)
    else:  # the target is the first input column
        task.mean, task.std, task.log = float(means[0]), float(stds[0]), log
    return task
