"""`tracking=mlflow`: the study as one parent run in an MLflow tracking server, each trial (and each run of the
`<study>.reeval` re-evaluation study) as a child run. MLflow is imported here only, and only when chosen; what
each run holds is search/mlflow_runs.py.

The Optuna storage stays the source of truth. `sync(study)` logs every finished trial that the parent has no
child run for yet; it runs after each trial (an Optuna callback), at the start and at the end of a run. No
request to MLflow is made under a storage lock (a slow or absent tracker never holds up another worker's setup):
two workers that log one trial at once make two children, and the next listing of either deletes all but one
(mlflow_runs.redundant). The parent's id is kept in the study's user attribute `mlflow_parent_run`, set under
the storage's setup lock (that lock guards the storage write alone): every machine, and every resumed run,
continues the same one.

A tracker unreachable when a run starts stops it before any trial, in one line; one that fails later costs a
warning: the trial is kept, and the runs it missed are logged by the next sync that succeeds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import time
import uuid

import optuna
from optuna.trial import FrozenTrial

from search import mlflow_runs as runs
from search import records as rec
from search.errors import UserError
from search.mlflow_runs import T, study_id
from search.optuna_internals import storage_of
from search.storage.locks import setup_lock
from search.storage.urls import hide_secrets

log = logging.getLogger(__name__)
PARENT_ATTR = "mlflow_parent_run"  # study user attribute: {"experiment_id", "run_id"}
DEFAULT_URI = "http://127.0.0.1:5000"
_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",  # MLflow's own
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",  # defaults retry for minutes before an error
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}  # not two "View run at" lines per run logged
_trackers: dict[int, MlflowTracker] = {}  # this process's tracker (worker processes make their own)


class MlflowTracker:
    """The MLflow client side: reach the server, find or make the parent, send the runs mlflow_runs describes."""

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
        self.syncing: set[str] = set()  # the tokens of this process's syncs in progress (runs.LOGGER)

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
        """Find the study's parent run, or create it (every machine shares one); a UserError if the tracker
        cannot be reached. `reopen`: mark it RUNNING (a search resumes)."""
        self.listed = False
        try:
            self.parent = self._parent(study, reopen)
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001
            raise UserError(f"{self.where}: cannot create or find the parent run of study '{study.study_name}' "
                            f"({self._reason(e)}); fix the server or use tracking=none; no trial has run") from None
        self.sync(study)

    def _existing_parent(self, stored: dict):
        """The run the study's attribute names, if this server and experiment hold it, active; else None."""
        if stored.get("experiment_id") != self.experiment_id or not stored.get("run_id"):
            return None
        try:
            run = self.client.get_run(stored["run_id"])
        except Exception as e:  # a run this server does not hold: made anew
            if "RESOURCE_DOES_NOT_EXIST" not in str(getattr(e, "error_code", "")) + str(e):
                raise
            return None
        return run if run.info.lifecycle_stage == "active" else None

    def _parent(self, study: optuna.Study, reopen: bool) -> str:
        stored = study.user_attrs.get(PARENT_ATTR) or {}
        run = self._existing_parent(stored)
        if run is not None:
            if reopen and run.info.status != "RUNNING":
                self.client.update_run(run.info.run_id, status="RUNNING")
            return run.info.run_id
        # a new study (even one named as a deleted one), or new to this server or experiment: made here, then
        # claimed in the storage unless another machine claimed one first (its run is kept, this one deleted)
        first = [t.datetime_start for t in study.get_trials(deepcopy=False) if t.datetime_start]
        spec = runs.study_run(study.study_name, study.user_attrs, min(first) if first else None)
        made = self.client.create_run(self.experiment_id, start_time=spec.start_ms, tags=spec.tags).info.run_id
        self._send(made, spec)
        mine = {"experiment_id": self.experiment_id, "run_id": made}
        with setup_lock(self.storage_url):  # the storage alone: read, compare, write
            now = study.user_attrs.get(PARENT_ATTR) or {}
            if now == stored:
                study.set_user_attr(PARENT_ATTR, mine)
        if now == stored:
            return made
        self.client.delete_run(made)
        run = self._existing_parent(now)
        if run is None:
            raise RuntimeError(f"the parent run {now.get('run_id')} another worker made is gone")
        return run.info.run_id

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:  # Optuna's callback, after each trial
        self.sync(study)

    def sync(self, study: optuna.Study) -> int:
        """Log every finished trial of the study and of its re-evaluation study that has no child run yet; the
        number logged. Never raises: a tracker that fails is warned about, and the next sync catches up."""
        try:
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
        token = uuid.uuid4().hex[:12]
        self.syncing.add(token)
        try:
            return self._log_missing(study, f"{socket.gethostname()}/{os.getpid()}/{token}")
        finally:
            self.syncing.discard(token)

    def _logger_ended(self, logger: str) -> bool:
        """Whether the sync that logs a RUNNING child has ended: one of this process that is not in progress,
        or one of a process of this host that is gone. Another host's: not known (its logging may be slow)."""
        host, _, rest = logger.partition("/")
        pid, _, token = rest.partition("/")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        if int(pid) == os.getpid():
            return token not in self.syncing
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, another user's
            return False
        return False

    def _log_missing(self, study: optuna.Study, logger: str) -> int:
        studies = [study]
        with contextlib.suppress(KeyError):  # no re-evaluation study yet
            studies.append(optuna.load_study(study_name=rec.reeval_study_name(study.study_name),
                                             storage=storage_of(study)))
        todo = [(s, t) for s in studies for t in s.get_trials(deepcopy=False, states=tuple(runs.STATUS))
                if (study_id(s.study_name), t.number) not in self.known]
        if not todo:
            return 0
        every = f"tags.`{runs.PARENT_TAG}` = '{self.parent}'"
        filters = ([every] if not self.listed or len(todo) > 3 else  # the usual case, one new trial: ask for it
                   [f"{every} and tags.`{T}study_id` = '{study_id(s.study_name)}' and "  # alone, not for every
                    f"tags.`{T}trial_number` = '{t.number}'" for s, t in todo])  # child the parent has
        for f in filters:
            self._reconcile(f)
        logged = 0
        for s, t in todo:
            if (study_id(s.study_name), t.number) not in self.known:
                spec = runs.trial_run(s.study_name, s.user_attrs, t, self.parent, self.uri)
                spec.tags[runs.LOGGING_SINCE] = str(int(time.time() * 1000))
                spec.tags[runs.LOGGER] = logger
                run_id = self.client.create_run(self.experiment_id, start_time=spec.start_ms,
                                                tags=spec.tags).info.run_id
                self._send(run_id, spec)
                self.known.add((study_id(s.study_name), t.number))
                logged += 1
        if logged:  # another worker may have logged the same trial meanwhile: one copy is kept
            for f in filters:
                self._reconcile(f)
        return logged

    def _reconcile(self, filter_string: str) -> None:
        """List the children that match: add the finished ones to `known`; delete the copies of a trial that two
        workers logged at once but one, and the children cut off in the middle of their logging (they are logged
        again, whole): those whose logger has ended (this process's failed sync, or a process of this host that
        is gone) at once, any other when its logging is older than runs.STALE_MS."""
        found, token, now = [], None, int(time.time() * 1000)
        while True:
            page = self.client.search_runs([self.experiment_id], filter_string, max_results=1000, page_token=token)
            found += [(r.info.run_id, r.info.status, r.data.tags) for r in page]
            token = page.token
            if not token:
                break
        doomed = set(runs.redundant(found))
        for run_id, status, tags in found:
            if runs.cut_off(status, tags, now, self._logger_ended):
                doomed.add(run_id)
            elif status != "RUNNING" and run_id not in doomed and runs.trial_key(tags) is not None:
                self.known.add(runs.trial_key(tags))
        for run_id in doomed:
            with contextlib.suppress(Exception):  # deleted already by the other worker
                self.client.delete_run(run_id)
        if "trial_number" not in filter_string:
            self.listed = True

    def _send(self, run_id: str, spec: runs.RunSpec) -> None:
        """A run's parameters, metrics and files, within MLflow's limits; then its end, if it has one."""
        from mlflow.entities import Metric, Param

        for batch in spec.param_batches():
            self.client.log_batch(run_id, params=[Param(k, v) for k, v in batch.items()], synchronous=True)
        for batch in spec.metric_batches():
            self.client.log_batch(run_id, metrics=[Metric(k, v, ts, step) for k, v, step, ts in batch],
                                  synchronous=True)
        for name, text in spec.text.items():
            self.client.log_text(run_id, text, name)
        if spec.status is not None:
            self.client.set_terminated(run_id, status=spec.status, end_time=spec.end_ms)

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
