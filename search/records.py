"""What a cellsearch trial and study store, in one place: the search writes these names, the report and the
re-evaluation read them, so neither guesses. Stored names never change: a storage written by an older release
must still resume and report (tests/test_records.py checks them against release 0.1.0's).

A search trial: the Optuna parameter `cell` (one of CELLS) and the other searched parameters; its value is
the validation metric of its best epoch; user attributes as below. A re-evaluation run (search/reeval.py) is
a COMPLETE trial of the sibling study `<name>.reeval` with the same parameters and a subset of the names.
"""

from __future__ import annotations

from collections.abc import Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.optuna_internals import fixed_params

CELL = "cell"  # the Optuna parameter of the cell type, also stored as a user attribute (readable when unsearched)
CELLS = ("lstm", "gru")  # its values, in the order the report shows them

# A trial's user attributes. Set when training starts (search/objective.py):
HIDDEN_SIZE_USED = "hidden_size_used"  # compare=param_matched gives a GRU another size than the searched one
N_PARAMS = "n_params"
N_PARAMS_RECURRENT = "n_params_recurrent"
RNN_KERNEL = "rnn_kernel"  # the recurrent kernel it trains with, in words (search/kernels.py, kernel_of)
SEED = "seed"
DEVICE = "device"
DATASET = "dataset"  # the task's name
DATA_SOURCE = "data_source"
VERSION = "cellsearch_version"  # also a study attribute
WORKER = "worker"  # host:pid of the process that runs it (search/workers/processes.py)
CONFIG = "config"  # the trial's resolved config, passwords masked; also a study attribute (the first run's)
# ... after each epoch, pruned or not:
EPOCHS = "epochs"
BEST_EPOCH = "best_epoch"
SEC_PER_EPOCH = "sec_per_epoch"
# ... when it ends or fails:
MODEL_ARTIFACT = "model_artifact"  # the artifact id of its saved model: only each cell's best so far has one
FAIL_REASON = "fail_reason"  # why it was pruned early or failed, in words
REPEAT_OF = "repeat_of"  # failed untrained: it drew the parameters of this finished trial
RETRY_OF = "retry_of"  # queued again because this trial's process died
SOURCE_TRIAL = "source_trial"  # a re-evaluation run: the search trial it retrains


def score_attr(split: str, metric: str) -> str:
    """The user attribute of a trial's score on a split: `val_<metric>` (also its value, when COMPLETE) or
    `test_<metric>` (of the best validation epoch's weights; stored only, never optimised)."""
    return f"{split}_{metric}"


# A study's user attributes (search/study.py):
METRIC = "metric"  # {"name", "direction", "unit"}
DATASET_CARD = "dataset"  # the dataset card, with "baseline": {"name", "val", "test"}
SPACE = "space"  # the search space as described to the user
SAMPLER_RUNS = "sampler_runs"  # runs that have sampled from the study (seeds each run's samplers apart)
OF_STUDY = "of_study"  # a re-evaluation study: the name of the study it re-evaluates
REEVAL_LOOKS = "reeval_looks"  # ... and the seed counts a cell at which its verdict was looked at (search/reeval.py)
REEVAL_SUFFIX = ".reeval"


def reeval_study_name(study_name: str) -> str:
    """The sibling study that holds a study's re-evaluation runs."""
    return study_name + REEVAL_SUFFIX


def cell_of(trial: FrozenTrial) -> str | None:
    """A trial's cell type: its parameter when the space searches it (also before it is drawn: a queued trial
    holds it in its fixed parameters), else the user attribute every trial stores (a space without model.cell)."""
    return trial.params.get(CELL, fixed_params(trial).get(CELL, trial.user_attrs.get(CELL)))


def maximizes(study: optuna.Study) -> bool:
    return study.direction == optuna.study.StudyDirection.MAXIMIZE


def is_better(value: float, than: float, maximize: bool) -> bool:
    """Strictly better: on a tie the earlier trial stays the best."""
    return value > than if maximize else value < than


def best_per_cell(trials: Iterable[FrozenTrial], maximize: bool) -> dict[str, FrozenTrial]:
    """The best trial of each cell: of the cell's COMPLETE trials, the one with the best value (the validation
    metric), the earliest on a tie. Sorted by cell; a cell without a COMPLETE trial has none."""
    best: dict[str, FrozenTrial] = {}
    for trial in trials:
        cell = cell_of(trial)
        if trial.state != TrialState.COMPLETE or cell is None:
            continue
        if cell not in best or is_better(trial.value, best[cell].value, maximize):
            best[cell] = trial
    return dict(sorted(best.items()))
