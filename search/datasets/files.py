"""Where a dataset's file is: `dataset.path`, else its usual place under $CELLSEARCH_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from search.errors import UserError


def require_file(path: Path, setting: str | None, what: str) -> Path:
    """`path` if it is a file; else a one-line error (naming `setting`, the key it came from, if one) that
    says whether it is missing or a folder."""
    named = f"{setting}={path}" if setting else str(path)
    if path.is_dir():
        raise UserError(f"{named} is a folder, not a file; give {what}")
    if not path.is_file():
        raise UserError(f"{named}: no such file; give {what}")
    return path


def data_file(path: str | None, default: Path, what: str, missing: str) -> Path:
    """`path` if given (it must exist: `what` says what to give), else $CELLSEARCH_DATA_DIR/`default`;
    `missing` is the one-line error when there is neither."""
    if path is not None:
        return require_file(Path(path).expanduser(), "dataset.path", what)
    data_dir = os.environ.get("CELLSEARCH_DATA_DIR")
    if data_dir and (Path(data_dir) / default).is_file():
        return Path(data_dir) / default
    raise UserError(missing)
