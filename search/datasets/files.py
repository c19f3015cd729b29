"""Where a dataset's file is: `dataset.path`, else its usual place under $CELLSEARCH_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from search.errors import UserError


def data_file(path: str | None, default: Path, what: str, missing: str) -> Path:
    """`path` if given (it must exist: `what` says what to give), else $CELLSEARCH_DATA_DIR/`default`;
    `missing` is the one-line error when there is neither."""
    if path is not None:
        found = Path(path).expanduser()
        if not found.is_file():
            raise UserError(f"dataset.path={path}: no such file; give {what}")
        return found
    data_dir = os.environ.get("CELLSEARCH_DATA_DIR")
    if data_dir and (Path(data_dir) / default).is_file():
        return Path(data_dir) / default
    raise UserError(missing)
