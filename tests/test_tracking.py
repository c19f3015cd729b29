"""tracking=mlflow against a real MLflow tracking server (SQLite backend, loopback, started here), read back
through MLflow's client: a run per trial and per re-evaluation run, metrics and tags as the Optuna storage
holds them, a resumed study continuing its parent, an unreachable tracker refused before any trial, a tracker
cut off mid-study losing no trial (the next run logs what it missed), and the report's files on the parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import optuna
import pytest
from optuna.trial import TrialState

from search.mlflow_runs import study_id, trial_run
from search.records import reeval_study_name
from support import run_search, service_or_skip

ARGS = ("study=airline", "search.n_trials=4", "train.max_epochs=2", "tracking=mlflow")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_mlflow() -> None:
    service_or_skip("MLflow (pip install '.[mlflow]')", lambda: __import__("mlflow"))


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    _require_mlflow()
    root, port = tmp_path_factory.mktemp("mlflow"), _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no job runner: one process, fast start
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
                               f"sqlite:///{root}/mlflow.db", "--artifacts-destination", str(root / "artifacts"),
                               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"), start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(uri + "/health", timeout=2).close()
            break
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                os.killpg(server.pid, signal.SIGKILL)
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
    yield uri
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def _runs(uri: str, experiment: str) -> tuple[list, list]:
    """(parent runs, child runs) of the experiment, read through MLflow's client."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000) if exp else []
    return ([r for r in runs if r.data.tags.get("cellsearch.kind") == "study"],
            [r for r in runs if "mlflow.parentRunId" in r.data.tags])


def _finished(url: str, name: str) -> list:
    try:
        return optuna.load_study(study_name=name, storage=url).get_trials(states=FINISHED)
    except KeyError:
        return []


def _check_children(uri: str, experiment: str, url: str, name: str) -> tuple[str, list]:
    """Each finished trial and re-evaluation run is one child of the study's one parent, as stored."""
    from mlflow import MlflowClient

    parents, children = _runs(uri, experiment)
    assert len(parents) == 1, parents
    parent = parents[0].info.run_id
    assert optuna.load_study(study_name=name, storage=url).user_attrs["mlflow_parent_run"]["run_id"] == parent
    expected = {(name, t.number): t for t in _finished(url, name)}
    expected.update({(reeval_study_name(name), t.number): t for t in _finished(url, reeval_study_name(name))})
    got = {(r.data.tags["cellsearch.study"], int(r.data.tags["cellsearch.trial_number"])): r for r in children}
    assert len(children) == len(got) == len(expected) and got.keys() == expected.keys()
    metric = "rmse"
    for key, trial in expected.items():
        run = got[key]
        tags, metrics = run.data.tags, run.data.metrics
        assert tags["mlflow.parentRunId"] == parent and tags["cellsearch.study_id"] == study_id(key[0])
        assert tags["cellsearch.state"] == {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}[
            trial.state.name]
        assert tags["cellsearch.cell"] == trial.user_attrs["cell"]
        assert tags.get("cellsearch.fail_reason") == trial.user_attrs.get("fail_reason")
        assert run.data.params == {k: str(v) for k, v in trial.params.items()}
        for attr in ("val_rmse", "test_rmse", "n_params", "sec_per_epoch", "epochs", "best_epoch"):
            assert metrics[attr] == pytest.approx(trial.user_attrs[attr]), attr
        if key[0] == name:
            assert metrics["n_params_recurrent"] == trial.user_attrs["n_params_recurrent"]
            history = MlflowClient(uri).get_metric_history(run.info.run_id, f"epoch_val_{metric}")
            assert {m.step: m.value for m in history} == pytest.approx(trial.intermediate_values)
    return parent, children


@pytest.mark.slow
def test_trials_and_reeval_runs_are_children_of_one_parent_and_the_report_its_artifacts(tmp_path, mlflow_uri):
    from mlflow import MlflowClient

    url, exp = f"sqlite:///{tmp_path}/s.db", "logged"
    args = (*ARGS, "search.reeval_seeds=1", f"storage.url={url}", f"tracking.uri={mlflow_uri}",
            f"tracking.experiment={exp}")
    first = run_search(tmp_path, *args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "View run" not in first.stdout + first.stderr  # MLflow's per-run chatter is kept out
    parent, children = _check_children(mlflow_uri, exp, url, "airline")
    assert sum(r.data.tags["cellsearch.kind"] == "reeval" for r in children) == 2  # 1 seed x 2 cells
    assert MlflowClient(mlflow_uri).get_run(parent).info.status == "FINISHED"

    report = subprocess.run([sys.executable, "-m", "reports", f"storage.url={url}", "out=r/index.html",
                             "dashboard=false", "tracking=mlflow", f"tracking.uri={mlflow_uri}",
                             f"tracking.experiment={exp}"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    client = MlflowClient(mlflow_uri)
    files = {a.path for a in client.list_artifacts(parent, "report")}
    assert files == {"report/verdict.md", "report/index.html", "report/index.csv"}
    verdict = open(client.download_artifacts(parent, "report/verdict.md", str(tmp_path))).read()
    assert "cellsearch verdict:" in verdict


@pytest.mark.slow
def test_unreachable_tracker_stops_before_any_trial_in_one_line(tmp_path):
    _require_mlflow()
    url, port = f"sqlite:///{tmp_path}/s.db", _free_port()  # nothing listens there
    optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/r.db")  # an empty storage for the report
    tracker = f"tracking.uri=http://me:s3cret@127.0.0.1:{port}"
    search, report = (subprocess.Popen([sys.executable, "-m", *argv], cwd=tmp_path, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)  # both at once: half the time
                      for argv in (("search", *ARGS, f"storage.url={url}", tracker),
                                   ("reports", f"storage.url=sqlite:///{tmp_path}/r.db", "tracking=mlflow", tracker)))
    for run in (search, report):
        out, err = run.communicate(timeout=300)
        lines = err.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1, lines
        assert lines[0].startswith(f"error: tracking.uri=http://me:***@127.0.0.1:{port} cannot be reached"), lines
        assert "connection refused" in lines[0] and "s3cret" not in out + err
    assert not _finished(url, "airline") and not optuna.get_all_study_names(url)  # no study, no trial


class _Proxy:
    """A TCP relay to the MLflow server that can be cut (open connections closed, new ones refused) and
    restored: the tracker going away in the middle of a study, and coming back."""

    def __init__(self, target: int):
        self.target, self.port, self.conns, self.listener = target, _free_port(), [], None
        self.restore()

    def restore(self, stalled: bool = False) -> None:
        """Relay again; `stalled`: accept connections but never answer (a server that hangs)."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener, stalled), daemon=True).start()

    def _accept(self, listener, stalled: bool) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if stalled:
                self.conns.append(client)
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress (close alone would not)
        self.listener.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conns = []


@pytest.mark.slow
def test_a_tracker_that_fails_mid_study_loses_no_trial_and_the_resumed_run_logs_the_missing_runs(tmp_path,
                                                                                                  mlflow_uri):
    proxy = _Proxy(int(mlflow_uri.rsplit(":", 1)[1]))
    url, exp = f"sqlite:///{tmp_path}/s.db", "cut"
    args = (*(a.replace("n_trials=4", "n_trials=3") for a in ARGS), "search.reeval_seeds=0", f"storage.url={url}",
            f"tracking.uri=http://127.0.0.1:{proxy.port}", f"tracking.experiment={exp}")
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}  # each failed sync fails at once, not in 3 s
    run = subprocess.Popen([sys.executable, "-m", "search", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 300
    while not _finished(url, "airline") and time.time() < deadline and run.poll() is None:
        time.sleep(0.2)
    proxy.cut()  # after the first trial: the rest cannot be logged
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err[-3000:]
    trials = _finished(url, "airline")
    assert len(trials) == 3 and all(t.state == TrialState.COMPLETE for t in trials)  # no trial lost or failed
    assert err.count("warning: MLflow at tracking.uri=") == 1 and "the runs it missed are logged" in err
    assert len(_runs(mlflow_uri, exp)[1]) < 3
    parent = _runs(mlflow_uri, exp)[0][0].info.run_id

    proxy.restore()
    again = run_search(tmp_path, *(a.replace("n_trials=3", "n_trials=4") for a in args))  # resumed: one more trial
    assert again.returncode == 0, again.stderr[-3000:]
    assert _check_children(mlflow_uri, exp, url, "airline")[0] == parent  # the same parent, now with all 4


def _tracker(url: str, uri: str, experiment: str):
    import search.tracking
    from search.config import TrackingConfig

    return search.tracking.connect(TrackingConfig(kind="mlflow", uri=uri, experiment=experiment), url)


def _finished_trial(number_of_epochs: int = 2):
    return optuna.trial.create_trial(value=1.0, params={}, distributions={}, user_attrs={"cell": "lstm"},
                                     intermediate_values={e: 2.0 / e for e in range(1, number_of_epochs + 1)})


@pytest.mark.slow
def test_a_hanging_tracker_never_holds_the_storage_setup_lock(tmp_path, mlflow_uri, monkeypatch):
    """A worker whose sync waits on an MLflow server that does not answer holds up no other worker: the setup
    lock (which every worker takes to create or join the study) stays free. Each sync used to hold it over its
    requests, for as long as their timeouts and retries took."""
    from search.storage.locks import setup_lock

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "8")
    proxy = _Proxy(int(mlflow_uri.rsplit(":", 1)[1]))
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="hang", storage=url)
    tracker = _tracker(url, f"http://127.0.0.1:{proxy.port}", "hang")
    tracker.start(study)
    study.add_trial(_finished_trial())
    proxy.cut()
    proxy.restore(stalled=True)
    syncing = threading.Thread(target=tracker.sync, args=(study,), daemon=True)
    syncing.start()
    time.sleep(1.0)
    assert syncing.is_alive(), "the sync is waiting on the server"
    taken = threading.Event()

    def set_up() -> None:
        with setup_lock(url):
            taken.set()

    threading.Thread(target=set_up, daemon=True).start()
    assert taken.wait(4), "the setup lock was held while MLflow did not answer"
    syncing.join(30)
    proxy.cut()
    proxy.restore()
    assert tracker.sync(study) == 1 and len(_runs(mlflow_uri, "hang")[1]) == 1  # logged once it answers


@pytest.mark.slow
def test_two_workers_logging_one_trial_at_once_leave_one_child(tmp_path, mlflow_uri):
    """Without a lock across machines two workers may log the same trial: the copy a race leaves is deleted by
    the next listing, the same one on each, and a second worker joining the study adopts the first's parent."""
    from mlflow import MlflowClient

    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="race", storage=url)
    first, second = _tracker(url, mlflow_uri, "race"), _tracker(url, mlflow_uri, "race")
    first.start(study)
    second.start(study)
    assert first.parent == second.parent, "one parent for the study"
    study.add_trial(_finished_trial())
    assert first.sync(study) == 1
    trial = study.trials[0]
    spec = trial_run("race", {}, trial, first.parent)
    copy = MlflowClient(mlflow_uri).create_run(first.experiment_id, tags=spec.tags).info.run_id  # the race's copy
    MlflowClient(mlflow_uri).set_terminated(copy, "FINISHED")
    study.add_trial(_finished_trial(3))
    assert second.sync(study) == 1  # lists every child (it has listed none yet): keeps one copy of trial 0
    children = _runs(mlflow_uri, "race")[1]
    numbers = sorted(int(r.data.tags["cellsearch.trial_number"]) for r in children)
    assert numbers == [0, 1], numbers


@pytest.mark.slow
def test_a_child_cut_off_by_a_logger_that_ended_is_replaced_at_once(tmp_path, mlflow_uri):
    """A child left RUNNING by a logger known to have ended (a process of this host that is gone, or this
    process's sync that failed) is deleted by the next sync and the trial logged again whole, at once rather than
    after runs.STALE_MS; one whose logger is alive is left to finish. (CI once found two children of one trial
    after a tracker was cut off in the middle of logging it and the study resumed.)"""
    from mlflow import MlflowClient

    from search.mlflow_runs import LOGGER, LOGGING_SINCE

    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="orphans", storage=url)
    tracker = _tracker(url, mlflow_uri, "orphans")
    tracker.start(study)
    client = MlflowClient(mlflow_uri)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    loggers = [f"{host}/{gone.pid}/a", f"{host}/{os.getpid()}/not-syncing", f"{host}/{os.getppid()}/b"]
    orphans = []
    for number, logger in enumerate(loggers):
        study.add_trial(_finished_trial())
        spec = trial_run("orphans", {}, study.trials[number], tracker.parent)
        tags = {**spec.tags, LOGGING_SINCE: str(int(time.time() * 1000)), LOGGER: logger}
        orphans.append(client.create_run(tracker.experiment_id, tags=tags).info.run_id)  # RUNNING, no metrics
        assert tracker.sync(study) == 1
    children = {r.info.run_id: r for r in _runs(mlflow_uri, "orphans")[1]}
    assert orphans[0] not in children and orphans[1] not in children, "the ended loggers' children are deleted"
    assert orphans[2] in children, "a live logger's child is left to finish"
    finished = sorted(int(r.data.tags["cellsearch.trial_number"]) for r in children.values()
                      if r.info.status == "FINISHED")
    assert finished == [0, 1, 2] and all(children[r].data.metrics for r in children if r != orphans[2])
