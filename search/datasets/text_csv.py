"""Text classification from your own file (CSV, TSV or JSON lines), or from a Hugging Face hub dataset by name.

A file: `dataset.path` with a text column and a label column (`dataset.text_column`, `dataset.label_column`;
0-based indexes with `dataset.header=false`). Labels may be words or numbers, two classes or more; the class
names are the distinct labels (in numeric order when all are whole numbers). Splits: given files
(`dataset.val_path`, `dataset.test_path`), a split column (`dataset.split_column`: train / val / test), or,
for whatever is not given, a seeded stratified part of the training rows (`dataset.split_seed`).

The hub: `dataset.hub=stanfordnlp/imdb` or `stanfordnlp/sst2` (columns and splits known, below), or any
dataset with a text and a label column. SST-2 keeps its test labels hidden (-1): its validation split serves
as test and validation is carved from train. IMDB has no validation split: it is carved from train; its
unlabelled `unsupervised` split is not used. `dataset.hub_dir` reads a local copy of the hub repository
instead (for machines without the network: `huggingface-cli download stanfordnlp/imdb --repo-type dataset
--local-dir DIR`).

Rows with blank text are skipped, counted (a warning and the card say how many); everything else that is
wrong stops the run with one line naming the file and the line. Vocabulary and class majority are fitted
on the training split only (search/datasets/text.py).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from search.datasets.files import require_file
from search.datasets.rt_polarity import _hub_reachable
from search.datasets.text import stratified_split, text_classification, tokenize
from search.errors import UserError
from search.tasks import SPLITS, TextClassification

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "dev": "val", "test": "test", "testing": "test"}
MISSING_LABELS = {"", "nan", "na", "n/a", "null", "none"}


@dataclass(frozen=True)
class HubLayout:
    """Where a hub dataset keeps its text and labels, and which of its splits serve as ours."""

    text: str
    label: str
    train: str
    val: Optional[str]  # None: carved from train (stratified, dataset.val_fraction)
    test: Optional[str]
    note: str


HUB_LAYOUTS = {
    "stanfordnlp/imdb": HubLayout(
        "text", "label", "train", None, "test",
        "IMDB movie reviews (Maas et al. 2011): the hub's train and test (25,000 each); validation carved from "
        "train; the unlabelled 'unsupervised' split is not used"),
    "stanfordnlp/sst2": HubLayout(
        "sentence", "label", "train", None, "validation",
        "SST-2 (Socher et al. 2013): the hub's test labels are hidden (-1), so its validation split serves as "
        "test and validation is carved from train"),
}
HUB_ALIASES = {"imdb": "stanfordnlp/imdb", "sst2": "stanfordnlp/sst2", "sst-2": "stanfordnlp/sst2"}


@dataclass
class Rows:
    """One split as read: texts, raw labels (strings), and where each row came from (for messages)."""

    texts: list
    labels: list
    where: list  # e.g. "data.csv line 7"
    skipped: int = 0  # rows with blank text


@dataclass
class TextCsvConfig:
    name: str = "text_csv"
    path: Optional[str] = None  # CSV, TSV or JSON-lines file (all rows, or the training rows with val/test_path)
    format: str = "auto"  # auto (from the extension: .csv, .tsv/.tab, .jsonl/.ndjson/.json) | csv | tsv | jsonl
    text_column: str = "text"  # a column name; with header=false a 0-based index
    label_column: str = "label"
    delimiter: Optional[str] = None  # null: "," for csv, a tab for tsv (tsv fields are never quoted)
    encoding: str = "utf-8"
    header: bool = True  # false: the first row is data, columns are given by index
    val_path: Optional[str] = None  # given splits, same format and columns; a split not given is carved
    test_path: Optional[str] = None  # from the training rows (stratified, split_seed)
    split_column: Optional[str] = None  # a column saying train / val / test (validation, dev also accepted)
    hub: Optional[str] = None  # a Hugging Face dataset: stanfordnlp/imdb, stanfordnlp/sst2, or any text + label set
    hub_dir: Optional[str] = None  # a local copy of that hub repository, read instead of downloading it
    val_fraction: float = 0.1  # of each class, for carved splits
    test_fraction: float = 0.1
    split_seed: int = 0  # fixes carved splits; apart from `seed`, so every trial shares them
    min_freq: int = 2  # words seen fewer times in train map to <unk>
    max_tokens: Optional[int] = 512  # texts are cut to this many tokens when loaded (memory); null: never
    seq_len: int = 128  # truncation length in tokens at batch time; usually searched

    def load(self) -> TextClassification:
        if self.hub:
            if self.path:
                raise UserError(f"dataset.path={self.path} and dataset.hub={self.hub}: give one of them")
            return self._from_hub()
        if not self.path:
            raise UserError("text_csv: no data; set dataset.path=FILE (csv, tsv or jsonl with a text and a label "
                            "column) or dataset.hub=stanfordnlp/imdb (or stanfordnlp/sst2)")
        return self._from_files()

    # -- files --------------------------------------------------------------------------------------------

    def _from_files(self) -> TextClassification:
        path = Path(self.path).expanduser()
        given = {"val": self.val_path, "test": self.test_path}
        if self.split_column is not None and any(given.values()):
            raise UserError("dataset.split_column and dataset.val_path/test_path both give splits; use one")
        parts: dict[str, Rows] = {}
        if self.split_column is not None:
            parts = self._read(path, self.split_column)
        else:
            parts["train"] = self._read(path)["all"]
            for split, other in given.items():
                if other:
                    parts[split] = self._read(Path(other).expanduser())["all"]
        files = [str(Path(p).expanduser().resolve()) for p in (self.path, self.val_path, self.test_path) if p]
        card = {"source": "file: " + ", ".join(files), "origin": path.name,
                "columns": {"text": self.text_column, "label": self.label_column}}
        return self._task(parts, None, card, given_note="the split column" if self.split_column is not None
                          else "the given files")

    def _format(self, path: Path) -> str:
        if self.format != "auto":
            if self.format not in ("csv", "tsv", "jsonl"):
                raise UserError(f"dataset.format={self.format}: it must be auto, csv, tsv or jsonl")
            return self.format
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise UserError(f"{path}: cannot tell the format from the extension '{path.suffix}'; set "
                            "dataset.format=csv, tsv or jsonl")
        return fmt

    def _read(self, path: Path, split_column: str | None = None) -> dict[str, Rows]:
        """The file's rows: {"all": Rows}, or per split when `split_column` names one."""
        require_file(path, None, "existing files as dataset.path (and val_path/test_path)")
        raw = path.read_bytes()
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise UserError(f"{path}: line {line} is not {self.encoding}; set dataset.encoding (e.g. latin-1, "
                            "cp1252)") from None
        if text.startswith("\ufeff"):
            text = text[1:]  # a byte-order mark, as spreadsheet programs write
        if not text.strip():
            raise UserError(f"{path}: the file is empty")
        fmt = self._format(path)
        records = _json_records(path, text) if fmt == "jsonl" else self._csv_records(path, text, fmt)
        columns, records = records
        wanted = [("dataset.text_column", self.text_column), ("dataset.label_column", self.label_column)]
        if split_column is not None:
            wanted.append(("dataset.split_column", split_column))
        keys = [self._column(path, fmt, columns, key, value) for key, value in wanted]
        if not records:
            raise UserError(f"{path}: no data rows" + (" after the header" if fmt != "jsonl" and self.header else ""))
        parts: dict[str, Rows] = {}
        for where, record in records:
            missing = [k for k in keys if not (0 <= k < len(record) if isinstance(k, int) else k in record)]
            if missing:
                have = len(record) if fmt != "jsonl" else ", ".join(record)
                raise UserError(f"{path}: {where} has no {'field' if fmt != 'jsonl' else 'key'} "
                                f"{missing[0]!r} (it has {have}); fix the row")
            split = "all"
            if split_column is not None:
                value = str(record[keys[2]]).strip()
                split = SPLIT_NAMES.get(value.lower())
                if split is None:
                    raise UserError(f"{path}: {where}: split {value!r} in column {split_column} is not train, val "
                                    "(validation, dev) or test")
            rows = parts.setdefault(split, Rows([], [], []))
            body = record[keys[0]]
            if body is None or (isinstance(body, float) and math.isnan(body)) or not str(body).strip():
                rows.skipped += 1
                continue
            rows.texts.append(str(body))
            rows.labels.append(_label(path, where, record[keys[1]], self.label_column))
            rows.where.append(f"{path.name} {where}")
        return parts

    def _column(self, path: Path, fmt: str, columns: list[str], key: str, value: str) -> int | str:
        """The position (csv, tsv) or key (jsonl) of a configured column; a one-line error when it is absent."""
        if fmt != "jsonl" and not self.header:
            try:
                index = int(value)
            except ValueError:
                raise UserError(f"{key}={value}: with dataset.header=false give a 0-based column index") from None
            if not 0 <= index < len(columns):
                raise UserError(f"{path}: {key}={index} is out of range; the first row has {len(columns)} columns")
            return index
        if value not in columns:
            raise UserError(f"{path}: no column {value!r} ({key}); the columns are: {', '.join(columns)}")
        return columns.index(value) if fmt != "jsonl" else value

    def _csv_records(self, path: Path, text: str, fmt: str) -> tuple[list[str], list]:
        delimiter = self.delimiter or ("\t" if fmt == "tsv" else ",")
        if len(delimiter) != 1:
            raise UserError(f"dataset.delimiter={delimiter!r}: give one character")
        quoting = csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL
        csv.field_size_limit(2**31 - 1)  # long reviews
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
        records, columns, width, last = [], None, None, 0
        try:
            for fields in reader:
                line, last = last + 1, reader.line_num
                if not fields:  # a blank line is no row
                    continue
                if columns is None:
                    width = len(fields)
                    columns = [c.strip() for c in fields] if self.header else [str(i) for i in range(width)]
                    if self.header:
                        continue
                if len(fields) != width:
                    raise UserError(f"{path}: line {line} has {len(fields)} fields, the {'header' if self.header else 'first row'} "
                                    f"has {width}; check dataset.delimiter ({delimiter!r}) and quoting")
                records.append((f"line {line}", fields))
        except csv.Error as e:
            raise UserError(f"{path}: line {reader.line_num}: {e}; check the quoting and dataset.delimiter") from None
        return columns or [], records


    # -- the Hugging Face hub -----------------------------------------------------------------------------

    def _from_hub(self) -> TextClassification:
        name = HUB_ALIASES.get(self.hub.lower(), self.hub)
        if self.hub_dir:
            folder = Path(self.hub_dir).expanduser()
            if not folder.is_dir():
                raise UserError(f"dataset.hub_dir={self.hub_dir}: no such folder; give the local copy of {name}")
            source, target = f"hub: {name} (local copy {folder.resolve()})", str(folder)
        else:
            if not _hub_reachable():
                raise UserError(f"dataset.hub={self.hub}: the Hugging Face hub cannot be reached from here; download "
                                f"it where it can (huggingface-cli download {name} --repo-type dataset --local-dir DIR) "
                                "and set dataset.hub_dir=DIR, or give dataset.path=FILE")
            source, target = f"hub: {name}", name
        import datasets  # imported here: slow to import, and only needed for this source

        try:
            data = datasets.load_dataset(target)
        except (OSError, ValueError, ConnectionError, datasets.exceptions.DatasetNotFoundError) as e:
            raise UserError(f"dataset.hub={self.hub}: cannot load {target}: {str(e).strip().splitlines()[0]}") from None
        return self.from_dataset_dict(data, name, source)

    def from_dataset_dict(self, data, name: str, source: str) -> TextClassification:
        """The task from a loaded `datasets.DatasetDict`: everything after the download (columns, labels,
        which split serves as which). `name` picks a known layout (HUB_LAYOUTS); others use the config's
        text_column and label_column and the split names train / validation / test."""
        layout = HUB_LAYOUTS.get(name) or self._generic_layout(data, source)
        for split in (layout.train, layout.val, layout.test):
            if split is not None and split not in data:
                raise UserError(f"{source}: no split {split!r}; it has {', '.join(data)}")
        columns = data[layout.train].column_names
        for key, column in (("text", layout.text), ("label", layout.label)):
            if column not in columns:
                raise UserError(f"{source}: no {key} column {column!r}; the columns are: {', '.join(columns)}")
        feature = data[layout.train].features[layout.label]
        names = [str(n) for n in feature.names] if hasattr(feature, "names") else None
        parts = {}
        for ours, theirs in (("train", layout.train), ("val", layout.val), ("test", layout.test)):
            if theirs is None:
                continue
            rows = Rows([], [], [])
            part = data[theirs]
            for i, (body, label) in enumerate(zip(list(part[layout.text]), list(part[layout.label]))):
                where = f"split {theirs} row {i}"
                if label is None or label == -1:
                    raise UserError(f"{source}: {where} has no label ({label!r}: hidden); this split cannot serve as "
                                    f"{ours}")
                if body is None or not str(body).strip():
                    rows.skipped += 1
                    continue
                rows.texts.append(str(body))
                known = names is not None and isinstance(label, int) and 0 <= label < len(names)
                rows.labels.append(names[label] if known else _label(Path(source), where, label, layout.label))
                rows.where.append(f"{source} {where}")
            parts[ours] = rows
        card = {"source": source, "origin": layout.note, "columns": {"text": layout.text, "label": layout.label},
                "hub_splits": {ours: theirs or f"carved from {layout.train}" for ours, theirs in
                               (("train", layout.train), ("val", layout.val), ("test", layout.test))}}
        return self._task(parts, names, card, given_note="the hub's splits")

    def _generic_layout(self, data, source: str) -> HubLayout:
        """Splits of an unknown hub dataset: train; validation (valid, dev) and test where they are labelled;
        an unlabelled test (all -1) is replaced by the validation split, as for SST-2."""
        if "train" not in data:
            raise UserError(f"{source}: no 'train' split; it has {', '.join(data)}")
        columns = data["train"].column_names
        if self.label_column not in columns:
            raise UserError(f"{source}: no label column {self.label_column!r} (dataset.label_column); the columns "
                            f"are: {', '.join(columns)}")

        def labelled(split: str) -> bool:
            return split in data and any(v not in (None, -1) for v in data[split][self.label_column])

        val = next((s for s in ("validation", "valid", "dev", "val") if labelled(s)), None)
        test = "test" if labelled("test") else None
        if test is None and val is not None:
            test, val = val, None
        return HubLayout(self.text_column, self.label_column, "train", val, test,
                         f"{source}: train{', ' + val if val else ''}{', ' + test + ' as test' if test else ''}")

    # -- both -----------------------------------------------------------------------------------------------

    def _task(self, parts: dict[str, Rows], class_names: list[str] | None, card: dict,
              given_note: str) -> TextClassification:
        origin = card["origin"] if card["source"].startswith("hub") else card["source"].removeprefix("file: ")
        train = parts.get("train")
        if train is None or not train.texts:
            raise UserError(f"{origin}: no training rows with text" + (f" ({train.skipped} blank)" if train else ""))
        skipped = {s: r.skipped for s, r in parts.items() if r.skipped}
        if skipped:
            log.warning("%s: skipped %d rows with blank text (%s)", origin, sum(skipped.values()),
                        ", ".join(f"{s} {n}" for s, n in skipped.items()))
        if len(set(train.labels)) < 2:
            raise UserError(f"{origin}: every training row has the label {train.labels[0]!r}; a classifier needs "
                            "two classes or more (check dataset.label_column)")
        names = class_names or _class_names(train.labels)
        index = {c: i for i, c in enumerate(names)}
        seen = set(train.labels)
        texts, labels, splits = [], [], {}
        for split in SPLITS:
            rows = parts.get(split)
            if rows is None or not rows.texts:
                continue
            for label, where in zip(rows.labels, rows.where):
                if label not in seen:
                    raise UserError(f"{where}: label {label!r} never occurs in the training rows "
                                    f"({', '.join(sorted(seen))}); a model cannot learn it")
            splits[split] = np.arange(len(texts), len(texts) + len(rows.texts))
            texts += rows.texts
            labels += [index[label] for label in rows.labels]
        y = np.asarray(labels)
        carved = [s for s in ("val", "test") if s not in splits]
        rows_train = splits["train"]
        if len(carved) == 2:
            part = stratified_split(y[rows_train], self.val_fraction, self.test_fraction, self.split_seed)
            splits.update({s: rows_train[part[s]] for s in SPLITS})
        elif carved:
            fraction = self.val_fraction if carved[0] == "val" else self.test_fraction
            held = _holdout(y[rows_train], fraction, self.split_seed, f"dataset.{carved[0]}_fraction")
            splits[carved[0]], splits["train"] = rows_train[held], rows_train[~held]
        for split in SPLITS:
            if len(splits[split]) == 0:
                raise UserError(f"{origin}: the {split} split is empty ({len(rows_train)} training rows); give more "
                                f"rows or raise dataset.{split}_fraction")
        given = [s for s in ("val", "test") if s not in carved]
        split_note = " and ".join(filter(None, [
            f"{', '.join(given)} from {given_note}" if given else "",
            f"{', '.join(carved)} carved from the training rows, stratified, split_seed={self.split_seed} "
            f"(val_fraction={self.val_fraction}, test_fraction={self.test_fraction})" if carved else ""]))
        truncated = 0
        if self.max_tokens is not None:
            if self.max_tokens < 1:
                raise UserError(f"dataset.max_tokens={self.max_tokens}: give a whole number >= 1, or null")
            for i, body in enumerate(texts):
                tokens = tokenize(body)
                if len(tokens) > self.max_tokens:
                    texts[i], truncated = " ".join(tokens[: self.max_tokens]), truncated + 1
        card = {**card, "split": split_note, "class_names": names,
                "skipped_blank_texts": sum(skipped.values()), **({"skipped_by_split": skipped} if skipped else {}),
                "cut_at_load": {"max_tokens": self.max_tokens, "texts_cut": truncated}}
        splits = {s: splits[s] for s in SPLITS}
        return text_classification(self.name, texts, labels, names, splits, self.min_freq, card)


def _json_records(path: Path, text: str) -> tuple[list[str], list]:
    """Records of a JSON-lines file (or of a JSON array), with their line numbers."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}: line {e.lineno}: not valid JSON ({e.msg})") from None
        numbered = [(f"record {i + 1}", item) for i, item in enumerate(items)]
    else:
        numbered = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                numbered.append((f"line {i}", json.loads(line)))
            except json.JSONDecodeError as e:
                raise UserError(f"{path}: line {i}: not valid JSON ({e.msg}); one object per line") from None
    for where, item in numbered:
        if not isinstance(item, dict):
            raise UserError(f"{path}: {where} is a {type(item).__name__}, not an object with text and label keys")
    columns = list(numbered[0][1]) if numbered else []
    return columns, numbered


def _label(path: Path, where: str, value, column: str) -> str:
    """A label as a string; whole-number floats (1.0) become integers; missing values are an error."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value).strip()
    if text.lower() in MISSING_LABELS or (isinstance(value, float) and not math.isfinite(value)):
        raise UserError(f"{path}: {where}: the label (column {column}) is {text or 'empty'!r}, not a label; "
                        "fill it in or remove the row")
    return text


def _class_names(labels: list[str]) -> list[str]:
    """The distinct labels: in numeric order when all are whole numbers, else alphabetical."""
    distinct = set(labels)
    try:
        return sorted(distinct, key=int)
    except ValueError:
        return sorted(distinct)


def _holdout(labels: np.ndarray, fraction: float, seed: int, key: str) -> np.ndarray:
    """A boolean mask of `fraction` of each class's rows, fixed by `seed` (one carved split; two use
    text.stratified_split)."""
    if not 0 < fraction < 1:
        raise UserError(f"{key}={fraction}: it must lie in (0, 1)")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        held[rows[: round(len(rows) * fraction)]] = True
    return held
