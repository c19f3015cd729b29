"""Reading numeric sequences with a label each from the files users have (search/datasets/sequences.py):

- the UCR text format: one sequence a line, the label first, then the values, separated by tabs, spaces or
  commas (the 2018 archive's `.tsv`, the older comma `.txt`); shorter sequences padded with NaN at the end;
- NumPy: a `.npz` with `X` (N x T or N x T x F), `y` and optional `lengths`, or with the splits apart
  (`X_train`, `y_train`, `X_test`, `y_test`, optional `X_val`/`y_val`, `lengths_<split>`); or a `.npy` of X
  beside a `.npy` of y (`dataset.y_path`). Without lengths, steps that are NaN in every feature at the end of a
  sequence are padding;
- long format, CSV or Parquet: one row a time step, a sequence id column, an optional time column (the
  order within a sequence; else the file's order), the feature columns and the label column (the same on every
  row of a sequence).

Each returns a `Read` (search/datasets/_sequence_arrays.py); every malformed input is one line naming the file
and the line, key or sequence.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from search.datasets._files import decode, require_file
from search.datasets._sequence_arrays import Read
from search.datasets._splits import SPLITS
from search.errors import UserError

MISSING = {"nan", "NaN", "NAN", "?", ""}  # how UCR files write a step past the end of a shorter sequence


def read_ucr(path: Path, delimiter: str | None, encoding: str) -> Read:
    text = decode(path, _bytes(path, "a UCR-format file: one sequence a line, the label first"), encoding)
    values, labels, names = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sep = delimiter if delimiter is not None else ("," if "," in line else None)
        fields = [f.strip() for f in line.split(sep)]
        if len(fields) < 2:
            raise UserError(f"{path}: line {number} has a label and no values; UCR rows are LABEL v1 v2 ... "
                            f"(dataset.delimiter now {delimiter!r}: null detects tabs, spaces or commas)")
        end = len(fields)
        while end > 1 and fields[end - 1] in MISSING:  # padding after a shorter sequence's last step
            end -= 1
        if end == 1:
            raise UserError(f"{path}: line {number} has no value that is not missing (NaN)")
        try:
            row = np.array([float(f) for f in fields[1:end]])
        except ValueError:
            k = next(i for i, f in enumerate(fields[1:end], start=2) if not _is_number(f))
            raise UserError(f"{path}: line {number}, field {k}: {fields[k - 1]!r} is not a number (missing values "
                            "only at the end of a row, as NaN)") from None
        values.append(row)
        labels.append(fields[0])
        names.append(f"line {number}")
    return Read(values, labels, names)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _bytes(path: Path, what: str) -> bytes:
    require_file(path, None, what)
    raw = path.read_bytes()
    if not raw.strip():
        raise UserError(f"{path}: the file is empty; give {what}")
    return raw


def read_npz(path: Path) -> Read:
    _bytes(path, "a .npz with X and y (or X_train, y_train, X_test, y_test)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise UserError(f"{path}: holds object arrays (ragged sequences?), which are not read (a pickle can "
                            "run code); save X padded (N x T x F, NaN or any value) with a `lengths` array") from None
        raise UserError(f"{path}: not a readable .npz ({e})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise UserError(f"{path}: not a readable .npz ({e})") from None
    return arrays_read(arrays, str(path))


def read_npy(path: Path, y_path: str | None) -> Read:
    if not y_path:
        raise UserError(f"{path}: a .npy holds X only; set dataset.y_path=FILE.npy (one label or value a "
                        "sequence), or save both in one .npz (np.savez(FILE, X=X, y=y))")
    arrays = {"X": _npy(path), "y": _npy(require_file(Path(y_path).expanduser(), "dataset.y_path", "a .npy of labels"))}
    return arrays_read(arrays, str(path))


def _npy(path: Path) -> np.ndarray:
    _bytes(path, "a .npy array")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        what = "an object array (ragged?), not read: a pickle can run code" if "allow_pickle" in str(e) else str(e)
        raise UserError(f"{path}: not a readable .npy ({what})") from None
    except (OSError, EOFError) as e:
        raise UserError(f"{path}: not a readable .npy ({e})") from None


def arrays_read(arrays: Mapping, source: str) -> Read:
    """X, y and optional lengths, together or by split (`X_train`, ...), as arrays, or as a list of [T_i, F]
    arrays for X (from Python): the shared reading of .npz files and of users' loaders."""
    keys = set(arrays)
    if {"X", "y"} <= keys:
        return _split_read(arrays.get("X"), arrays.get("y"), arrays.get("lengths"), source, "")
    if not {"X_train", "y_train", "X_test", "y_test"} <= keys:
        found = ", ".join(sorted(map(str, keys))) or "nothing"
        raise UserError(f"{source}: needs X and y (optional lengths), or X_train, y_train, X_test, y_test "
                        f"(optional X_val, y_val, lengths_<split>); it has {found}")
    present = [s for s in SPLITS if f"X_{s}" in keys]
    for s in present:
        if f"y_{s}" not in keys:
            raise UserError(f"{source}: X_{s} without y_{s}; give the labels of every split given")
    parts = [_split_read(arrays[f"X_{s}"], arrays[f"y_{s}"], arrays.get(f"lengths_{s}"), source, f"_{s}")
             for s in present]
    given = [s for s, part in zip(present, parts) for _ in part.values]
    return Read([v for p in parts for v in p.values], [label for p in parts for label in p.labels],
                [n for p in parts for n in p.names], given)


def _split_read(x, y, lengths, source: str, suffix: str) -> Read:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise UserError(f"{source}: y{suffix} has shape {y.shape}; give one label or value a sequence (shape N)")
    if isinstance(x, (list, tuple)):  # ragged, from Python: each [T_i] or [T_i, F]
        sequences = [np.asarray(v) for v in x]
    else:
        x = np.asarray(x)
        if x.ndim not in (2, 3):
            raise UserError(f"{source}: X{suffix} has shape {x.shape}; give N x T (one feature) or N x T x F")
        x = x[:, :, None] if x.ndim == 2 else x
        sequences = _trimmed(x, lengths, source, suffix)
    if len(sequences) != len(y):
        raise UserError(f"{source}: X{suffix} has {len(sequences)} sequences and y{suffix} {len(y)} labels; give one "
                        "label a sequence")
    return Read(sequences, list(y.tolist()), [f"X{suffix}[{i}]" for i in range(len(sequences))])


def _trimmed(x: np.ndarray, lengths, source: str, suffix: str) -> list[np.ndarray]:
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise UserError(f"{source}: X{suffix} holds {x.dtype}, not numbers")
    x = x.astype(float)
    if lengths is None:  # steps that are NaN in every feature at the end: padding
        real = ~np.isnan(x).all(axis=2)
        ends = x.shape[1] - np.argmax(real[:, ::-1], axis=1)
        ends[~real.any(axis=1)] = 0
        return [x[i, :ends[i]] for i in range(len(x))]
    lengths = np.asarray(lengths)
    if lengths.shape != (len(x),) or not np.issubdtype(lengths.dtype, np.integer):
        raise UserError(f"{source}: lengths{suffix} must be N whole numbers, one a sequence (it has shape "
                        f"{lengths.shape}, {lengths.dtype})")
    bad = np.flatnonzero((lengths < 1) | (lengths > x.shape[1]))
    if len(bad):
        raise UserError(f"{source}: lengths{suffix}[{bad[0]}] = {lengths[bad[0]]}; each length lies in 1..{x.shape[1]}"
                        " (the steps X has)")
    return [x[i, :lengths[i]] for i in range(len(x))]


def read_long(path: Path, id_column: str, time_column: str | None, label_column: str, features: list[str],
              delimiter: str, encoding: str) -> Read:
    raw = _bytes(path, "a long-format table: a sequence id, (time,) features and a label column")
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except ImportError:
            raise UserError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow), or save it as CSV") from None
        except (OSError, ValueError) as e:
            raise UserError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
        line = None  # Parquet has rows, not lines
    else:
        try:
            frame = pd.read_csv(io.StringIO(decode(path, raw, encoding)), sep=delimiter, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise UserError(f"{path}: not a readable CSV ({str(e).strip().splitlines()[0]}); check "
                            f"dataset.delimiter (now {delimiter!r})") from None
        line = 2  # the first data row's line number
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = list(frame.columns)
    for key, column in (("dataset.id_column", id_column), ("dataset.label_column", label_column),
                        ("dataset.time_column", time_column), *(("dataset.features", f) for f in features)):
        if column is not None and column not in columns:
            raise UserError(f"{path}: no column {column!r} ({key}); the columns are: {', '.join(columns)}")
    chosen = list(features) or [c for c in columns if c not in (id_column, time_column, label_column)]
    if not chosen:
        raise UserError(f"{path}: no feature columns besides {id_column}, {time_column}, {label_column}")
    where = (lambda r: f"line {r + line}") if line else (lambda r: f"row {r + 1}")
    for c in chosen:
        numbers = pd.to_numeric(frame[c], errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy())
        if len(bad):
            raise UserError(f"{path}: {where(bad[0])}: {c}={frame[c].iloc[bad[0]]!r} is not a number (a feature; "
                            "list the feature columns with dataset.features=[...])")
        frame[c] = numbers
    if frame[label_column].isna().any():
        raise UserError(f"{path}: {where(int(np.flatnonzero(frame[label_column].isna())[0]))}: no label")
    values, labels, names = [], [], []
    for key, rows in frame.groupby(id_column, sort=False):
        if time_column is not None:
            if rows[time_column].duplicated().any():
                twice = _plain(rows[time_column][rows[time_column].duplicated()].iloc[0])
                raise UserError(f"{path}: sequence {_plain(key)!r} has time {twice!r} twice; one row a step")
            rows = rows.sort_values(time_column, kind="stable")
        label = rows[label_column].unique()
        if len(label) > 1:
            first, second = _plain(label[0]), _plain(label[1])
            raise UserError(f"{path}: sequence {_plain(key)!r} has labels {first!r} and {second!r}; a sequence has "
                            "one label (the same on each of its rows)")
        values.append(rows[chosen].to_numpy(float))
        labels.append(_plain(label[0]))
        names.append(f"sequence {_plain(key)!r}")
    return Read(values, labels, names)


def _plain(value):
    """A NumPy scalar as the Python value it holds (so that messages read 1, not np.int64(1))."""
    return value.item() if hasattr(value, "item") else value
