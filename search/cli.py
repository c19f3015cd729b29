"""One-line errors for overrides that do not compose (`model.cell=rnn`, `study=nosuch`).

Hydra reports such errors over several lines; before handing over to `@hydra.main`, the overrides are
composed once here and any failure is printed as a single line with a non-zero exit.
"""

import sys

from hydra import compose, initialize_config_module
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

_DETAIL = ("full_key:", "reference_type", "object_type", "Set the environment variable", "provider=")


def composition_error(overrides: list[str]) -> str | None:
    try:
        with initialize_config_module("search.conf", version_base="1.3"):
            compose("config", overrides=overrides)
    except (HydraException, OmegaConfBaseException, ValueError) as e:
        parts = [str(e)] + ([str(e.__cause__)] if e.__cause__ is not None else [])
        lines = [line.strip() for part in parts for line in part.splitlines()]
        kept = [line for line in lines if line and not line.startswith(_DETAIL) and line != "Config search path:"]
        return "; ".join(kept).replace(":; ", ": ")
    return None


def check_overrides(argv: list[str]) -> None:
    if any(arg.startswith("-") for arg in argv):  # --help, --cfg, -m ...: Hydra's own business
        return
    problem = composition_error(argv)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
