"""The peer for bench_sweeper.py: the sentiment study written the usual way for the Hydra Optuna sweeper
(a Hydra task function that builds the data and the model and returns the validation score; one process,
one trial after another, no pruning: the sweeper has none). It trains with cellsearch's own data loader,
model and trainer, so that the two sides differ only in how the search is run.

Runs in a virtual environment of its own (hydra-optuna-sweeper pins optuna < 3), with the repository root
on PYTHONPATH; bench_sweeper.py sets that up.
"""

import hydra
import torch
from omegaconf import DictConfig

from search.datasets.rt_polarity import RtPolarityConfig
from search.model import build_model
from search.train import fit


@hydra.main(config_path="conf", config_name="config", version_base="1.1")
def train(cfg: DictConfig) -> float:
    task = RtPolarityConfig(seq_len=cfg.dataset.seq_len).load()  # per trial, as a task function usually does
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, task)
    result = fit(model, task, cfg.dataset.seq_len, cfg.train, torch.device("cpu"),
                 torch.Generator().manual_seed(cfg.seed))
    return result.best_value


if __name__ == "__main__":
    train()
