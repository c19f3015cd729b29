"""Several workers on one study: a study-wide budget, safe storages, and no trial lost to a dead worker."""

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend
from optuna.trial import TrialState

from support import run_search, wait_for_training

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
CHEAP = ("study=airline", "train.max_epochs=2", "model.num_layers=1", "search.reeval_seeds=0")


def check_exact(study, budget):
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)), "no trial number twice"
    assert sum(t.state in FINISHED for t in trials) == budget
    assert not [t.number for t in trials if t.state == TrialState.RUNNING], "none left RUNNING"
    return trials


@pytest.mark.slow
def test_sqlite_is_refused_for_several_workers(tmp_path):
    run = run_search(tmp_path, *CHEAP, "workers=2", "storage.url=sqlite:///mine.db")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "SQLite is not safe for workers=2" in lines[0] and "storage=journal" in lines[0]
    assert not (tmp_path / "mine.db").exists()


@pytest.mark.slow
def test_two_workers_default_to_a_journal_file(tmp_path):
    run = run_search(tmp_path, *CHEAP, "workers=2", "search.n_trials=8")
    assert run.returncode == 0, run.stderr
    assert "2 worker processes of 1 torch thread(s) each" in run.stderr
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "cellsearch.log")))
    trials = check_exact(optuna.load_study(study_name="airline", storage=storage), 8)
    assert len({t.user_attrs["worker"] for t in trials if t.state in FINISHED}) == 2, "both workers ran trials"


@pytest.mark.slow
def test_four_workers_on_postgres_stop_at_exactly_the_budget(tmp_path, postgres_url):
    run = run_search(tmp_path, *CHEAP, "workers=4", "storage=postgres", f"storage.url={postgres_url}",
                     "search.n_trials=40")
    assert run.returncode == 0, run.stderr
    trials = check_exact(optuna.load_study(study_name="airline", storage=postgres_url), 40)
    assert len({t.user_attrs["worker"] for t in trials if t.state in FINISHED}) == 4


@pytest.mark.slow
def test_redis_journal_storage(tmp_path, redis_url):
    name = f"airline_{uuid.uuid4().hex[:8]}"
    run = run_search(tmp_path, *CHEAP, "workers=2", "storage=redis", f"storage.url={redis_url}",
                     f"search.study_name={name}", "search.n_trials=6")
    assert run.returncode == 0, run.stderr
    check_exact(optuna.load_study(study_name=name, storage=JournalStorage(JournalRedisBackend(redis_url))), 6)


def wait_for_running_trial(storage, name):
    """A trial that is RUNNING and past its second epoch, with the pid of its worker."""
    trial = wait_for_training(storage, name, epochs=2)[0]
    return trial.number, int(trial.user_attrs["worker"].rsplit(":", 1)[1])


SLOW = ("study=airline", "train.max_epochs=40", "train.patience=40", "pruner=none", "model.num_layers=1",
        "search.reeval_seeds=0")


# a run killed outright, and the run after it: the same experiment, the first slowed so that it is caught mid-trial
KILLED = ("study=airline", "train.max_epochs=4", "model.num_layers=1", "search.reeval_seeds=0")
SLOWLY = {**os.environ, "CELLSEARCH_FAULT": "slow_batches:0.3"}


@pytest.mark.slow
def test_sigkill_of_one_worker_loses_nothing(tmp_path, postgres_url):
    proc = subprocess.Popen([sys.executable, "-m", "search", *SLOW, "workers=3", "storage=postgres",
                             f"storage.url={postgres_url}", "search.n_trials=9"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    number, pid = wait_for_running_trial(postgres_url, "airline")
    os.kill(pid, signal.SIGKILL)
    _out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert f"trial {number}: worker" in err and "killed by signal 9" in err
    trials = check_exact(optuna.load_study(study_name="airline", storage=postgres_url), 9)
    killed = trials[number]
    assert killed.state == TrialState.FAIL and "killed by signal 9" in killed.user_attrs["fail_reason"]
    retries = [t for t in trials if t.user_attrs.get("retry_of") == number]
    assert len(retries) == 1 and retries[0].params == killed.params and retries[0].state in FINISHED
    assert sum(t.state == TrialState.FAIL for t in trials) == 1, "nothing else lost"


@pytest.mark.slow
def test_every_worker_killed_is_an_error_not_a_silent_success(tmp_path):
    """All workers SIGKILLed (the out-of-memory killer on a small machine): the run said nothing and exited 0
    with its budget unmet; it must say so and exit non-zero."""
    proc = subprocess.Popen([sys.executable, "-m", "search", *SLOW, "workers=2", "search.n_trials=6"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=SLOWLY)  # trials of many seconds: none ends before both workers train (CI saw one)
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "cellsearch.log")))
    for trial in wait_for_training(storage, "airline", count=2):
        os.kill(int(trial.user_attrs["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    line = next(line for line in err.splitlines() if line.startswith("error: "))
    assert line.startswith("error: worker(s) 0 (SIGKILL), 1 (SIGKILL) were killed by a signal"), err
    trials = optuna.load_study(study_name="airline", storage=storage).trials
    done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert f"holds {done} of 6 finished trials; run the same command again" in line and done < 6, line
    killed = [t for t in trials if "killed by signal 9" in t.user_attrs.get("fail_reason", "")]
    assert len(killed) == 2 and all(t.state == TrialState.FAIL for t in killed), "both trials reaped at once"


@pytest.mark.slow
def test_ctrl_c_on_one_worker_ends_its_trial_and_the_others_go_on(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "search", *SLOW, "workers=2", "search.n_trials=4"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "cellsearch.log")))
    number, pid = wait_for_running_trial(storage, "airline")
    os.kill(pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    trials = check_exact(optuna.load_study(study_name="airline", storage=storage), 4)
    failed = [t for t in trials if t.state == TrialState.FAIL]  # the trial it ran when the signal came: on a
    assert len(failed) == 1 and failed[0].number >= number  # loaded machine, maybe the one after `number`
    assert failed[0].user_attrs["worker"].endswith(f":{pid}")
    assert failed[0].user_attrs["fail_reason"] == "interrupted by SIGINT (Ctrl-C)"
    survivors = {t.user_attrs["worker"] for t in trials if t.state in FINISHED and t.number > failed[0].number}
    assert survivors and f":{pid}" not in "".join(survivors), "the other worker finished the budget"


@pytest.mark.slow
def test_two_machines_on_postgres_share_one_budget(tmp_path, postgres_url):
    """Two commands at once against one database, as on two machines: the budget is the study's total."""
    machines = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        machines.append(subprocess.Popen([sys.executable, "-m", "search", *CHEAP, "workers=2", "storage=postgres",
                                          f"storage.url={postgres_url}", "search.n_trials=24"],
                                         cwd=tmp_path / name, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True))
    for proc in machines:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    trials = check_exact(optuna.load_study(study_name="airline", storage=postgres_url), 24)
    assert len({t.user_attrs["worker"] for t in trials}) >= 3


@pytest.mark.slow
def test_a_machine_that_dies_is_failed_by_heartbeat_and_retried(tmp_path, postgres_url):
    """The whole command SIGKILLed, as a machine lost: its RUNNING trial is failed once its heartbeat is
    older than the grace period, and the next run retries it with the same parameters."""
    beat = ("storage=postgres", f"storage.url={postgres_url}", "storage.heartbeat_interval=1",
            "storage.grace_period=2")
    proc = subprocess.Popen([sys.executable, "-m", "search", *KILLED, *beat, "search.n_trials=3"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=SLOWLY)
    number, pid = wait_for_running_trial(postgres_url, "airline")
    assert pid == proc.pid
    proc.kill()
    proc.wait(30)
    time.sleep(3)  # older than the grace period
    run = run_search(tmp_path, *KILLED, *beat, "search.n_trials=3")  # the same experiment, at full speed
    assert run.returncode == 0, run.stderr
    trials = check_exact(optuna.load_study(study_name="airline", storage=postgres_url), 3)
    assert trials[number].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == number]
    assert len(retries) == 1 and retries[0].params == trials[number].params and retries[0].state in FINISHED


@pytest.mark.slow
def test_a_run_killed_outright_on_a_journal_file_is_recovered_by_the_next_run(tmp_path):
    """The journal storage has no heartbeat: the next run on this machine finds the dead process's trial."""
    proc = subprocess.Popen([sys.executable, "-m", "search", *KILLED, "storage.url=study.log", "search.n_trials=3"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=SLOWLY)
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "study.log")))
    number, _pid = wait_for_running_trial(storage, "airline")
    proc.kill()
    proc.wait(30)
    run = run_search(tmp_path, *KILLED, "storage.url=study.log", "search.n_trials=3")
    assert run.returncode == 0, run.stderr
    assert "is gone" in run.stderr
    trials = check_exact(optuna.load_study(study_name="airline", storage=storage), 3)
    assert trials[number].state == TrialState.FAIL
    retries = [t for t in trials if t.user_attrs.get("retry_of") == number]
    assert len(retries) == 1 and retries[0].params == trials[number].params
