"""Ctrl-C and SIGTERM never land inside a storage write (search/interrupt.py), on a real journal file.

The end-to-end cases (a run interrupted during training, one worker of several, resume) are in test_study.py
and test_workers.py; here the signal is sent at a chosen moment: in the middle of a storage write."""

import os
import signal
import threading
import time

import optuna
import pytest
from optuna.storages import JournalStorage

from search import interrupt
from search.storage.journal import SafeJournalFileBackend


class SlowJournal(SafeJournalFileBackend):
    """The real journal file; each append takes 0.5 s more, so that a signal can be sent in the middle of one."""

    def append_logs(self, logs):
        self.write_lock.acquire()
        try:
            time.sleep(0.5)
        finally:
            self.write_lock.release()
        super().append_logs(logs)


@pytest.fixture
def handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def study_on(path):
    return optuna.create_study(study_name="s", storage=JournalStorage(SlowJournal(str(path))))


def reloaded(path):
    return optuna.load_study(study_name="s", storage=JournalStorage(SafeJournalFileBackend(str(path))))


def signal_soon(signum, delay=0.2):
    threading.Timer(delay, os.kill, (os.getpid(), signum)).start()


def test_python_alone_would_interrupt_the_write(tmp_path, handlers):
    """What search/interrupt.py prevents: with Python's own handler, the signal cuts the write short."""
    study = study_on(tmp_path / "j.log")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal_soon(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        study.set_user_attr("note", "written")
    assert "note" not in reloaded(tmp_path / "j.log").user_attrs


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_write_waits_for_the_next_check(tmp_path, handlers, signum):
    study = study_on(tmp_path / "j.log")
    interrupt.install()
    signal_soon(signum)
    study.set_user_attr("note", "written")  # not interrupted
    assert reloaded(tmp_path / "j.log").user_attrs["note"] == "written"
    with pytest.raises(interrupt.Interrupted, match=signal.Signals(signum).name):
        interrupt.check()
    interrupt.check()  # once acted on, it is gone


def test_a_second_signal_stops_at_once(tmp_path, handlers):
    """A run stuck away from any check (here: a write that takes long) still stops on the second signal."""
    study = study_on(tmp_path / "j.log")
    interrupt.install()
    signal_soon(signal.SIGINT, 0.1)
    signal_soon(signal.SIGINT, 0.3)
    with pytest.raises(interrupt.Interrupted, match="SIGINT"):
        study.set_user_attr("note", "written")
    interrupt.check()  # nothing left pending


def test_interruptible_stretches_stop_at_once(handlers):
    interrupt.install()
    started = time.monotonic()
    with pytest.raises(interrupt.Interrupted, match="SIGTERM"), interrupt.interruptible():
        signal_soon(signal.SIGTERM, 0.1)
        time.sleep(5)
    assert time.monotonic() - started < 2
    signal_soon(signal.SIGTERM, 0.1)
    time.sleep(0.5)  # outside: noted, not raised
    with pytest.raises(interrupt.Interrupted), interrupt.interruptible():  # a pending one raises on entry
        pass
