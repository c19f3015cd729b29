"""How big a model is, and how it is sized: the one home of the weight counts (without building a model), the
hidden size a GRU or RNN needs to match an LSTM's recurrent weights (compare=param_matched), the largest hidden
size within a parameter budget (model.param_budget), and the memory a configuration needs to train (the warning
before a run whose space's costliest corner may not fit).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from search.errors import UserError
from search.model import GATES
from search.sampling import cells

if TYPE_CHECKING:
    from search.tasks import Task

log = logging.getLogger(__name__)


def recurrent_weights(cell: str, input_size: int, hidden: int, layers: int) -> int:
    """Trainable weights of torch.nn.LSTM / GRU / RNN (both bias vectors), without building one."""
    gates = GATES[cell]
    total = 0
    for layer in range(layers):
        inputs = input_size if layer == 0 else hidden
        total += gates * (inputs * hidden + hidden * hidden + 2 * hidden)
    return total


def matched_hidden_size(cell: str, reference_hidden: int, input_size: int, layers: int) -> int:
    """The hidden size at which `cell` has about as many recurrent weights as an LSTM of `reference_hidden`."""
    target = recurrent_weights("lstm", input_size, reference_hidden, layers)
    if cell == "lstm":
        return reference_hidden
    candidates = range(1, 4 * reference_hidden + 2)
    return min(candidates, key=lambda h: abs(recurrent_weights(cell, input_size, h, layers) - target))


def model_weights(cell: str, hidden: int, layers: int, input_size: int, vocab_size: int | None,
                  n_outputs: int) -> int:
    """Trainable weights of the whole SequenceModel (search/model.py): embedding, recurrent layers, head."""
    embedding, head = (vocab_size or 0) * input_size, (hidden + 1) * n_outputs
    return embedding + recurrent_weights(cell, input_size, hidden, layers) + head


def budget_hidden_size(cell: str, budget: int, layers: int, input_size: int, vocab_size: int | None,
                       n_outputs: int) -> int:
    """The largest hidden size at which the whole model has at most `budget` trainable weights (model.param_budget:
    every cell at the same size, as Bai et al. 2018 compare them); 0 when even one unit is over."""
    low, high = 0, 1
    while model_weights(cell, high, layers, input_size, vocab_size, n_outputs) <= budget:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if model_weights(cell, middle, layers, input_size, vocab_size, n_outputs) <= budget:
            low = middle
        else:
            high = middle
    return low


def check_sizing(cfg) -> None:
    """model.param_budget sets every trial's hidden size: a space that also searches it, or param_matched (which
    sizes the GRU to the LSTM instead), would be overruled without a word. One line instead."""
    size = cfg.space.get("model.hidden_size")
    if cfg.compare.strategy.value == "param_matched" and (size.low if size else cfg.model.hidden_size) < 16:
        log.warning("compare=param_matched: below 16 hidden units the nearest GRU size can miss the LSTM's "
                    "recurrent weight count by more than 5 %%")
    if not cfg.model.get("param_budget"):
        return
    if "model.hidden_size" in cfg.space:
        raise UserError(f"model.param_budget={cfg.model.param_budget} sets the hidden size of every trial: remove "
                        "model.hidden_size from the space (or unset model.param_budget)")
    if cfg.compare.strategy.value == "param_matched":
        raise UserError("model.param_budget and compare=param_matched both size the cells: use one (the budget sizes "
                        "every cell to the same total weights; param_matched a GRU to the LSTM's recurrent weights)")


def training_bytes(cell: str, hidden: int, layers: int, batch: int, steps: int, input_size: int,
                   vocab_size: int | None, n_outputs: int) -> int:
    """A rough estimate of the memory that training one such model takes, in bytes (float32): the weights
    with their gradients and Adam's two moments, and the activations kept for the backward pass (each
    layer's gates and states at every step). Enough to tell a space whose costliest corner cannot fit."""
    gates = GATES[cell]
    weights = sum(gates * ((input_size if i == 0 else hidden) + hidden + 2) * hidden for i in range(layers))
    weights += (vocab_size or 0) * input_size + (hidden + 1) * n_outputs
    activations = batch * steps * (layers * hidden * (gates + 2) + input_size)
    return 4 * (4 * weights + 2 * activations)


def size_trial(trial_cfg: DictConfig, task: Task, strategy: str) -> None:
    """Set this trial's hidden size where the comparison sizes it: param_matched gives a GRU (or RNN) the
    recurrent weight count of an LSTM of the searched hidden size; model.param_budget the largest hidden size
    at which the whole model stays within the budget."""
    model = trial_cfg.model
    input_size = model.embedding_dim if task.vocab_size else task.n_features
    if strategy == "param_matched":
        model.hidden_size = matched_hidden_size(model.cell.value, model.hidden_size, input_size, model.num_layers)
    if model.get("param_budget"):
        size = budget_hidden_size(model.cell.value, model.param_budget, model.num_layers, input_size,
                                  task.vocab_size, task.n_outputs)
        if size == 0:
            raise UserError(f"model.param_budget={model.param_budget} is below the smallest {model.cell.value} model "
                            f"of this task (one hidden unit, {model.num_layers} layer(s)); raise it")
        model.hidden_size = size


def _highest(cfg: DictConfig, path: str):
    spec = cfg.space.get(path)
    if spec is None:
        value = OmegaConf.select(cfg, path)
        return getattr(value, "value", value)
    return max(spec.choices) if spec.type == "categorical" else spec.high


def warn_costliest_corner(cfg: DictConfig, task: Task, steps: int) -> None:
    """Warn before the run when the space's costliest corner may not fit in this machine's memory (such
    trials are pruned "out of memory" when they come)."""
    cell = max(cells(cfg), key=GATES.__getitem__)  # the costliest cell searched (or configured): most gates
    hidden, layers, batch = (int(_highest(cfg, p)) for p in ("model.hidden_size", "model.num_layers",
                                                              "train.batch_size"))
    input_size = int(_highest(cfg, "model.embedding_dim")) if task.vocab_size else task.n_features
    need = training_bytes(cell, hidden, layers, batch, int(steps), input_size, task.vocab_size, task.n_outputs)
    have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if need > have / 2:
        log.warning("warning: the space's costliest corner (%s, hidden %d x %d layers, batch %d, %d steps) needs "
                    "about %.1f GB to train, more than half of this machine's %.1f GB: trials there may be pruned "
                    "out of memory; narrow the space to avoid them", cell, hidden, layers, batch, steps, need / 1e9,
                    have / 1e9)
