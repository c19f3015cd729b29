"""The one exception type that the command line turns into a one-line message and a non-zero exit, and the
one place where a storage or artifact write that the disk refused becomes such a message."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3

from search.storage.urls import local_file, mask


class UserError(Exception):
    """Something the user can fix: a config value, a file, a storage URL. The message says what and how."""


_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_SQLITE = {  # sqlite3.OperationalError messages -> (what happened, is it a full disk)
    "database or disk is full": ("disk full", True),
    "attempt to write a readonly database": ("read-only", False),
    "unable to open database file": ("cannot open or create the file (missing, read-only or full folder)", False),
    "disk i/o error": ("disk I/O error (full, removed or failing disk)", True),
}
_POSTGRES = {"53100": ("disk full on the database server", True),  # SQLSTATE disk_full
             "25006": ("read-only database server", False)}  # read_only_sql_transaction


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper of the driver's exception
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        exc = exc.__cause__ or exc.__context__


def write_error(exc: BaseException, path: str | None, setting: str = "storage.url") -> UserError | None:
    """A UserError saying what the disk refused (full, read-only) and how to fix it, if `exc` (or what caused
    it) is a refused write: an OSError ENOSPC/EDQUOT/EROFS/EACCES/EPERM, SQLite's "database or disk is full" /
    "attempt to write a readonly database" / "unable to open database file" / "disk I/O error", or
    PostgreSQL's disk_full / read_only_sql_transaction. None for anything else, which is then not hidden.

    `path` is the file or folder written (a storage URL is reduced to its file), `setting` the key that moves it."""
    for cause in _chain(exc):
        found = None
        if isinstance(cause, OSError) and cause.errno in _FULL + _READ_ONLY:
            full = cause.errno in _FULL
            what = "disk full" if full else ("read-only" if cause.errno == errno.EROFS else "permission denied")
            found = (what, full, cause.filename or path, cause.strerror)
        elif isinstance(cause, sqlite3.OperationalError):
            message = str(cause).lower()
            for key, (what, full) in _SQLITE.items():
                if key in message:
                    found = (what, full, path, str(cause))
        elif getattr(cause, "sqlstate", None) in _POSTGRES:
            what, full = _POSTGRES[cause.sqlstate]
            found = (what, full, path, str(cause).splitlines()[0])
        if found is None:
            continue
        what, full, where, detail = found
        where = (local_file(str(where)) or str(where)) if where is not None else "the storage"
        if "://" in where:  # a database server
            fix = "free space on the server" if full else "connect to a server that accepts writes"
        elif full:
            fix = f"free space there (df -h {os.path.dirname(os.path.abspath(where))})"
        else:
            fix = "make it and its folder writable (chmod, or remount the disk read-write)"
        return UserError(f"{what}: cannot write {mask(where)} ({detail}); {fix}, or choose another place with "
                         f"{setting}=...; finished trials are kept: run the same command again to resume")
    return None


class RepeatedConfig(Exception):
    """A trial drew the parameters of a trial that already finished: it is failed untrained (search/objective.py)."""


def _not_reported_elsewhere(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    if error is None:
        return True
    if isinstance(error, (UserError, RepeatedConfig, KeyboardInterrupt)):
        return False  # our one line says it (an interruption: the resume hint; a repeat: the progress line)
    return write_error(error, None) is None


def quiet_optuna_failures() -> None:
    """Optuna logs a failed trial's exception with its traceback; a UserError, a refused write, an interruption
    or a repeated configuration is then reported once, in one line, by cellsearch instead."""
    from search.optuna_internals import failure_logger  # here: the error type loads without optuna

    logger = failure_logger()
    if _not_reported_elsewhere not in logger.filters:
        logger.addFilter(_not_reported_elsewhere)
