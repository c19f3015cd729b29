"""Your own loader, a Python function: `dataset=python dataset.loader=package.module:function` (or the dotted
`package.module.function`), with keyword arguments in `dataset.args`, or in Hydra's `_target_` style:

    dataset:
      loader: {_target_: mypackage.data.load_windows, subject: 3}

The module is imported from the Python path, with the directory the command runs in first on it (so that a
`myloader.py` beside your data works as `dataset.loader=myloader:load`). The function returns one of

- `(X, y)` or `(X, y, lengths)`: X an array N x T or N x T x F (or a list of [T_i, F] arrays of any lengths),
  y one label or value a sequence, lengths the real steps of each row of a padded X;
- a dict with `X`, `y` (optional `lengths`), or with the splits apart: `X_train`, `y_train`, `X_test`, `y_test`
  (optional `X_val`, `y_val`, `lengths_<split>`), as a .npz holds them (search/datasets/_sequence_files.py);
- a `search.tasks.Task` built by hand, used as it is once its shape is checked.

Arrays get every check, the kind inference, splits, scaling and baselines of `dataset=sequences`
(search/datasets/_sequence_arrays.py).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from search.datasets._seq_len import refuse_seq_len
from search.datasets._sequence_arrays import Kind, Settings, sequence_task
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks import Task

SHAPES = ("return (X, y), (X, y, lengths), a dict with X and y (or X_train, y_train, X_test, y_test), "
          "or a search.tasks.Task")


@dataclass
class PythonConfig:
    name: str = "python"
    loader: Any = None  # "package.module:function", or {_target_: package.module.function, arg: value, ...}
    args: dict[str, Any] = field(default_factory=dict)  # keyword arguments the function is called with
    kind: Kind = Kind.auto  # auto | classification | regression (arrays only)
    val_fraction: float = 0.15  # carved from the training sequences when the function gives no val split
    test_fraction: float = 0.15  # carved when it gives no test split
    split_seed: int = 0
    unit: str | None = None  # regression: the target's unit, shown with the RMSE
    seq_len: int | None = None  # not used: each sequence is read whole

    def load(self) -> Task:
        from search.datasets._sequence_files import arrays_read
        from search.tasks import Task

        refuse_seq_len(self.seq_len, self.name)
        target, kwargs = self._target()
        function = resolve(target)
        result = function(**kwargs)
        source = f"python: {target}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        if isinstance(result, Task):
            return _checked_task(result, target, source)
        if isinstance(result, Mapping):
            arrays = dict(result)
        elif isinstance(result, (tuple, list)) and len(result) in (2, 3):
            arrays = dict(zip(("X", "y", "lengths"), result))
        else:
            raise UserError(f"dataset.loader={target} returned {type(result).__name__}; {SHAPES}")
        settings = Settings(self.name, self.kind, self.val_fraction, self.test_fraction, self.split_seed, self.unit)
        return sequence_task(arrays_read(arrays, f"{target}()"), settings, source, f"returned by {target}")

    def _target(self) -> tuple[str, dict]:
        loader, kwargs = self.loader, dict(self.args)
        if isinstance(loader, Mapping):
            if "_target_" not in loader:
                raise UserError(f"dataset.loader has no _target_ (it has {', '.join(map(str, loader)) or 'nothing'}); "
                                "write dataset.loader=package.module:function or {_target_: ..., arg: value}")
            kwargs = {**{k: v for k, v in loader.items() if k != "_target_"}, **kwargs}
            loader = loader["_target_"]
        if not isinstance(loader, str) or not loader.strip():
            raise UserError("dataset=python needs dataset.loader=package.module:function (a function that returns "
                            "X and y)")
        return loader.strip(), kwargs


def resolve(target: str):
    """The function that `package.module:function` or `package.module.function` names; one line when it is not
    there. An error raised inside the user's module while it imports is theirs and keeps its traceback."""
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # `cellsearch` (a console script) does not put the cwd on the path
    module_name, _, attribute = target.partition(":") if ":" in target else target.rpartition(".")
    if not module_name or not attribute:
        raise UserError(f"dataset.loader={target}: write package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not module_name.startswith(e.name):
            raise
        raise UserError(f"dataset.loader={target}: no module {e.name!r} on the Python path (from {os.getcwd()}); "
                        "install it or run from the folder that holds it") from None
    value = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise UserError(f"dataset.loader={target}: {module_name} has no {attribute!r}")
        value = getattr(value, part)
    if not callable(value):
        raise UserError(f"dataset.loader={target} is a {type(value).__name__}, not a function")
    return value


def _checked_task(task: Task, target: str, source: str) -> Task:
    from search.tasks import Metric

    problems = []
    if not isinstance(task.metric, Metric) or task.metric.direction not in ("maximize", "minimize"):
        problems.append("metric must be a search.tasks.Metric with direction maximize or minimize")
    if not {"name", "val", "test"} <= set(task.baseline):
        problems.append("baseline must have name, val and test (the score of a model-free guess)")
    if not (task.vocab_size or task.n_features) or not isinstance(task.n_outputs, int) or task.n_outputs < 1:
        problems.append("vocab_size (token ids) or n_features (values), and n_outputs >= 1, must be set")
    if problems:
        raise UserError(f"dataset.loader={target} returned a {type(task).__name__} whose {problems[0]}")
    task.card = {"source": source, **(task.card or {})}
    return task
