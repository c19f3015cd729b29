"""Where a dataset's file is (`dataset.path`, else its usual place under $CELLSEARCH_DATA_DIR), reading it
as text with the undecodable line named, and whether the Hugging Face hub answers."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

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


def find_data(path: str | None, default: Path, what: str, files: tuple[str, ...] = ()) -> Path | None:
    """`path` if given (it must exist: `what` says what to give), else $CELLSEARCH_DATA_DIR/`default` if it
    is there, else None. With `files`, the place is a folder that must hold each of them."""
    if path is not None:
        if not files:
            return require_file(Path(path).expanduser(), "dataset.path", what)
        missing = [f for f in files if not (Path(path).expanduser() / f).is_file()]
        if missing:
            raise UserError(f"dataset.path={path}: {', '.join(missing)} not found there; point it at {what}")
        return Path(path).expanduser()
    data_dir = os.environ.get("CELLSEARCH_DATA_DIR")
    place = Path(data_dir) / default if data_dir else None
    if place is not None and (all((place / f).is_file() for f in files) if files else place.is_file()):
        return place
    return None


def data_file(path: str | None, default: Path, what: str, missing: str) -> Path:
    """`find_data`, with `missing` as the one-line error when there is neither file."""
    found = find_data(path, default, what)
    if found is None:
        raise UserError(missing)
    return found


def decode(path: Path, raw: bytes, encoding: str) -> str:
    """`raw` (the bytes of `path`) as text; an undecodable byte stops the run naming its line."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise UserError(f"{path}: line {line} is not {encoding}; set dataset.encoding (e.g. latin-1 or cp1252; "
                        f"the first bad byte is 0x{raw[e.start]:02x})") from None
    except LookupError:
        raise UserError(f"dataset.encoding={encoding} is not an encoding Python knows") from None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub answers at all; `datasets` itself retries for half a minute before giving up."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
        return True  # offline mode: `datasets` reads its cache without the network
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False
