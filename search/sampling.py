"""The sampler and pruner a run searches with: the configured Optuna ones, per cell for the fair strategies
(search/compare.py), each sampler seeded apart for every run of the study and every worker."""

from __future__ import annotations

import numpy as np
import optuna
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from search.compare import PerCellPruner, PerCellSampler
from search.errors import UserError


def build(kind: str, node: DictConfig):
    """An Optuna sampler or pruner from its `_target_` config."""
    try:
        return instantiate(node)
    except InstantiationException as e:
        cause = e.__cause__ or e
        raise UserError(f"{kind}: cannot build {node.get('_target_')}: {str(cause).splitlines()[0]}; "
                        f"check conf/{kind}/ and the {kind}.* overrides") from None


def cells(cfg: DictConfig) -> list[str]:
    spec = cfg.space.get("model.cell")
    return list(spec.choices) if spec is not None else [cfg.model.cell.value]


def balanced(cfg: DictConfig) -> bool:
    return cfg.compare.strategy.value in ("balanced", "param_matched") and "model.cell" in cfg.space


def sampler_seed(seed: int, run: int, worker: int, cell: int) -> int:
    """The seed of one sampler: each run of a study (a resume, an extension, another machine), each of its
    workers and each per-cell sampler draws from a random state of its own, so that no run proposes again
    what an earlier one trained; all of them follow from `seed`, so a study can be run again as it was."""
    return int(np.random.SeedSequence([seed % 2**63, run, worker, cell]).generate_state(1, np.uint32)[0])


def make_sampler(cfg: DictConfig, run: int, worker: int) -> optuna.samplers.BaseSampler:
    """The configured sampler, seeded for this run and worker, and one per cell for the balanced strategies."""

    def seeded(cell: int) -> optuna.samplers.BaseSampler:
        node = cfg.sampler.copy()
        if "seed" in node:
            node.seed = sampler_seed(cfg.seed, run, worker, cell)
        return build("sampler", node)

    return PerCellSampler(seeded, cells(cfg)) if balanced(cfg) else seeded(0)


def make_pruner(cfg: DictConfig) -> optuna.pruners.BasePruner:
    return PerCellPruner(build("pruner", cfg.pruner))
