"""Training one configuration (`train_config`: one seed, one model, its test score) and the loop under it, `fit`:
early stopping on the validation metric. Knows nothing of Optuna: after each epoch it
calls `on_epoch(result)` with the FitResult so far (`result.epochs` the epoch just run, `result.history[-1]` its
validation value), which may raise to stop the run (the objective raises TrialPruned there)."""

from __future__ import annotations

import copy
import ctypes
import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from omegaconf import DictConfig

from search import interrupt
from search.devices import mixed_precision
from search.kernels import pin_kernel
from search.model import SequenceModel, build_model, detach
from search.tasks import Task


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class FitResult:
    best_value: float  # validation metric at the best epoch
    best_epoch: int
    epochs: int  # epochs run (early stopping may end before max_epochs)
    sec_per_epoch: float  # wall time of one epoch, training plus validation
    history: list[float] = field(default_factory=list)  # validation metric after each epoch
    lrs: list[float] = field(default_factory=list)  # learning rate that each epoch trained with


_FAULT_FIRED = False


def _inject_fault(epoch: int) -> None:
    """Test-only fault injection: CELLSEARCH_FAULT=oom_at_epoch:N makes the first fit of this process that
    reaches epoch N raise torch.OutOfMemoryError there, as a real accelerator allocation would (CPU torch
    never raises it). Unset, nothing happens."""
    global _FAULT_FIRED
    fault = os.environ.get("CELLSEARCH_FAULT", "")
    if not _FAULT_FIRED and fault.startswith("oom_at_epoch:") and epoch == int(fault.split(":", 1)[1]):
        _FAULT_FIRED = True
        raise torch.OutOfMemoryError(f"CUDA out of memory (injected by CELLSEARCH_FAULT={fault})")


def _slow_batches() -> float:
    """Test-only: CELLSEARCH_FAULT=slow_batches:SECONDS waits that long before every training batch, so that a
    test can interrupt a trial of a small study in the middle and resume it with the same settings."""
    fault = os.environ.get("CELLSEARCH_FAULT", "")
    return float(fault.split(":", 1)[1]) if fault.startswith("slow_batches:") else 0.0


def fit(model: torch.nn.Module, task: Task, seq_len: int, train_cfg, device: torch.device,
        generator: torch.Generator, on_epoch: Callable[[FitResult], None] = lambda progress: None) -> FitResult:
    """Train `model` on the task's training split; leave it holding the weights of its best validation epoch.

    `on_epoch` sees the result so far after every epoch (its `history[-1]` is the latest validation value)."""
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    amp = mixed_precision(train_cfg, device)  # validation and test always run in full precision
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    maximize = task.metric.direction == "maximize"
    result = FitResult(-math.inf if maximize else math.inf, 0, 0, 0.0)
    best_state, seconds, pause = None, 0.0, _slow_batches()
    plateau = _plateau_schedule(optimizer, train_cfg, maximize)
    for epoch in range(1, train_cfg.max_epochs + 1):
        start = time.perf_counter()
        _inject_fault(epoch)
        result.lrs.append(optimizer.param_groups[0]["lr"])
        model.train()
        state = None  # streams (batch.carry) start each epoch from zeros
        for batch in task.batches("train", seq_len, train_cfg.batch_size, shuffle=True, generator=generator):
            if pause:
                time.sleep(pause)
            interrupt.check()  # Ctrl-C or SIGTERM: this trial ends here, between two batches
            batch = batch.to(device)  # a no-op where the task's tensors already live on the device
            with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
                if batch.carry:  # truncated BPTT: the state flows on, its gradient stops at the chunk boundary
                    output, state = model(batch.x, batch.lengths, detach(state), return_state=True)
                else:
                    output = model(batch.x, batch.lengths)
                loss = task.loss(output, batch.y)
            if not torch.isfinite(loss):
                raise NonFiniteLoss(f"training loss became {loss.item()} in epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if train_cfg.clip_grad_norm > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.clip_grad_norm)
            scaler.step(optimizer)
            scaler.update()
        value = task.score(model, "val", seq_len, device)
        if not math.isfinite(value):
            raise NonFiniteLoss(f"validation {task.metric.name} became {value} in epoch {epoch}")
        seconds += time.perf_counter() - start
        result.history.append(value)
        result.epochs, result.sec_per_epoch = epoch, seconds / epoch
        if (value > result.best_value) if maximize else (value < result.best_value):
            result.best_value, result.best_epoch = value, epoch
            best_state = copy.deepcopy(model.state_dict())
        if plateau is not None:
            plateau.step(value)
        on_epoch(result)
        if epoch - result.best_epoch >= train_cfg.patience:
            break
    model.load_state_dict(best_state)
    return result


def _plateau_schedule(optimizer, train_cfg, maximize: bool):
    """`train.lr_plateau_factor`: the learning rate times that factor once validation has not improved for
    `train.lr_plateau_patience` epochs (Bai et al. 2018 divide by 10); None when the factor is 0 (or unset, in
    configs stored before it existed)."""
    factor = getattr(train_cfg, "lr_plateau_factor", 0.0) or 0.0
    if factor == 0:
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max" if maximize else "min", factor=factor,
                                                      patience=getattr(train_cfg, "lr_plateau_patience", 1),
                                                      threshold=0.0)  # better means strictly better, as for patience


try:
    _LIBC = ctypes.CDLL("libc.so.6")  # glibc; elsewhere memory is left to the allocator
except OSError:
    _LIBC = None


def release_memory() -> None:
    """Hand the memory of a finished trial back to the OS. glibc keeps freed blocks in its arenas, and a
    study of many differently shaped models grew by about 13 MB a trial without this (1.7 GB after 40
    sentiment trials, 2.8 GB after 120)."""
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


@dataclass
class Run:
    model: SequenceModel
    fit: FitResult
    test: float  # test metric of the best validation epoch's weights


def train_config(trial_cfg: DictConfig, task: Task, seed: int, device: torch.device,
                 on_start: Callable[[SequenceModel], None] = lambda model: None,
                 on_epoch: Callable[[FitResult], None] = lambda progress: None) -> Run:
    """Train one configuration with one seed (init, data order and dropout all follow it)."""
    torch.manual_seed(seed)
    model = build_model(trial_cfg.model, task, trial_cfg.train.get("rnn_kernel", "auto"))
    pin_kernel(model.rnn, device, trial_cfg.train.batch_size)  # auto: measured now, outside the epochs' timing
    on_start(model)
    seq_len = trial_cfg.dataset.seq_len
    result = fit(model, task, seq_len, trial_cfg.train, device, torch.Generator().manual_seed(seed), on_epoch)
    return Run(model, result, task.score(model, "test", seq_len, device))
