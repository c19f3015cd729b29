"""One sequence model for every cell type: torch.nn.LSTM, torch.nn.GRU or the plain tanh torch.nn.RNN (cuDNN
kernels on a GPU), then a linear head read off the last real time step (class logits or a regression value), or off
every time step for tasks that predict at each step (`Task.every_step`: language models, piano rolls, copying).

The recurrent state can be passed in and handed back (`state=`, `return_state=True`) so that a task read
as long streams (truncated back-propagation through time) continues each row from the previous chunk.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from search.kernels import FastGRU, FastRNN

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}  # nn.RNN's default nonlinearity is tanh
FAST = {"gru": FastGRU, "rnn": FastRNN}  # the same modules, with a faster CPU path (search/kernels.py)
GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # weight blocks a layer of each cell has (input, forget, cell, output; ...)
State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None  # GRU, RNN: h; LSTM: (h, c); None: zeros


def detach(state: State) -> State:
    """The state as a constant: gradients stop at the chunk boundary, the values carry on."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


class SequenceModel(nn.Module):
    def __init__(self, cell: str, hidden_size: int, num_layers: int, dropout: float, n_outputs: int,
                 vocab_size: int | None = None, embedding_dim: int | None = None, n_features: int | None = None,
                 forget_bias: float = 1.0, every_step: bool = False, kernel: str = "auto"):
        super().__init__()
        self.every_step = every_step
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0) if vocab_size else None
        input_size = embedding_dim if vocab_size else n_features
        module = FAST.get(cell, CELLS[cell]) if kernel != "torch" else CELLS[cell]
        self.rnn = module(input_size, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        if module in FAST.values():
            self.rnn.kernel = kernel
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs)
        if cell == "lstm":
            self._init_forget_gate(forget_bias)

    def _init_forget_gate(self, value: float) -> None:
        # PyTorch orders LSTM gates input, forget, cell, output; b_ih and b_hh are added, so set one of them.
        hidden = self.rnn.hidden_size
        for name, bias in self.rnn.named_parameters():
            if name.startswith("bias_"):
                with torch.no_grad():
                    bias[hidden:2 * hidden] = value if name.startswith("bias_ih") else 0.0

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None, state: State = None,
                return_state: bool = False):
        """Logits or values: [B, n_outputs], or [B, T, n_outputs] with every_step (padded steps included;
        the task masks them). With return_state, also the final recurrent state (for the next chunk)."""
        if self.embedding is not None:
            x = self.embedding(x)
        output, final = self.rnn(x, state)  # [B, T, H]; right padding never reaches earlier steps of a forward RNN
        if self.every_step:
            output = self.head(self.dropout(output))
            return (output, final) if return_state else output
        if lengths is None:
            last = output[:, -1]
        else:
            last = output[torch.arange(len(output), device=output.device), lengths - 1]
        output = self.head(self.dropout(last))
        return (output, final) if return_state else output


class Shape(Protocol):
    """What the network needs to know of the data (a search.tasks.Task has it): the model is the layer
    below the tasks and imports none of them."""

    vocab_size: int | None  # token inputs: embedded; None: n_features values a step
    n_features: int | None
    n_outputs: int
    every_step: bool  # the head reads every step, not the last real one


def build_model(model_cfg, task: Shape, kernel: str = "auto") -> SequenceModel:
    """The model a config describes; `kernel` is train.rnn_kernel (auto: for the GRU and the RNN on the CPU the
    fastest of PyTorch's own path and search/kernels.py's, measured at first use; torch: PyTorch's own; blas,
    onednn: search/kernels.py's, its products through BLAS or oneDNN)."""
    cell = getattr(model_cfg.cell, "value", model_cfg.cell)
    return SequenceModel(cell, model_cfg.hidden_size, model_cfg.num_layers, model_cfg.dropout, task.n_outputs,
                         vocab_size=task.vocab_size, embedding_dim=model_cfg.embedding_dim,
                         n_features=task.n_features, forget_bias=model_cfg.forget_bias,
                         every_step=task.every_step, kernel=kernel)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
