"""Hardening: `python -m search` killed outright at random moments, a read-only or full disk under the storage
or the artifacts folder, and an accelerator out of memory. Every run here is the real command in a fresh
directory, on a search space small enough that a trial trains in a fraction of a second."""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import torch
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from support import run_search

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
TINY_SPACE = """\
model.cell:         {type: categorical, choices: [lstm, gru]}
model.hidden_size:  {type: int, low: 4, high: 8}
train.lr:           {type: float, low: 1.0e-3, high: 3.0e-2, log: true}
dataset.seq_len:    {type: int, low: 3, high: 6}
"""
# a dead process's trial is failed after 2 s: its heartbeat (SQLite) or, unclaimed, its start (every storage)
BEAT = ("storage.heartbeat_interval=1", "storage.grace_period=2")


def tiny(tmp_path: Path, *extra: str) -> list[str]:
    """The airline study on a space of tiny models, 2 epochs each, one torch thread."""
    conf = tmp_path / "myconf"
    (conf / "space").mkdir(parents=True, exist_ok=True)
    (conf / "space" / "tiny.yaml").write_text(TINY_SPACE)
    return ["study=airline", "space=tiny", f"hydra.searchpath=[file://{conf}]", "train.max_epochs=2",
            "train.threads=1", *BEAT, *extra]


def sqlite(path: Path) -> str:
    return f"sqlite:///{path}"


def journal(path: Path) -> JournalStorage:
    """The journal file as Optuna itself (and optuna-dashboard) reads it."""
    return JournalStorage(JournalFileBackend(str(path)))


def storage_of(tmp_path: Path, kind: str) -> tuple[str, object]:
    """The `storage.url` override for `kind` (sqlite or journal) and the storage as Optuna opens it."""
    if kind == "sqlite":
        return "sqlite:///cellsearch.db", sqlite(tmp_path / "cellsearch.db")
    return "cellsearch.log", journal(tmp_path / "cellsearch.log")


def check_intact(storage, artifacts: Path, name: str = "airline") -> list[optuna.trial.FrozenTrial]:
    """The storage opens; every finished trial is whole; every model file under an artifact's name loads."""
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:  # killed before the study was created
        return []
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in trials] == list(range(len(trials))), "trial numbers distinct and in order"
    for t in trials:
        if t.state not in FINISHED:
            continue
        assert t.params.get("cell") in ("lstm", "gru") and "hidden_size" in t.params, (t.number, t.params)
        assert t.user_attrs.get("n_params", 0) > 0 and t.user_attrs["cell"] == t.params["cell"], t.number
        if t.state == TrialState.COMPLETE:
            assert math.isfinite(t.value) and t.value == t.user_attrs["val_rmse"], t.number
            assert math.isfinite(t.user_attrs["test_rmse"]), t.number
        if "model_artifact" in t.user_attrs:
            assert (artifacts / t.user_attrs["model_artifact"]).is_file(), f"trial {t.number}: its model is missing"
    if artifacts.is_dir():
        for file in artifacts.iterdir():
            if not file.name.startswith("."):  # .partial-<pid>-*: a killed writer's, never under an artifact's name
                saved = torch.load(file, weights_only=True)
                assert "state_dict" in saved and "config" in saved, file
    return trials


class Killed:
    """`python -m search` started now; `ready` is set once it has opened the study and starts running trials."""

    def __init__(self, cwd: Path, args: list[str]):
        self.proc = subprocess.Popen([sys.executable, "-m", "search", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.ready, self.err = threading.Event(), []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.err.append(line)
            if "finished trials present" in line or "nothing to run" in line:
                self.ready.set()

    def kill_after(self, rng: random.Random, early: bool, signum: int = signal.SIGKILL) -> str:
        """`signum` at a random moment: while starting and opening the storage, or while running trials."""
        if early:
            time.sleep(rng.uniform(0.2, 3.0))
            moment = "starting"
        else:
            assert self.ready.wait(120), "".join(self.err)
            time.sleep(rng.uniform(0.0, 1.5))
            moment = "running trials"
        alive = self.proc.poll() is None
        self.proc.send_signal(signum)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{signal.Signals(signum).name} while {moment}: still running 30 s later") from None
        return moment if alive else "had already ended"


def soak(tmp_path: Path, args: list[str], storage, artifacts: Path, kills: int, seed: int) -> list:
    rng = random.Random(seed)
    moments = []
    for i in range(kills):
        moments.append(Killed(tmp_path, args).kill_after(rng, early=i % 4 == 3))
        check_intact(storage, artifacts)
    assert moments.count("running trials") >= kills // 2, moments
    run = run_search(tmp_path, *args, timeout=300)
    assert run.returncode == 0, run.stderr
    trials = check_intact(storage, artifacts)
    assert sum(t.state in FINISHED for t in trials) == 12, [(t.number, t.state) for t in trials]
    assert not [t.number for t in trials if t.state == TrialState.RUNNING], "no trial left RUNNING"
    reasons = [t.user_attrs.get("fail_reason", "heartbeat stale") for t in trials if t.state == TrialState.FAIL]
    print(f"\nsoak: kills at {moments}; {len(trials)} trials, failed: {reasons}")  # shown with pytest -s
    return trials


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_sigkill_at_random_moments_loses_nothing_and_the_budget_is_met(tmp_path, kind):
    """SIGKILL, 8 times, at random moments (starting, opening the storage, training, writing a trial or a
    model), then a run to the end: after every kill the storage opens and its finished trials are whole; at
    the end the study holds exactly the budget and nothing RUNNING (the dead runs' trials were failed by
    heartbeat on SQLite, by the dead-process reaper on the journal), and the saved models load."""
    url, storage = storage_of(tmp_path, kind)
    args = tiny(tmp_path, f"storage.url={url}", "search.n_trials=12")
    soak(tmp_path, args, storage, tmp_path / "cellsearch-artifacts", kills=5, seed=8 if kind == "sqlite" else 9)
    if kind == "sqlite":  # the best trial of each cell retrained from what the killed runs stored
        reeval = run_search(tmp_path, *args, "stage=reeval", "search.reeval_seeds=1", timeout=300)
        assert reeval.returncode == 0 and "re-evaluation" in reeval.stdout, reeval.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_sigint_and_sigterm_at_random_moments_end_the_run_cleanly(tmp_path, kind):
    """Ctrl-C or SIGTERM, 6 times, at random moments of runs of tiny trials (most of whose time is storage
    writes, where Python's own handler would leave a lock held or a write half done): every run exits
    within 30 s, with 130 and the resume hint, leaving no trial RUNNING (its own trial recorded as failed,
    with the signal's name) and the storage whole; the next run completes the budget."""
    url, storage = storage_of(tmp_path, kind)
    args = tiny(tmp_path, f"storage.url={url}", "search.n_trials=40")
    rng = random.Random(3 if kind == "sqlite" else 4)
    for i in range(6):
        signum = (signal.SIGINT, signal.SIGTERM)[i % 2]
        run = Killed(tmp_path, args)
        moment = run.kill_after(rng, early=i == 5, signum=signum)
        err = "".join(run.err)
        if moment == "had already ended":
            continue
        assert run.proc.returncode in (130, -signum), (moment, err)  # -signum: before the handler is installed
        trials = check_intact(storage, tmp_path / "cellsearch-artifacts")
        assert not [t.number for t in trials if t.state == TrialState.RUNNING], (moment, err)
        if run.proc.returncode == 130:
            assert "run the same command to resume" in err, err
        for t in trials:
            if t.state == TrialState.FAIL:
                assert t.user_attrs["fail_reason"].startswith("interrupted by SIG"), t.user_attrs
    trials = check_intact(storage, tmp_path / "cellsearch-artifacts")
    assert any(t.state == TrialState.FAIL for t in trials), "at least one trial was interrupted"
    budget = sum(t.state in FINISHED for t in trials) + 3  # resuming works (the soak above leaves it unfinished)
    run = run_search(tmp_path, *args, f"search.n_trials={budget}", timeout=300)
    assert run.returncode == 0, run.stderr
    assert sum(t.state in FINISHED for t in check_intact(storage, tmp_path / "cellsearch-artifacts")) == budget


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_trial_whose_process_died_before_claiming_it_is_retried(tmp_path, kind):
    """A process killed between creating its trial and claiming it (no heartbeat, no `worker` attribute yet)
    leaves a RUNNING trial that nothing could tell apart from a live one: it is failed once it is older than
    storage.grace_period, and the budget is met."""
    url, storage = storage_of(tmp_path, kind)
    args = tiny(tmp_path, f"storage.url={url}")
    assert run_search(tmp_path, *args, "search.n_trials=2").returncode == 0
    opener = ("optuna.storages.RDBStorage('sqlite:///cellsearch.db')" if kind == "sqlite" else
              "optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend('cellsearch.log'))")
    code = (f"import optuna, os, signal; s = optuna.load_study(study_name='airline', storage={opener}); "
            "s.ask(); os.kill(os.getpid(), signal.SIGKILL)")
    dead = subprocess.run([sys.executable, "-c", code], cwd=tmp_path)
    assert dead.returncode == -signal.SIGKILL
    run = run_search(tmp_path, *args, "search.n_trials=3", timeout=120)
    assert run.returncode == 0, run.stderr
    trials = check_intact(storage, tmp_path / "cellsearch-artifacts")
    assert sum(t.state in FINISHED for t in trials) == 3 and not [t for t in trials if t.state == TrialState.RUNNING]
    assert "claimed" in trials[2].user_attrs["fail_reason"] and trials[2].state == TrialState.FAIL


@pytest.mark.slow
def test_a_torn_journal_record_is_cut_not_glued_to_the_next(tmp_path):
    """A writer killed in the middle of a multi-page write leaves the journal ending in part of a record; the
    next run appends after the last whole record, and Optuna's own reader opens the file afterwards."""
    args = tiny(tmp_path, "storage.url=cellsearch.log")
    assert run_search(tmp_path, *args, "search.n_trials=2").returncode == 0
    path = tmp_path / "cellsearch.log"
    record = path.read_bytes().splitlines(keepends=True)[-1]
    with open(path, "ab") as f:
        f.write(record[: len(record) // 2])  # what a SIGKILL during write() leaves
    run = run_search(tmp_path, *args, "search.n_trials=3")
    assert run.returncode == 0, run.stderr
    trials = check_intact(journal(path), tmp_path / "cellsearch-artifacts")
    assert sum(t.state in FINISHED for t in trials) == 3


# -- a read-only or full disk ------------------------------------------------------------------------------

def _root_mounts_or_skip() -> None:
    reason = None
    if os.geteuid() != 0 or shutil.which("mount") is None:
        reason = "needs root and mount(8) to mount a small tmpfs (chmod does not stop root from writing)"
    if reason and os.environ.get("CELLSEARCH_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + "; CELLSEARCH_REQUIRE_SERVICES=1 requires it")
    if reason:
        pytest.skip(reason)


@pytest.fixture
def disk(tmp_path):
    """A fresh tmpfs of 2 MB at tmp_path/disk, with `disk.fill()`, `disk.free()`, `disk.read_only()` and
    `disk.writable()`. Unmounted afterwards."""
    _root_mounts_or_skip()
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs: {mounted.stderr.strip()}"
        if os.environ.get("CELLSEARCH_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield Disk(path)
    subprocess.run(["umount", "-l", str(path)], check=True)


class Disk:
    def __init__(self, path: Path):
        self.path = path

    def remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def fill(self, leave_pages: int = 0) -> None:
        """Fill the filesystem to the last byte, then give back `leave_pages` pages of 4 KiB."""
        with open(self.path / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        if leave_pages:
            size = os.path.getsize(self.path / "filler")
            os.truncate(self.path / "filler", max(0, size - leave_pages * 4096))

    def free(self) -> None:
        (self.path / "filler").unlink()


def one_line(run: subprocess.CompletedProcess) -> str:
    """The run's one error line (its last); what came before it is the run's usual progress, no traceback."""
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and lines[-1].startswith("error: "), run.stderr
    assert "Traceback" not in run.stderr and [line.startswith("error") for line in lines].count(True) == 1, run.stderr
    return lines[-1]


def snapshot(storage) -> list:
    """Each trial's number, state, value and parameters. A SQLite URL is opened and closed again (an open file
    keeps its filesystem from being remounted read-only)."""
    opened = optuna.storages.RDBStorage(storage) if isinstance(storage, str) else storage
    try:
        return [(t.number, t.state, t.value, t.params)
                for t in optuna.load_study(study_name="airline", storage=opened).trials]
    finally:
        if isinstance(storage, str):
            opened.engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_full_disk_under_the_storage_stops_with_one_line_and_keeps_the_study(tmp_path, disk, kind):
    name = "study.db" if kind == "sqlite" else "study.log"
    url = f"sqlite:///{disk.path / name}" if kind == "sqlite" else str(disk.path / name)
    storage = sqlite(disk.path / name) if kind == "sqlite" else journal(disk.path / name)
    args = tiny(tmp_path, f"storage.url={url}", f"storage.artifacts={tmp_path / 'models'}")
    assert run_search(tmp_path, *args, "search.n_trials=2").returncode == 0
    before = snapshot(storage)
    disk.fill()
    line = one_line(run_search(tmp_path, *args, "search.n_trials=4"))
    assert "disk full" in line and str(disk.path / name) in line and "free space" in line, line
    disk.free()
    assert snapshot(storage)[:2] == before, "the earlier trials are as they were"
    run = run_search(tmp_path, *args, "search.n_trials=4", timeout=120)  # resumed once there is space again
    assert run.returncode == 0, run.stderr
    trials = check_intact(storage, tmp_path / "models")
    assert sum(t.state in FINISHED for t in trials) == 4 and not [t for t in trials if t.state == TrialState.RUNNING]


@pytest.mark.slow
def test_a_read_only_sqlite_file_stops_with_one_line_and_keeps_the_study(tmp_path, disk):
    url = f"sqlite:///{disk.path / 'study.db'}"
    args = tiny(tmp_path, f"storage.url={url}", f"storage.artifacts={tmp_path / 'models'}")
    assert run_search(tmp_path, *args, "search.n_trials=2").returncode == 0
    before = snapshot(url)
    disk.remount("ro")
    line = one_line(run_search(tmp_path, *args, "search.n_trials=4"))
    assert "read-only" in line and str(disk.path / "study.db") in line and "writable" in line, line
    assert snapshot(url) == before
    disk.remount("rw")
    assert snapshot(url) == before


@pytest.mark.slow
@pytest.mark.parametrize("state", ["read-only", "full", "full after the check"])
def test_an_artifacts_folder_that_refuses_the_model_stops_with_one_line(tmp_path, disk, state):
    """storage.artifacts on a read-only or full disk: refused before training; a disk that fills up between
    that check and saving the first model: that trial fails with the reason, and the run stops."""
    args = tiny(tmp_path, f"storage.artifacts={disk.path}", "search.n_trials=2")
    if state == "read-only":
        disk.remount("ro")
    else:
        disk.fill(leave_pages=1 if state == "full after the check" else 0)
    line = one_line(run_search(tmp_path, *args))
    what = "read-only" if state == "read-only" else "disk full"
    assert line.startswith(f"error: {what}: cannot write {disk.path}") and "storage.artifacts=" in line, line
    if state == "full after the check":
        trials = optuna.load_study(study_name="airline", storage=sqlite(tmp_path / "cellsearch.db")).trials
        assert trials[0].state == TrialState.FAIL and "disk full" in trials[0].user_attrs["fail_reason"]
        assert not [f for f in disk.path.iterdir() if f.name != "filler"], "no model file, whole or half"
    else:
        trials = optuna.load_study(study_name="airline", storage=sqlite(tmp_path / "cellsearch.db")).trials
        assert {t.state for t in trials} == {TrialState.WAITING}, "refused before any trial ran (both cells queued)"


# -- out of memory on an accelerator ---------------------------------------------------------------------------

@pytest.mark.slow
def test_out_of_memory_prunes_that_trial_with_its_reason_and_the_study_goes_on(tmp_path):
    """torch.OutOfMemoryError raised in training (CELLSEARCH_FAULT=oom_at_epoch:2: the first trial to reach
    epoch 2, as a GPU allocation would; CPU torch never raises it) ends that trial with fail_reason stored,
    and the study runs on to its budget."""
    env = {**os.environ, "CELLSEARCH_FAULT": "oom_at_epoch:2"}
    run = run_search(tmp_path, *tiny(tmp_path, "search.n_trials=4", "pruner=none"), env=env)
    assert run.returncode == 0, run.stderr
    trials = optuna.load_study(study_name="airline", storage=sqlite(tmp_path / "cellsearch.db")).trials
    assert [t.state for t in trials] == [TrialState.PRUNED] + [TrialState.COMPLETE] * 3
    assert trials[0].user_attrs["fail_reason"] == ("out of memory on cpu: CUDA out of memory "
                                                   "(injected by CELLSEARCH_FAULT=oom_at_epoch:2)")
    assert list(trials[0].intermediate_values) == [1], "it ended in epoch 2, after reporting epoch 1"


@pytest.mark.slow
def test_a_rejected_login_is_one_line_with_the_password_masked(tmp_path, postgres_url):
    """The server here trusts every local login, so a wrong password cannot be refused; a login as a role that
    does not exist is refused the same way (at connection time, by the server) and stands in for it."""
    url = postgres_url.replace("postgres@", "no_such_role:s3cret@")
    result = run_search(tmp_path, "study=airline", f"storage.url={url}")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "cannot be opened" in result.stderr and 'role "no_such_role" does not exist' in result.stderr
    assert "s3cret" not in result.stdout + result.stderr and "no_such_role:***@" in result.stderr
