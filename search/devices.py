"""Which device a run trains on: `train.device` checked against this machine, mixed precision, and the GPU each
of `workers=N` processes takes."""

from __future__ import annotations

import torch

from search.errors import UserError


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def choose_device(name: str) -> torch.device:
    """The training device of `train.device`; one that this machine does not have is a UserError, raised
    before any trial (not a failed trial on every attempt)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    fix = "use train.device=auto (the best this machine has) or cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"train.device={name} is not a device; {fix}, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UserError(f"train.device={name}: this machine has no CUDA device (torch {torch.__version__}); {fix}")
        if device.index is not None and device.index >= count:
            raise UserError(f"train.device={name}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}; "
                            f"{fix}")
    elif device.type == "mps" and not _mps_available():
        raise UserError(f"train.device={name}: this machine has no Apple MPS device; {fix}")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"train.device={name}: cellsearch trains on cpu, cuda or mps, not {device.type}; {fix}")
    return device


def mixed_precision(train_cfg, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training with `train.amp`, or None for full precision. CUDA only: the CPU's
    oneDNN LSTM/GRU kernels here have no bfloat16 path ("could not create a primitive descriptor")."""
    if not getattr(train_cfg, "amp", False):
        return None
    if device.type != "cuda":
        raise UserError(f"train.amp=true needs a CUDA device, this run trains on {device}; set train.amp=false")
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def worker_device(name: str, index: int, devices: list[int] | None = None, visible: int | None = None) -> str:
    """The device of worker `index` of `workers=N`: with CUDA (`train.device` auto or cuda, on a machine with GPUs)
    GPU `devices[index % len(devices)]`, `devices` defaulting to every visible GPU, so that workers spread over
    all GPUs and several share one when N > G; `cuda:K` pins every worker to K; CPU and MPS stay as named.
    `visible` is the number of visible GPUs (torch.cuda.device_count() when None)."""
    if visible is None:
        visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if name not in ("auto", "cuda") or visible == 0:
        if devices:
            raise UserError(f"train.devices={list(devices)} needs CUDA GPUs; this machine has none visible "
                            "(unset train.devices, or train.device=cpu)")
        return name
    chosen = list(devices) if devices else list(range(visible))
    wrong = [d for d in chosen if not 0 <= d < visible]
    if wrong:
        raise UserError(f"train.devices={list(devices)}: GPU(s) {wrong} not visible; this machine shows "
                        f"{visible}: cuda:0..cuda:{visible - 1}")
    return f"cuda:{chosen[index % len(chosen)]}"
