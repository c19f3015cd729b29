"""cellsearch from Python (a notebook, a script): the study that `python -m search` would run, with its verdict.

    import search
    result = search.run(["study=sequences", "dataset.path=ECG200_TRAIN.tsv", "dataset.test_path=ECG200_TEST.tsv"])
    result.verdict.label, result.verdict.low, result.verdict.high     # e.g. "no clear winner", -1.2, 3.4
    result.study.trials_dataframe()                                   # the Optuna study itself

The overrides are the command line's (a list of "key=value", or a dict); the config is composed by Hydra as
`python -m search` composes it, and a bad one raises `search.errors.UserError` with the command line's one-line
message. The study is stored where the command line stores it (storage.url), so `python -m reports`, the
dashboard and a later `python -m search` with the same overrides find and resume it. Ctrl-C (a notebook's
interrupt) ends the running trial at the next safe point, as on the command line; the previous handlers come
back when the run ends.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search.errors import UserError

if TYPE_CHECKING:
    import optuna

    from reports.verdict import Verdict


@dataclass
class Result:
    study: optuna.Study  # the Optuna study, as stored
    verdict: Verdict  # the report's verdict (label, effect, interval low/high, winner, seeds, ...)
    text: str  # the verdict in words, as the terminal prints it


def overrides_list(overrides: Sequence[str] | Mapping[str, Any] | None) -> list[str]:
    """A dict {"search.n_trials": 8, "model.cell": None} as Hydra overrides ["search.n_trials=8", "model.cell=null"]."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        raise UserError(f"overrides={overrides!r}: give a list of 'key=value' strings or a dict, not one string")
    if not isinstance(overrides, Mapping):
        return [str(o) for o in overrides]

    def value(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(value(x) for x in v) + "]"
        return str(v)

    return [f"{k}={value(v)}" for k, v in overrides.items()]


def compose(overrides: Sequence[str] | Mapping[str, Any] | None = None):
    """The config `python -m search OVERRIDES` runs with (hydra key removed, HydraConfig set, as Hydra's own run
    does), or UserError with the command line's one-line message."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    from search import config_dir
    from search.cli import composition_error
    from search.config import check_values, register_configs

    args = overrides_list(overrides)
    register_configs()
    problem = composition_error(args)
    if problem:
        raise UserError(problem)
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = hydra_compose("config", overrides=args, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    check_values(cfg)
    return cfg


def run(overrides: Sequence[str] | Mapping[str, Any] | None = None) -> Result:
    """Run the study the overrides describe (search, then re-evaluation) and return it with its verdict."""
    from search import interrupt
    from search.storage.open import open_storage
    from search.study import run as run_study
    from search.summary import decided

    cfg = compose(overrides)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s")  # the progress lines, as on the command line
    if cfg.cluster.kind.value == "slurm":
        raise UserError("cluster=slurm submits jobs and returns before any trial runs; use the command line "
                        "(cellsearch cluster=slurm ...) and read the verdict with cellsearch-report")
    main = threading.current_thread() is threading.main_thread()
    previous = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) if main else None
    if main:
        interrupt.install()
    try:
        study = run_study(cfg)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
    verdict, text = decided(open_storage(cfg.storage, cfg.workers), cfg.search.study_name)  # storage.url resolved
    return Result(study, verdict, text)
