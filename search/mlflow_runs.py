"""What `tracking=mlflow` logs, as plain data: the study's parent run and each finished trial's child run, derived
from what the Optuna storage holds. No MLflow import and no network: search/tracking.py sends these; the tests
check them without a server (tests/test_mlflow_runs.py).

A child run is known by its tags `cellsearch.study_id` (the study's name, hashed so that a filter string holds
it whatever its characters) and `cellsearch.trial_number`. Logging is not under a lock across machines, so two
workers may log one trial at the same instant; `redundant` then names the copies to delete, the same on every
machine (all but the smallest run id), so that they converge on one child a trial.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

from optuna.trial import FrozenTrial, TrialState

from search import records as rec
from search.storage.urls import hide_secrets

T = "cellsearch."  # the prefix of every tag cellsearch sets
PARENT_TAG, NAME_TAG = "mlflow.parentRunId", "mlflow.runName"  # MLflow's own tags (mlflow.utils.mlflow_tags)
LOGGING_SINCE = f"{T}logging_since"  # ms: when the child's logging began (a RUNNING child older than STALE_MS
STALE_MS = 10 * 60 * 1000  # was cut off in the middle of its logging, and is deleted and logged again whole)
LOGGER = f"{T}logger"  # "host/pid/token" of the sync that logs the child (one whose logger has ended is cut off)
STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED", TrialState.FAIL: "FAILED"}  # the finished
MAX_PARAMS, MAX_METRICS, MAX_VALUE = 100, 1000, 6000  # MLflow's limits for one log_batch
_NUMBERS = (rec.N_PARAMS, rec.N_PARAMS_RECURRENT, rec.SEC_PER_EPOCH, rec.EPOCHS, rec.BEST_EPOCH)


def study_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:20]


def ms(when) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


@dataclass
class RunSpec:
    """One MLflow run to create: its tags, parameters, metrics `(key, value, step, timestamp_ms)`, times and the
    status it ends with (None: left RUNNING, the study's parent); `text` are files to log, name -> content."""

    tags: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    start_ms: int | None = None
    end_ms: int | None = None
    status: str | None = None
    text: dict[str, str] = field(default_factory=dict)

    def param_batches(self) -> list[dict[str, str]]:
        items = list(self.params.items())
        return [dict(items[i:i + MAX_PARAMS]) for i in range(0, len(items), MAX_PARAMS)]

    def metric_batches(self) -> list[list[tuple[str, float, int, int]]]:
        return [self.metrics[i:i + MAX_METRICS] for i in range(0, len(self.metrics), MAX_METRICS)]


def _params(values: dict) -> dict[str, str]:
    return {k: str(v)[:MAX_VALUE] for k, v in values.items() if v is not None}


def study_run(name: str, attrs: dict, first_start) -> RunSpec:
    """The study's parent run: named after it, the metric and dataset as parameters, `study.json` (the metric,
    the dataset card, the space, the resolved config as stored, passwords masked there, the version)."""
    metric = attrs.get(rec.METRIC) or {}
    return RunSpec(
        tags={f"{T}kind": "study", f"{T}study": name, f"{T}study_id": study_id(name), NAME_TAG: name},
        params=_params({"metric": metric.get("name"), "direction": metric.get("direction"),
                        "unit": metric.get("unit"), "dataset": (attrs.get("dataset") or {}).get("name")}),
        start_ms=ms(first_start),
        text={"study.json": json.dumps({k: attrs.get(k) for k in ("metric", "dataset", "space", "config",
                                                                  "cellsearch_version")}, indent=1, default=str)})


def trial_run(study_name: str, study_attrs: dict, trial: FrozenTrial, parent: str, secret_of: str = "") -> RunSpec:
    """A finished trial (or re-evaluation run) as a child of `parent`: its parameters; the validation metric of
    every epoch (`epoch_val_<metric>`, step = epoch), its scores and costs; tags for its number, state, cell,
    seed, worker, device and failure (credentials of `secret_of`, the tracker's URI, hidden)."""
    attrs = trial.user_attrs
    reeval = study_name.endswith(rec.REEVAL_SUFFIX)
    metric = (study_attrs.get(rec.METRIC) or {}).get("name", "value")
    cell = rec.cell_of(trial) or "?"
    name = (f"{cell} seed {attrs.get(rec.SEED)} (trial {attrs.get(rec.SOURCE_TRIAL)})" if reeval
            else f"{cell} #{trial.number}")
    tags = {PARENT_TAG: parent, NAME_TAG: name, f"{T}kind": "reeval" if reeval else "trial",
            f"{T}study": study_name, f"{T}study_id": study_id(study_name), f"{T}trial_number": str(trial.number),
            f"{T}state": {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}[trial.state.name],
            f"{T}cell": str(cell)}
    for key in (rec.FAIL_REASON, rec.WORKER, rec.DEVICE, rec.SOURCE_TRIAL, rec.SEED):
        if attrs.get(key) is not None:
            tags[f"{T}{key}"] = hide_secrets(str(attrs[key]), secret_of)[:MAX_VALUE - 1000]
    end = ms(trial.datetime_complete) or ms(trial.datetime_start) or 0
    metrics = [(f"epoch_val_{metric}", float(v), int(step), end)
               for step, v in sorted(trial.intermediate_values.items())]
    for key in (rec.score_attr("val", metric), rec.score_attr("test", metric), *_NUMBERS):
        if isinstance(attrs.get(key), (int, float)) and not isinstance(attrs.get(key), bool):
            metrics.append((key, float(attrs[key]), 0, end))
    return RunSpec(tags=tags, params=_params(trial.params), metrics=[m for m in metrics if math.isfinite(m[1])],
                   start_ms=ms(trial.datetime_start), end_ms=end, status=STATUS[trial.state])


def trial_key(tags: dict) -> tuple[str, int] | None:
    """(study_id, trial number) of a child run, from its tags; None for a run that is not a trial's."""
    if f"{T}trial_number" not in tags:
        return None
    return tags.get(f"{T}study_id"), int(tags[f"{T}trial_number"])


def cut_off(status: str, tags: dict, now_ms: int, logger_ended=lambda logger: False) -> bool:
    """A child left RUNNING by a logger that stopped in the middle (killed, or its server went away) rather than
    one another worker is logging now: `logger_ended(tags[LOGGER])` says that its logger is known to have
    ended (its process is gone, or its sync failed); else it is cut off once its logging is older than STALE_MS.
    Children from before `logging_since` existed were logged under a lock, so a RUNNING one among them was cut
    off."""
    if status != "RUNNING":
        return False
    since = tags.get(LOGGING_SINCE)
    return since is None or now_ms - int(since) > STALE_MS or bool(tags.get(LOGGER) and logger_ended(tags[LOGGER]))


def redundant(runs: list[tuple[str, str, dict]]) -> list[str]:
    """The run ids to delete among children `(run_id, status, tags)`: every finished copy of a trial but the one
    with the smallest run id (each machine picks the same one); RUNNING copies are left to finish."""
    done: dict[tuple[str, int], list[str]] = {}
    for run_id, status, tags in runs:
        key = trial_key(tags)
        if key is not None and status != "RUNNING":
            done.setdefault(key, []).append(run_id)
    return [r for ids in done.values() for r in sorted(ids)[1:]]
