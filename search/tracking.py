"""`tracking=mlflow`: the study as one parent run in an MLflow tracking server, each trial (and each run of the
`<study>.reeval` re-evaluation study) as a child run. MLflow is imported here only, and only when chosen.

The Optuna storage stays the source of truth. `sync(study)` logs every finished trial that the parent has no
child run for yet (found by the tags `cellsearch.study_id` and `cellsearch.trial_number`); it runs after each
trial (an Optuna callback), at the start and at the end of a run, under the storage's setup lock, so that
workers on several machines log each trial once. The parent's id is kept in the study's user attribute
`mlflow_parent_run` (set under the setup lock: every machine, and every resumed run, continues the same one).

A tracker unreachable when a run starts stops it before any trial, in one line; one that fails later costs a
warning: the trial is kept, and the runs it missed are logged by the next sync that succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re

import optuna
from optuna.trial import FrozenTrial, TrialState

from search import records as rec
from search.errors import UserError
from search.optuna_internals import storage_of
from search.storage.locks import setup_lock
from search.storage.urls import hide_secrets

log = logging.getLogger(__name__)
PARENT_ATTR = "mlflow_parent_run"  # study user attribute: {"experiment_id", "run_id"}
DEFAULT_URI = "http://127.0.0.1:5000"
T = "cellsearch."  # the prefix of every tag cellsearch sets
_STATUS = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "KILLED", TrialState.FAIL: "FAILED"}  # the finished
_NUMBERS = (rec.N_PARAMS, rec.N_PARAMS_RECURRENT, rec.SEC_PER_EPOCH, rec.EPOCHS, rec.BEST_EPOCH)
_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",  # MLflow's own
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",  # defaults retry for minutes before an error
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}  # not two "View run at" lines per run logged
_trackers: dict[int, MlflowTracker] = {}  # this process's tracker (worker processes make their own)


def study_id(name: str) -> str:  # the study's name as a tag value that a filter string holds, whatever its characters
    return hashlib.sha256(name.encode()).hexdigest()[:20]


def _ms(when) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


class MlflowTracker:
    def __init__(self, cfg, storage_url: str):
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise UserError("tracking=mlflow needs MLflow, which is not installed: pip install 'cellsearch[mlflow]' "
                            "(or run with tracking=none)") from None
        for key, value in _ENV.items():
            os.environ.setdefault(key, value)
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # not a line per retry
        self.uri = cfg.uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI
        self.experiment, self.storage_url = cfg.experiment, storage_url
        self.client = MlflowClient(tracking_uri=self.uri)
        self.where = hide_secrets(f"tracking.uri={self.uri}", self.uri)  # for messages: credentials hidden
        self.experiment_id: str | None = None
        self.parent: str | None = None  # the study's parent run
        self.known: set[tuple[str, int]] = set()  # (study_id, trial number) of the children that are complete
        self.listed = self.down = False  # `known` filled from a listing of all children; the last sync failed

    def _reason(self, e: BaseException) -> str:
        """What went wrong, in a few words, with the URI's credentials hidden."""
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        for pattern, words in (("Connection refused", "connection refused"), ("Name or service not known|"
                               "nodename nor servname|Temporary failure in name resolution", "unknown host"),
                               ("timed out|Read timeout", "timed out")):
            if re.search(pattern, text):
                text = words
        return hide_secrets(text[:300], self.uri)

    def connect(self) -> None:
        """Reach the server and find (or create) the experiment; a UserError in one line if it cannot."""
        from mlflow.exceptions import MlflowException

        retries = os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # a server that refuses now: say so at once
        try:
            found = self.client.get_experiment_by_name(self.experiment)
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = retries  # it answered: from now on, retries
            if found is None:
                try:
                    self.experiment_id = self.client.create_experiment(self.experiment)
                except MlflowException:  # another machine created it meanwhile
                    found = self.client.get_experiment_by_name(self.experiment)
                    if found is None:
                        raise
            if found is not None:
                if found.lifecycle_stage != "active":
                    raise UserError(f"MLflow experiment '{self.experiment}' at {self.where} is deleted; restore "
                                    "it (mlflow experiments restore) or choose another tracking.experiment=...")
                self.experiment_id = found.experiment_id
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the client raises, the run must not start
            raise UserError(f"{self.where} cannot be reached ({self._reason(e)}); start the MLflow server or "
                            "fix tracking.uri (or run with tracking=none); no trial has run") from None
        finally:
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = retries

    def start(self, study: optuna.Study, reopen: bool = True) -> None:
        """Find the study's parent run, or create it, under the setup lock (every machine shares one); a
        UserError if the tracker cannot be reached. `reopen`: mark it RUNNING (a search resumes)."""
        self.listed = False
        try:
            with setup_lock(self.storage_url):
                self.parent = self._parent(study, reopen)
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001
            raise UserError(f"{self.where}: cannot create or find the parent run of study '{study.study_name}' "
                            f"({self._reason(e)}); fix the server or use tracking=none; no trial has run") from None
        self.sync(study)

    def _parent(self, study: optuna.Study, reopen: bool) -> str:
        from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

        stored = study.user_attrs.get(PARENT_ATTR) or {}
        run = None
        if stored.get("experiment_id") == self.experiment_id and stored.get("run_id"):
            try:
                run = self.client.get_run(stored["run_id"])
            except Exception as e:  # a run this server does not hold: found by its tags, or made anew
                if "RESOURCE_DOES_NOT_EXIST" not in str(getattr(e, "error_code", "")) + str(e):
                    raise
            if run is not None and run.info.lifecycle_stage != "active":
                run = None
        if run is None:  # a new study (even one named as a deleted one), or new to this server or experiment
            first = [t.datetime_start for t in study.get_trials(deepcopy=False) if t.datetime_start]
            run = self.client.create_run(self.experiment_id, start_time=_ms(min(first)) if first else None, tags={
                f"{T}kind": "study", f"{T}study": study.study_name, f"{T}study_id": study_id(study.study_name),
                MLFLOW_RUN_NAME: study.study_name})
            attrs = study.user_attrs
            metric = attrs.get(rec.METRIC, {})
            self._log(run.info.run_id, params={"metric": metric.get("name"), "direction": metric.get("direction"),
                                               "unit": metric.get("unit"),
                                               "dataset": attrs.get("dataset", {}).get("name")})
            self.client.log_text(run.info.run_id, json.dumps({k: attrs.get(k) for k in ("metric", "dataset", "space",
                                 "config", "cellsearch_version")}, indent=1, default=str), "study.json")
        elif reopen and run.info.status != "RUNNING":
            self.client.update_run(run.info.run_id, status="RUNNING")
        value = {"experiment_id": self.experiment_id, "run_id": run.info.run_id}
        if stored != value:
            study.set_user_attr(PARENT_ATTR, value)
        return run.info.run_id

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:  # Optuna's callback, after each trial
        self.sync(study)

    def sync(self, study: optuna.Study) -> int:
        """Log every finished trial of the study and of its re-evaluation study that has no child run yet; the
        number logged. Never raises: a tracker that fails is warned about, and the next sync catches up."""
        try:
            with setup_lock(self.storage_url):
                if self.parent is None:  # a worker process: the run that started it made the parent
                    attr = study.user_attrs[PARENT_ATTR]
                    self.experiment_id, self.parent = attr["experiment_id"], attr["run_id"]
                logged = self._sync(study)
        except Exception as e:  # noqa: BLE001 - the storage is the record; a tracker's failure costs no trial
            if not self.down:
                log.warning("warning: MLflow at %s failed (%s); the trials are kept in the storage and the runs "
                            "it missed are logged by the next trial or the next run", self.where, self._reason(e))
            self.down = True
            return 0
        if self.down:
            log.info("MLflow at %s answers again: %d missing run(s) logged", self.where, logged)
        self.down = False
        return logged

    def _sync(self, study: optuna.Study) -> int:
        studies = [study]
        with contextlib.suppress(KeyError):  # no re-evaluation study yet
            studies.append(optuna.load_study(study_name=rec.reeval_study_name(study.study_name),
                                             storage=storage_of(study)))
        todo = [(s, t) for s in studies for t in s.get_trials(deepcopy=False, states=tuple(_STATUS))
                if (study_id(s.study_name), t.number) not in self.known]
        if not todo:
            return 0
        if not self.listed or len(todo) > 3:
            self._list_children(f"tags.`mlflow.parentRunId` = '{self.parent}'")
        else:  # the usual case, one new trial: ask for it alone, not for every child the parent has
            for s, t in todo:
                self._list_children(f"tags.`mlflow.parentRunId` = '{self.parent}' and tags.`{T}study_id` = "
                                    f"'{study_id(s.study_name)}' and tags.`{T}trial_number` = '{t.number}'")
        logged = 0
        for s, t in todo:
            if (study_id(s.study_name), t.number) not in self.known:
                self._log_trial(s, t)
                logged += 1
        return logged

    def _list_children(self, filter_string: str) -> None:
        """Add the complete children that match to `known`; delete incomplete ones (a sync cut off in the middle:
        they are logged again, whole)."""
        token = None
        while True:
            page = self.client.search_runs([self.experiment_id], filter_string, max_results=1000, page_token=token)
            for run in page:
                tags = run.data.tags
                if run.info.status == "RUNNING":  # never finished logging: under the lock, nobody else is at it
                    self.client.delete_run(run.info.run_id)
                elif f"{T}trial_number" in tags:
                    self.known.add((tags.get(f"{T}study_id"), int(tags[f"{T}trial_number"])))
            token = page.token
            if not token:
                break
        if "trial_number" not in filter_string:
            self.listed = True

    def _log_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

        attrs = trial.user_attrs
        reeval = study.study_name.endswith(rec.REEVAL_SUFFIX)
        metric = (study.user_attrs.get(rec.METRIC) or {}).get("name", "value")
        cell = attrs.get(rec.CELL, trial.params.get(rec.CELL, "?"))
        name = (f"{cell} seed {attrs.get(rec.SEED)} (trial {attrs.get(rec.SOURCE_TRIAL)})" if reeval
                else f"{cell} #{trial.number}")
        tags = {MLFLOW_PARENT_RUN_ID: self.parent, MLFLOW_RUN_NAME: name, f"{T}kind": "reeval" if reeval else "trial",
                f"{T}study": study.study_name, f"{T}study_id": study_id(study.study_name),
                f"{T}trial_number": str(trial.number), f"{T}state": trial.state.name.lower().replace("fail", "failed"),
                f"{T}cell": str(cell)}
        for key in (rec.FAIL_REASON, rec.WORKER, rec.DEVICE, rec.SOURCE_TRIAL, rec.SEED):
            if attrs.get(key) is not None:
                tags[f"{T}{key}"] = hide_secrets(str(attrs[key]), self.uri)[:5000]
        run = self.client.create_run(self.experiment_id, start_time=_ms(trial.datetime_start), tags=tags)
        end = _ms(trial.datetime_complete) or _ms(trial.datetime_start) or 0
        metrics = [(f"epoch_val_{metric}", value, step, end)
                   for step, value in sorted(trial.intermediate_values.items())]
        for key in (rec.score_attr("val", metric), rec.score_attr("test", metric), *_NUMBERS):
            if isinstance(attrs.get(key), (int, float)):
                metrics.append((key, attrs[key], 0, end))
        self._log(run.info.run_id, params=trial.params, metrics=metrics)
        self.client.set_terminated(run.info.run_id, status=_STATUS[trial.state], end_time=end)
        self.known.add((study_id(study.study_name), trial.number))

    def _log(self, run_id: str, params: dict | None = None, metrics: list | None = None) -> None:
        """log_batch within MLflow's limits (1,000 metrics, 100 params, 6,000 characters a value)."""
        from mlflow.entities import Metric, Param

        params = [Param(k, str(v)[:6000]) for k, v in (params or {}).items() if v is not None]
        metrics = [Metric(k, float(v), ts, step) for k, v, step, ts in metrics or () if math.isfinite(v)]
        for i in range(0, len(params), 100):
            self.client.log_batch(run_id, params=params[i:i + 100], synchronous=True)
        for i in range(0, len(metrics), 1000):
            self.client.log_batch(run_id, metrics=metrics[i:i + 1000], synchronous=True)

    def finish(self, study: optuna.Study) -> None:
        """At the end of a run: log what is missing and mark the parent finished (a resume reopens it)."""
        try:
            if self.parent is None:  # stage=reeval: the parent is found (or made) now
                self.start(study, reopen=False)
            elif self.sync(study) == 0 and self.down:
                return  # warned already
            self.client.set_terminated(self.parent, status="FINISHED")
        except Exception as e:  # noqa: BLE001 - the runs stay in the storage: the next run logs them
            log.warning("warning: MLflow at %s failed at the end of the run (%s); the next run logs what it missed",
                        self.where, self._reason(e))

    def log_report(self, study: optuna.Study, verdict: str, files: list) -> None:  # python -m reports
        try:
            self.start(study, reopen=False)
            self.client.log_text(self.parent, verdict, "report/verdict.md")
            for path in files:
                self.client.log_artifact(self.parent, str(path), "report")
        except Exception as e:  # noqa: BLE001 - the report is written; MLflow's copy is a convenience
            log.warning("warning: MLflow at %s: cannot store the report of study '%s' (%s); the report is written",
                        self.where, study.study_name, self._reason(e))


def connect(cfg, storage_url: str) -> MlflowTracker | None:
    """This process's tracker, reached now (a UserError in one line if it cannot be); None for tracking=none."""
    if cfg.kind == "none":
        return None
    tracker = MlflowTracker(cfg, storage_url)
    tracker.connect()
    _trackers[os.getpid()] = tracker
    return tracker


def callbacks(cfg, storage_url: str) -> list:
    """The Optuna callbacks that log each trial: this process's tracker, or (a worker process) one of its own."""
    if cfg.kind == "none":
        return []
    tracker = _trackers.get(os.getpid())
    if tracker is None:
        tracker = _trackers[os.getpid()] = MlflowTracker(cfg, storage_url)  # parent and experiment: from the study
    return [tracker]
