"""Ctrl-C and SIGTERM stop a run at the next safe point: between two training batches, or between two
storage operations, never inside one.

Python's own handler raises KeyboardInterrupt wherever the main thread happens to be. Inside Optuna's storage
code that can leave a lock held (the trial's "failed" record then waits for it forever, and the run never
exits) or a write half applied. So, once `install()`ed, the handler only notes the signal, and `check()`
raises it where the code is ready for it: before each training batch (search/train.py), between trials and
while waiting for other workers (search/workers/admission.py). A second signal before that point raises at once, so a
run stuck elsewhere can still be stopped. Inside `interruptible()` (loading the data: no storage work) a
signal raises at once, as usual.
"""

from __future__ import annotations

import contextlib
import os
import signal

_pending: str | None = None  # the name of a signal received and not yet acted on
_immediate = 0  # > 0 inside interruptible()


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised at a safe point; `str()` is the signal's name."""


def _on_signal(signum: int, frame) -> None:
    global _pending
    name = signal.Signals(signum).name
    if _immediate or _pending is not None:
        _pending = None
        raise Interrupted(name)
    _pending = name
    # os.write, not print: a handler may run while the main thread is inside a print to the same stream
    os.write(2, f"\n{name}: stopping at the next safe point (send it again to stop at once)\n".encode())


def install() -> None:
    """Take over SIGINT and SIGTERM for this process (the main thread of each process that runs trials)."""
    global _pending
    _pending = None
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def signal_name(e: KeyboardInterrupt) -> str:
    """The signal behind `e`: Interrupted carries its name; a plain KeyboardInterrupt is Python's own SIGINT."""
    return str(e) or "SIGINT"


def check() -> None:
    """Raise Interrupted if a signal arrived since the last check."""
    global _pending
    if _pending is not None:
        name, _pending = _pending, None
        raise Interrupted(name)


@contextlib.contextmanager
def interruptible():
    """A stretch without storage work, where a signal may raise at once (one already pending raises on entry)."""
    global _immediate
    check()
    _immediate += 1
    try:
        yield
    finally:
        _immediate -= 1
