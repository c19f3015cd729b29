"""Optuna's journal file, appended so that a writer that dies or fails mid-write leaves no torn record."""

from __future__ import annotations

import json
import os

from optuna.storages.journal import JournalFileBackend

from search.storage.locks import JournalWriteLock


class SafeJournalFileBackend(JournalFileBackend):
    """A SIGKILL during a multi-page write() or a full disk can leave the file ending in part of a line. Optuna's
    reader skips such a tail, but the next append would be glued onto it and make the whole journal unreadable
    from there on. Here every append first cuts an unfinished tail (never acknowledged: its writer died) and, if
    its own write fails, cuts the file back to where it started. Writers take turns on `<journal>.flock`."""

    def __init__(self, file_path: str):
        self.path, self.write_lock = file_path, JournalWriteLock(file_path + ".flock")
        super().__init__(file_path, lock_obj=self.write_lock)

    def append_logs(self, logs: list[dict]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode("utf-8")
        self.write_lock.acquire()
        try:
            with open(self.path, "r+b", buffering=0) as f:
                end = _complete_length(f)
                try:
                    written = 0
                    while written < len(data):
                        written += os.pwrite(f.fileno(), data[written:], end + written)
                    os.fsync(f.fileno())
                except OSError as e:  # a full disk, say: the journal stays as it was
                    f.truncate(end)
                    raise OSError(e.errno, e.strerror, self.path) from e
        finally:
            self.write_lock.release()


def _complete_length(f) -> int:
    """The length of the file up to its last newline; a tail without one is cut off."""
    end = f.seek(0, os.SEEK_END)
    position = end
    while position > 0:
        step = min(4096, position)
        f.seek(position - step)
        chunk = f.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            complete = position - step + newline + 1
            break
        position -= step
    else:
        complete = 0
    if complete != end:
        f.truncate(complete)
    return complete
