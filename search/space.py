"""The search space, declared in YAML (`conf/space/`), turned into `trial.suggest_*` calls.

Each key is the config path the value goes to (`model.hidden_size`); the Optuna parameter takes the last
part of the path as its name (`hidden_size`), so the cell type is the parameter `cell`. A `when` entry
makes a parameter conditional on values already set in the trial's config, in YAML order:
`model.forget_bias: {type: float, low: 0, high: 3, when: {model.cell: lstm}}`.
"""

from __future__ import annotations

from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from search.config import check_values
from search.errors import UserError

TYPES = ("int", "float", "categorical")
_UNSET = object()


def param_name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # enums (model.cell) compare by their string


def applies(spec: DictConfig, cfg: DictConfig) -> bool:
    for path, wanted in spec.when.items():
        wanted = list(wanted) if OmegaConf.is_list(wanted) else [wanted]
        if _plain(OmegaConf.select(cfg, path)) not in wanted:
            return False
    return True


def suggest(trial: optuna.Trial, cfg: DictConfig) -> DictConfig:
    """A copy of `cfg` with every applicable searched value drawn from `trial`."""
    trial_cfg = cfg.copy()
    for path, spec in cfg.space.items():
        if not applies(spec, trial_cfg):
            continue
        name = param_name(path)
        if spec.type == "categorical":
            value = trial.suggest_categorical(name, list(spec.choices))
        elif spec.type == "int":
            value = trial.suggest_int(name, int(spec.low), int(spec.high), step=int(spec.step or 1), log=spec.log)
        else:
            value = trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)
        OmegaConf.update(trial_cfg, path, value, merge=False)
    return trial_cfg


def check_space(cfg: DictConfig) -> None:
    """Fail before any training on a space that names no config key, is empty, or reaches a bad value."""
    if not cfg.space:
        raise UserError("the search space is empty (an empty space file, or space=... naming one): nothing would be "
                        "searched; give it at least model.cell, see conf/space/sentiment.yaml")
    names: dict[str, str] = {}
    for path, spec in cfg.space.items():
        where = f"space '{path}'"
        unknown = OmegaConf.select(cfg, path, default=_UNSET) is _UNSET
        if path.split(".")[0] not in ("model", "train", "dataset") or unknown:
            raise UserError(f"{where}: no such key under model, train or dataset; check the spelling in conf/space/")
        if param_name(path) in names:
            taken = names[param_name(path)]
            raise UserError(f"{where}: parameter name '{param_name(path)}' is also taken by '{taken}'")
        names[param_name(path)] = path
        if spec.type not in TYPES:
            raise UserError(f"{where}: type '{spec.type}' is not one of {', '.join(TYPES)}")
        if spec.type == "categorical":
            if not spec.choices:
                raise UserError(f"{where}: a categorical needs a non-empty 'choices' list")
            extremes = list(spec.choices)
        else:
            if spec.low is None or spec.high is None:
                raise UserError(f"{where}: an {spec.type} range needs both 'low' and 'high'")
            if spec.low > spec.high:
                raise UserError(f"{where}: low={spec.low:g} is above high={spec.high:g}; swap them")
            if spec.log and spec.low <= 0:
                raise UserError(f"{where}: a log-scaled range needs low > 0, not {spec.low:g}")
            if spec.type == "int" and (spec.low != int(spec.low) or spec.high != int(spec.high)):
                raise UserError(f"{where}: an int range needs whole-number bounds, not {spec.low}..{spec.high}")
            extremes = [spec.low, spec.high]
        for value in extremes:
            probe = cfg.copy()
            try:
                OmegaConf.update(probe, path, int(value) if spec.type == "int" else value, merge=False)
            except OmegaConfBaseException as e:
                raise UserError(f"{where}: value {value!r} does not fit that key ({str(e).splitlines()[0]})") from None
            try:
                check_values(probe)
            except UserError as e:
                raise UserError(f"{where} reaches {value!r}: {e}") from None
    for path, spec in cfg.space.items():
        for condition in spec.when:
            if OmegaConf.select(cfg, condition, default=_UNSET) is _UNSET:
                raise UserError(f"space '{path}': its 'when' names '{condition}', which is no config key")


def describe(cfg: DictConfig) -> dict:
    """The space as plain data, stored on the study so that a resumed run can check it is the same."""
    return OmegaConf.to_container(cfg.space, resolve=True, enum_to_str=True)
