"""cluster=slurm: the job scripts, the storages it refuses, and a real Slurm (slurmctld + slurmd on this machine,
started by .ci/run) running a PostgreSQL study with three array tasks to exactly its budget."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from support import run_search, service_or_skip, wait_for_training

SMALL = ("study=airline", "train.max_epochs=2", "model.num_layers=1")


def _slurm_up() -> None:
    def check():
        state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
        if state.returncode != 0 or not ({"idle", "mixed", "allocated"} & set(state.stdout.split())):
            raise RuntimeError(state.stderr.strip() or f"no node up: {state.stdout.strip()!r}")
    service_or_skip("Slurm (sinfo)", check)


@pytest.mark.slow
def test_an_unreachable_server_stops_the_submission_in_one_line_without_its_password(tmp_path):
    url = "postgresql://alice:s3cr%2Fet@db.example:5432/cellsearch"
    run = run_search(tmp_path, *SMALL, "storage=postgres", f"storage.url={url}", "cluster=slurm",
                     "cluster.submit=false", "cluster.tasks=5", "cluster.gpus_per_task=1", "cluster.workers_per_task=2",
                     "cluster.partition=gpu", "cluster.time=01:00:00", "search.n_trials=40", "search.reeval_seeds=2",
                     "cluster.sbatch_args=['--qos=short']")
    assert run.returncode == 2 and "s3cr" not in run.stderr + run.stdout
    assert run.stderr.strip().splitlines()[-1].startswith("error: storage.url=postgresql://alice:***@db.example")
    assert not (tmp_path / "slurm-logs").exists()


@pytest.mark.slow
def test_scripts_repeat_the_command_and_keep_the_password_out(tmp_path, postgres_url):
    url = postgres_url.replace("postgres@", "postgres:s3cr%2Fet@")  # trust auth accepts any password
    run = run_search(tmp_path, *SMALL, "storage=postgres", f"storage.url={url}", "cluster=slurm",
                     "cluster.submit=false", "cluster.tasks=5", "cluster.gpus_per_task=1", "cluster.workers_per_task=2",
                     "cluster.partition=gpu", "cluster.time=01:00:00", "search.n_trials=40", "search.reeval_seeds=2",
                     "cluster.sbatch_args=['--qos=short']")
    assert run.returncode == 0, run.stderr[-2000:]
    search = (tmp_path / "slurm-logs" / "airline.search.sbatch").read_text()
    reeval = (tmp_path / "slurm-logs" / "airline.reeval.sbatch").read_text()
    for line in ("#SBATCH --array=0-4", "#SBATCH --requeue", "#SBATCH --gres=gpu:1", "#SBATCH --partition=gpu",
                 "#SBATCH --time=01:00:00", "#SBATCH --qos=short", "#SBATCH --cpus-per-task=2"):
        assert line in search
    assert "search.n_trials=40" in search and "workers=2" in search and "train.threads=1" in search
    assert "search.reeval_seeds=0" in search and "cluster=local" in search
    assert "stage=reeval" in reeval and "search.reeval_seeds=2" in reeval and "--array" not in reeval
    for text in (search, reeval, run.stdout, run.stderr):
        assert "s3cr" not in text
    assert '"storage.url=${CELLSEARCH_STORAGE_URL}"' in search


@pytest.mark.slow
def test_a_study_name_with_a_slash_stays_a_file_inside_cluster_logs(tmp_path, postgres_url):
    for name, stem in (("a/b", "a_b"), ("../x", ".._x")):
        run = run_search(tmp_path, *SMALL, "storage=postgres", f"storage.url={postgres_url}", "cluster=slurm",
                         "cluster.submit=false", f"search.study_name={name}", "search.reeval_seeds=2")
        assert run.returncode == 0, run.stderr[-2000:]
        assert sorted(p.name for p in (tmp_path / "slurm-logs").iterdir() if stem in p.name) == [
            f"{stem}.reeval.sbatch", f"{stem}.search.sbatch"]
        assert f"--job-name=cellsearch-{stem}" in (tmp_path / "slurm-logs" / f"{stem}.search.sbatch").read_text()
    assert not (tmp_path / "x.search.sbatch").exists(), "nothing written outside cluster.logs"


@pytest.mark.slow
def test_file_and_redis_storages_are_refused_for_a_cluster(tmp_path):
    for url in (None, "study.log", "redis://127.0.0.1:6379/15"):
        run = run_search(tmp_path, *SMALL, "cluster=slurm", *([f"storage.url={url}"] if url else []))
        assert run.returncode == 2
        assert run.stderr.strip().splitlines()[-1].startswith("error: cluster=slurm needs a database server")
    assert not list(tmp_path.glob("*.db")) and not (tmp_path / "slurm-logs").exists()


def _wait_for_jobs(jobs: list[str], timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        queued = subprocess.run(["squeue", "-h", "-j", ",".join(jobs), "-o", "%i %T"], capture_output=True, text=True)
        if queued.returncode == 0 and not queued.stdout.strip():
            return
        time.sleep(2)
    subprocess.run(["scancel", *jobs])
    raise AssertionError(f"Slurm jobs {jobs} still queued or running after {timeout} s: {queued.stdout}")


def _start_requeued_now(job: str, timeout: float = 90) -> None:
    """Slurm holds a requeued job for two minutes (Reason=BeginTime); a test need not wait for that."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        reasons = subprocess.run(["squeue", "-h", "-j", job, "-o", "%r"], capture_output=True, text=True).stdout
        if "BeginTime" in reasons:
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], capture_output=True)
            return
        time.sleep(1)
    raise AssertionError(f"job {job} was not requeued within {timeout} s")


@pytest.mark.slow
def test_a_job_array_on_real_slurm_runs_the_study_to_exactly_its_budget(tmp_path, postgres_url):
    """...and a preemption (scontrol requeue: SIGTERM, then the task again) loses no configuration: the stopped
    trial is failed and queued again once, and the study still ends with exactly its budget."""
    _slurm_up()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CELLSEARCH_FAULT": "slow_batches:0.2"}  # trials of seconds
    run = run_search(tmp_path, *SMALL, "storage=postgres", f"storage.url={postgres_url}", "cluster=slurm",
                     "cluster.tasks=3", "cluster.cpus_per_task=1", "search.n_trials=6", "search.reeval_seeds=1",
                     "storage.heartbeat_interval=2", "storage.grace_period=10", env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "submitted job array" in run.stdout and "re-evaluation job" in run.stdout
    jobs = [word for line in run.stdout.splitlines() if line.startswith("watch: squeue -j ")
            for word in line.split()[3].rstrip(";").split(",")]
    assert len(jobs) == 2
    storage = optuna.storages.RDBStorage(postgres_url)
    wait_for_training(storage, "airline", count=1, epochs=1, timeout=240)
    requeue = subprocess.run(["scontrol", "requeue", jobs[0]], capture_output=True, text=True)
    assert requeue.returncode == 0, requeue.stderr
    _start_requeued_now(jobs[0])
    _wait_for_jobs(jobs, timeout=420)

    study = optuna.load_study(study_name="airline", storage=storage)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 6, [t.state for t in study.trials]
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    stopped = [t for t in study.trials if t.user_attrs.get("fail_reason") == "interrupted by SIGTERM"]
    assert stopped, [(t.number, t.state, t.user_attrs.get("fail_reason")) for t in study.trials]
    retried = {t.user_attrs.get("retry_of"): t for t in study.trials if "retry_of" in t.user_attrs}
    for trial in stopped:
        assert retried[trial.number].params == trial.params
    logs = sorted(Path(tmp_path / "slurm-logs").glob("cellsearch-airline-*_*.out"))
    task_logs = [p for p in logs if "reeval" not in p.name]
    assert len(task_logs) == 3, logs
    for log in task_logs:  # every task joined the one study
        assert "study 'airline' in postgresql://" in log.read_text(), log.read_text()[-2000:]
    reeval = optuna.load_study(study_name="airline.reeval", storage=storage)
    assert len(reeval.trials) == 2
    (reeval_log,) = [p for p in logs if "reeval" in p.name]
    assert "verdict on study 'airline'" in reeval_log.read_text()
