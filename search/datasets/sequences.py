"""Your own numeric sequences, one label or one value each: sequence classification (accuracy) or regression
(RMSE on the target's own scale). Sensor windows, ECG beats, the UCR/UEA archive, activity recognition.

Files (`dataset.path`; `dataset.format=auto` goes by the extension, below): the UCR text format (`.tsv`, `.txt`:
one sequence a line, label first), NumPy (`.npz` with X, y, optional lengths or the splits apart; `.npy` of X with
`dataset.y_path`) and long tables (`.parquet`, or a `.csv` whose first line is a header: a sequence id, an
optional time, feature and label columns). A headerless `.csv` is read as UCR rows. The readers:
_sequence_files.py.

Whether the labels are classes or values is inferred (words, or whole numbers with at most 50 distinct values,
are classes; other numbers are values), logged and written in the dataset card; `dataset.kind` sets it. Splits:
a test file (`dataset.test_path`, e.g. UCR's _TEST beside its _TRAIN) or the splits a .npz gives, else a seeded
part of the sequences (stratified by class); validation is carved from the training sequences. Features are
standardised with the training split's statistics only. Each score has its baseline beside it: the training
split's majority class, or its mean. Each sequence is read whole (`dataset.seq_len` is not used); the checks and
the task: _sequence_arrays.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from search.datasets._files import require_file
from search.datasets._seq_len import refuse_seq_len
from search.datasets._sequence_arrays import Kind, Read, Settings, sequence_task
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.sequence_labels import SequenceLabels


class SequenceFormat(Enum):
    auto = "auto"  # .npz, .npy, .parquet/.pq by name; .csv: long when its first line is a header, else ucr; else ucr
    ucr = "ucr"
    npz = "npz"
    npy = "npy"
    long = "long"


@dataclass
class SequencesConfig:
    name: str = "sequences"
    path: str | None = None  # the file (required): UCR text, .npz, .npy (with y_path), long CSV or Parquet
    format: SequenceFormat = SequenceFormat.auto  # auto | ucr | npz | npy | long
    test_path: str | None = None  # a test file in the same format (UCR's _TEST); null: test_fraction is carved
    y_path: str | None = None  # format npy: the .npy of labels or values, one a sequence
    kind: Kind = Kind.auto  # auto | classification | regression
    delimiter: str | None = None  # UCR: null detects tabs, spaces or commas; long CSV: null is ","
    encoding: str = "utf-8"
    id_column: str = "id"  # long format: the sequence each row (time step) belongs to
    time_column: str | None = "time"  # long format: the order within a sequence; null: the file's order
    label_column: str = "label"  # long format: the label or value, the same on every row of a sequence
    features: list[str] = field(default_factory=list)  # long format: the value columns; empty: all the others
    val_fraction: float = 0.15  # carved from the training sequences (stratified by class)
    test_fraction: float = 0.15  # carved when no test file (or npz test split) is given
    split_seed: int = 0  # fixes carved splits; apart from `seed`, so every trial shares them
    unit: str | None = None  # regression: the target's unit, shown with the RMSE
    seq_len: int | None = None  # not used: each sequence is read whole; leave unset and out of the space

    def load(self) -> SequenceLabels:
        refuse_seq_len(self.seq_len, self.name)
        if not self.path:
            raise UserError(f"{self.name}: no file; set dataset.path=FILE (UCR .tsv/.txt rows with the label first, "
                            ".npz with X and y, or a long CSV/Parquet with id, time, features and label columns)")
        path = require_file(Path(self.path).expanduser(), "dataset.path", "a file of sequences")
        read = self._read(path)
        files = [path]
        if self.test_path:
            if read.given is not None:
                raise UserError(f"{path} gives its splits (X_train, X_test, ...) and dataset.test_path names "
                                "another test file; use one")
            test_file = require_file(Path(self.test_path).expanduser(), "dataset.test_path", "a test file")
            test = self._read(test_file)
            read = Read(read.values + test.values, read.labels + test.labels,
                        read.names + [f"{test_file.name} {n}" for n in test.names],
                        ["train"] * len(read.values) + ["test"] * len(test.values))
            files.append(test_file)
        settings = Settings(self.name, self.kind, self.val_fraction, self.test_fraction, self.split_seed, self.unit)
        source = "file: " + ", ".join(str(f.resolve()) for f in files)
        return sequence_task(read, settings, source, f"{self._format(path).value} format: {path.name}")

    def _read(self, path: Path) -> Read:
        from search.datasets import _sequence_files as files

        form = self._format(path)
        if form is SequenceFormat.ucr:
            return files.read_ucr(path, self.delimiter, self.encoding)
        if form is SequenceFormat.npz:
            return files.read_npz(path)
        if form is SequenceFormat.npy:
            return files.read_npy(path, self.y_path)
        return files.read_long(path, self.id_column, self.time_column, self.label_column, list(self.features),
                               self.delimiter or ",", self.encoding)

    def _format(self, path: Path) -> SequenceFormat:
        if self.format is not SequenceFormat.auto:
            return self.format
        suffix = path.suffix.lower()
        known = {".npz": SequenceFormat.npz, ".npy": SequenceFormat.npy, ".parquet": SequenceFormat.long,
                 ".pq": SequenceFormat.long}
        if suffix in known:
            return known[suffix]
        if suffix == ".csv" and _has_header(path):
            return SequenceFormat.long
        return SequenceFormat.ucr


def _has_header(path: Path) -> bool:
    """Whether a CSV's first line names columns (long format) rather than holding a label and numbers (UCR)."""
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace")
    fields = [v.strip() for v in first.split(",")][1:]
    for value in fields:
        try:
            float(value)
        except ValueError:
            return True
    return False
