"""Structured configs: the schema that Hydra checks every composed config against.

A wrong type or an unknown key fails at composition, before any data is loaded. Dataset schemas live
beside their loaders (search/datasets/) and are registered here under `schema/dataset/<name>`, which
each `conf/dataset/<name>.yaml` names in its defaults list. Neither this module nor the dataset schemas
import torch: `--help` and a config error stay fast (search/__main__.py checks values before loading it).
"""

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from search.datasets import DATASETS
from search.errors import UserError


class Cell(Enum):
    lstm = "lstm"
    gru = "gru"
    rnn = "rnn"  # the plain (tanh) RNN that the gated cells are compared against (Chung et al. 2014, Bai et al. 2018)


class Strategy(Enum):
    joint = "joint"  # the cell is one categorical among the others
    balanced = "balanced"  # equal trials per cell, one sampler state per cell
    param_matched = "param_matched"  # balanced, and a GRU sized to an LSTM's number of recurrent weights


class Stage(Enum):
    search = "search"  # run the study to search.n_trials
    reeval = "reeval"  # retrain each cell's best configuration with search.reeval_seeds seeds (3 if 0)
    replay = "replay"  # retrain one trial (trial=N) and show stored and new results side by side


@dataclass
class CompareConfig:
    strategy: Strategy = Strategy.balanced


@dataclass
class ModelConfig:
    cell: Cell = Cell.lstm
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.0
    embedding_dim: int = 128  # token inputs only
    forget_bias: float = 1.0  # LSTM only: initial forget-gate bias
    param_budget: int | None = None  # trainable weights of the whole model: each trial's hidden size is the
    # largest within it, whatever the cell (every cell at one size, as Bai et al. 2018); None: hidden_size as set


@dataclass
class TrainConfig:
    max_epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_grad_norm: float = 1.0  # 0 disables clipping
    patience: int = 3  # epochs without a better validation score before stopping
    lr_plateau_factor: float = 0.0  # lr times this when validation stops improving (0.1: divide by 10); 0: constant
    lr_plateau_patience: int = 1  # ... after this many epochs without a better validation score
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    devices: list[int] | None = None  # GPUs that workers=N spread over (worker i: devices[i % len]); None: all visible
    threads: int = 0  # torch CPU threads; 0 keeps PyTorch's default (one per core)
    amp: bool = False  # mixed precision for training on CUDA (bfloat16, or float16 with loss scaling)
    rnn_kernel: str = "auto"  # auto: the fastest, measured at first use; torch: PyTorch's; blas, onednn: kernels.py's


@dataclass
class ParamSpec:
    """One searched parameter. The Optuna parameter name is the last part of its config path."""

    type: str = MISSING  # int | float | categorical
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None
    when: dict[str, Any] = field(default_factory=dict)  # e.g. {model.cell: lstm}: only for those trials


@dataclass
class SearchConfig:
    study_name: str = MISSING
    n_trials: int = 20  # the study's total of finished (complete + pruned) trials, not a count per run
    timeout: float | None = None  # seconds for this run; None: no limit
    reeval_seeds: Any = "auto"  # after the search, retrain each cell's best: auto (in rounds until the verdict is
    # decided, search/reeval.py), or this many seeds; 0: skip (the verdict is then descriptive only)
    reeval_max_seeds: int = 6  # reeval_seeds=auto: at most this many seeds a cell (looks at 2, 4, 6)
    reeval_timeout: float | None = None  # seconds of re-evaluation after which no new run starts; None: no limit


@dataclass
class StorageConfig:
    url: str | None = None  # None: sqlite:///cellsearch.db for one worker, the journal file cellsearch.log for several
    heartbeat_interval: int = 60  # seconds (RDB storages); a trial silent for grace_period is marked failed
    grace_period: int = 180
    artifacts: str | None = None  # folder of the best models; None: beside a file storage, else ./cellsearch-artifacts
    pool_size: int = 2  # connections per worker process (server storages): its trials and its heartbeat
    max_overflow: int = 2


@dataclass
class TrackingConfig:
    kind: str = "none"  # none | mlflow: set by the group, tracking=mlflow (search/tracking.py)
    uri: str | None = None  # the MLflow tracking server; None: $MLFLOW_TRACKING_URI, else http://127.0.0.1:5000
    experiment: str = "cellsearch"  # the MLflow experiment that holds the study's parent run


class ClusterKind(Enum):
    local = "local"  # run here (workers=N processes on this machine)
    slurm = "slurm"  # submit a Slurm job array from a login node (search/cluster.py)


@dataclass
class ClusterConfig:
    kind: ClusterKind = ClusterKind.local
    tasks: int = 4  # array tasks, each a worker group of the one study
    workers_per_task: int = 1  # processes per task (several share a task's GPUs: worker i takes GPU i mod G)
    cpus_per_task: int = 2  # torch threads per task, split between its workers
    gpus_per_task: int = 0  # --gres=gpu:N
    time: str | None = None  # --time, e.g. "04:00:00"; None: the partition's default
    partition: str | None = None  # --partition; None: the cluster's default
    mem: str | None = None  # --mem, e.g. "8G"; None: the cluster's default
    account: str | None = None  # --account
    sbatch_args: list[str] = field(default_factory=list)  # more #SBATCH options, e.g. ["--qos=short"]
    logs: str = "slurm-logs"  # the job scripts and each task's output (on a disk every node shares)
    submit: bool = True  # false: write the scripts and print the sbatch command


@dataclass
class Config:
    dataset: Any = MISSING
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    space: dict[str, ParamSpec] = field(default_factory=dict)
    search: SearchConfig = field(default_factory=SearchConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    sampler: Any = MISSING  # {_target_: optuna.samplers.X, ...}
    pruner: Any = MISSING  # {_target_: optuna.pruners.X, ...}
    compare: CompareConfig = field(default_factory=CompareConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    seed: int = 0
    workers: int = 1  # processes on this machine sharing the study
    stage: Stage = Stage.search
    trial: int | None = None  # the trial number for stage=replay


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="cellsearch_schema", node=Config)
    for name, schema in DATASETS.items():
        cs.store(group="schema/dataset", name=name, node=schema)


# Ranges that types alone do not catch: (config path, test, what the value must be).
_RULES = (
    ("model.hidden_size", lambda v: v >= 1, "a whole number >= 1"),
    ("model.num_layers", lambda v: v >= 1, "a whole number >= 1"),
    ("model.dropout", lambda v: 0 <= v < 1, "in [0, 1)"),
    ("model.embedding_dim", lambda v: v >= 1, "a whole number >= 1"),
    ("model.param_budget", lambda v: v is None or v >= 1, "a whole number of weights >= 1, or null for none"),
    ("train.max_epochs", lambda v: 1 <= v <= 100_000, "a whole number from 1 to 100,000"),
    ("train.batch_size", lambda v: v >= 1, "a whole number >= 1"),
    ("train.lr", lambda v: v > 0, "a number > 0"),
    ("train.weight_decay", lambda v: v >= 0, "a number >= 0"),
    ("train.clip_grad_norm", lambda v: v >= 0, "a number >= 0 (0 disables clipping)"),
    ("train.patience", lambda v: v >= 1, "a whole number >= 1"),
    ("train.lr_plateau_factor", lambda v: 0 <= v < 1, "in [0, 1) (0: a constant learning rate; 0.1 divides it by 10)"),
    ("train.lr_plateau_patience", lambda v: v >= 0, "a whole number of epochs >= 0"),
    ("train.rnn_kernel", lambda v: v in ("auto", "torch", "blas", "onednn"),
     "auto (the fastest of the three below, measured on this CPU at first use), torch (PyTorch's own path), "
     "blas or onednn (search/kernels.py's GRU and RNN layers, their products through BLAS or oneDNN)"),
    ("train.threads", lambda v: v >= 0, "a whole number >= 0 (0: PyTorch's default, one per core)"),
    ("search.study_name", lambda v: 0 < len(v) <= 200 and v.isprintable() and v == v.strip(),
     "1 to 200 printable characters, no leading or trailing space"),
    ("dataset.seq_len", lambda v: v >= 1, "a whole number >= 1"),
    ("search.n_trials", lambda v: 1 <= v <= 1_000_000, "a whole number from 1 to 1,000,000 (the study's total of "
     "finished trials)"),
    ("search.timeout", lambda v: v is None or 0 < v < float("inf"), "a number of seconds > 0, or null for no limit"),
    ("storage.heartbeat_interval", lambda v: v >= 1, "a whole number of seconds >= 1"),
    ("workers", lambda v: 1 <= v <= 512, "a whole number from 1 to 512 (processes on this machine)"),
    ("seed", lambda v: 0 <= v < 2**63, "a whole number from 0 to 2**63 - 1"),
    ("search.reeval_seeds", lambda v: v == "auto" or (type(v) is int and 0 <= v <= 1000),
     "auto (rounds of seeds until the verdict is decided) or a whole number from 0 to 1000 (0: no re-evaluation "
     "after the search)"),
    ("search.reeval_max_seeds", lambda v: 2 <= v <= 1000, "a whole number from 2 to 1000 (seeds a cell at most)"),
    ("search.reeval_timeout", lambda v: v is None or 0 < v < float("inf"), "a number of seconds > 0, or null for "
     "no limit"),
    ("trial", lambda v: v is None or v >= 0, "a trial number >= 0"),
    ("cluster.tasks", lambda v: 1 <= v <= 100_000, "a whole number from 1 to 100,000 (Slurm array tasks)"),
    ("cluster.workers_per_task", lambda v: 1 <= v <= 512, "a whole number from 1 to 512"),
    ("cluster.cpus_per_task", lambda v: v >= 1, "a whole number >= 1"),
    ("cluster.gpus_per_task", lambda v: v >= 0, "a whole number >= 0"),
    ("storage.url", lambda v: v.strip() != "", "a storage URL, or unset for the default (sqlite:///cellsearch.db)"),
    ("dataset.path", lambda v: v.strip() != "", "a path, or unset for the dataset's default place"),
    ("tracking.kind", lambda v: v in ("none", "mlflow"), "none or mlflow (choose it with tracking=mlflow)"),
    ("tracking.uri", lambda v: v.strip() != "", "an MLflow tracking URI such as http://127.0.0.1:5000, or unset"),
    ("tracking.experiment", lambda v: 0 < len(v) <= 500 and v.isprintable() and v == v.strip(),
     "1 to 500 printable characters, no leading or trailing space"),
)


def check_values(cfg: DictConfig) -> None:
    """Raise a UserError naming the first config value outside its valid range."""
    for path, valid, what in _RULES:
        value = OmegaConf.select(cfg, path, default=None)
        if value is not None and not valid(value):
            raise UserError(f"{path}={value} is invalid: it must be {what}")
