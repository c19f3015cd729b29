"""One-line errors for overrides that do not compose (`model.cell=rnn`, `study=nosuch`, a space file that is
not YAML) or that add a key nothing reads (`+train.lrr=0.5`).

Hydra reports such errors over several lines; before handing over to `@hydra.main`, the overrides are
composed once here and any failure is printed as a single line with a non-zero exit.
"""

import sys

import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from search import config_dir
from search.storage.urls import hide_secrets, mask

_DETAIL = ("full_key:", "reference_type", "object_type", "Set the environment variable", "provider=")


_UNSET = object()


def _compose(overrides: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir(), version_base="1.3"):
        return compose("config", overrides=overrides)


def composition_error(overrides: list[str]) -> str | None:
    try:
        _compose(overrides)
    except (HydraException, OmegaConfBaseException, ValueError, yaml.YAMLError) as e:
        parts = [str(e)] + ([str(e.__cause__)] if e.__cause__ is not None else [])
        lines = [line.strip() for part in parts for line in part.splitlines()]
        kept = [line for line in lines if line and not line.startswith(_DETAIL) and line != "Config search path:"]
        return _masked("; ".join(kept).replace(":; ", ": "), overrides)
    return _added_key_error(overrides)


def _masked(message: str, overrides: list[str]) -> str:
    """Hydra quotes a bad override as typed: hide the passwords of every URL given, whatever they hold."""
    for arg in overrides:
        message = hide_secrets(message, arg.split("=", 1)[-1])
    return mask(message)


def _added_key_error(overrides: list[str]) -> str | None:
    """`+key=value` adds a key even where the schema has none, and nothing would read it: a typo passes
    silently. Refuse every added key that the config without it does not have (space entries, a Python loader's
    arguments and Hydra's own settings aside)."""
    for i, arg in enumerate(overrides):
        key = arg.lstrip("+").split("=", 1)[0]
        if not arg.startswith("+") or "/" in key or "@" in key or key.split(".")[0] in ("hydra", "space") \
                or key.startswith("dataset.args."):  # dataset=python: the loader's keyword arguments, any names
            continue
        if OmegaConf.select(_compose(overrides[:i] + overrides[i + 1:]), key, default=_UNSET) is _UNSET:
            return (f"{arg.split('=', 1)[0]}: {key} is not a cellsearch setting (a typo?), and '+' would add it "
                    "unread; see python -m search --help for the keys")
    return None


def check_overrides(argv: list[str]) -> None:
    if any(arg.startswith("-") for arg in argv):  # --help, --cfg, -m ...: Hydra's own business
        return
    problem = composition_error(argv)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
