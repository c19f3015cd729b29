"""Labelled texts from a file: the format (from the extension, or `dataset.format`), CSV and TSV read by
pandas, JSON lines (or a JSON array) read record by record, and the configured columns. Every error names
the file and the line."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import warnings
from pathlib import Path

import pandas as pd

from search.datasets._files import decode, require_file
from search.datasets._labelled_text import Rows, TextSource, label
from search.errors import UserError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "dev": "val", "test": "test", "testing": "test"}
_BREAK = re.compile(r"\r\n|\r|\n")
_SKIPPED = re.compile(r"Skipping line (\d+): (.*)", re.S)  # pandas' warning for a malformed record (on_bad_lines)


def file_format(cfg: TextSource, path: Path) -> str:
    if cfg.format != "auto":
        if cfg.format not in ("csv", "tsv", "jsonl"):
            raise UserError(f"dataset.format={cfg.format}: it must be auto, csv, tsv or jsonl")
        return cfg.format
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UserError(f"{path}: cannot tell the format from the extension '{path.suffix}'; set "
                        "dataset.format=csv, tsv or jsonl")
    return fmt


def read_rows(cfg: TextSource, path: Path, split_column: str | None = None) -> dict[str, Rows]:
    """The file's rows: {"all": Rows}, or per split when `split_column` names one."""
    require_file(path, None, "existing files as dataset.path (and val_path/test_path)")
    text = decode(path, path.read_bytes(), cfg.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark, as spreadsheet programs write
    if not text.strip():
        raise UserError(f"{path}: the file is empty")
    fmt = file_format(cfg, path)
    columns, records = _json_records(path, text) if fmt == "jsonl" else _csv_records(cfg, path, text, fmt)
    wanted = [("dataset.text_column", cfg.text_column), ("dataset.label_column", cfg.label_column)]
    if split_column is not None:
        wanted.append(("dataset.split_column", split_column))
    keys = [_column(cfg, path, fmt, columns, key, value) for key, value in wanted]
    if not records:
        raise UserError(f"{path}: no data rows" + (" after the header" if fmt != "jsonl" and cfg.header else ""))
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
        rows.labels.append(label(path, where, record[keys[1]], cfg.label_column))
        rows.where.append(f"{path.name} {where}")
    return parts


def _column(cfg: TextSource, path: Path, fmt: str, columns: list[str], key: str, value: str) -> int | str:
    """The position (csv, tsv) or key (jsonl) of a configured column; a one-line error when it is absent."""
    if fmt != "jsonl" and not cfg.header:
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


def _ragged_record(body: str, delimiter: str, fmt: str, first_line: int) -> tuple[int, int, int] | None:
    """(line, fields, width) of the first record whose field count differs from the first record's, read as
    pandas' python engine reads (the csv module, the same dialect); None when all agree or the quoting is
    broken (pandas then says where, in its own words)."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter,
                        quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
    width, read = None, 0
    try:
        for row in reader:
            start, read = first_line + read, reader.line_num
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                return start, len(row), width
    except csv.Error:
        return None
    return None


def _csv_records(cfg: TextSource, path: Path, text: str, fmt: str) -> tuple[list[str], list]:
    """The columns and the (line, fields) records of a CSV or TSV (whose fields are never quoted). pandas
    reads every record (blank lines kept, so that each record's first line can be counted); a record of
    another width than the first is an error naming its line."""
    delimiter = cfg.delimiter or ("\t" if fmt == "tsv" else ",")
    if len(delimiter) != 1:
        raise UserError(f"dataset.delimiter={delimiter!r}: give one character")
    csv.field_size_limit(2**31 - 1)  # long reviews (pandas' python engine reads with the csv module)
    body = text.lstrip("\r\n")
    line = 1 + len(_BREAK.findall(text[: len(text) - len(body)]))  # the line of the first record
    check = f"check dataset.delimiter ({delimiter!r}) and quoting"
    ragged = _ragged_record(body, delimiter, fmt, line)  # pandas 3.0 keeps such a record, cut to the header's width
    if ragged is not None:
        start, count, width = ragged
        raise UserError(f"{path}: line {start} has {count} fields, the {'header' if cfg.header else 'first row'} "
                        f"has {width}; {check}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.StringIO(body, newline=""), sep=delimiter, header=None, index_col=False,
                                dtype=str, keep_default_na=False, skip_blank_lines=False, engine="python",
                                on_bad_lines="warn", quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise UserError(f"{path}: not a readable {fmt.upper()} ({str(e).strip().splitlines()[0]}); check "
                            "the quoting and dataset.delimiter") from None
    bad = next((m for m in (_SKIPPED.match(str(w.message).strip()) for w in caught) if m), None)
    rows = frame.to_numpy(dtype=object).tolist()
    end = int(bad.group(1)) - 1 if bad else len(rows)  # the rows read before the first malformed record
    records, columns, width = [], None, len(frame.columns)
    for row in rows[:end]:
        fields = [f for f in row if isinstance(f, str)]  # pandas pads a short record with NaN
        start, line = line, line + 1 + sum(len(_BREAK.findall(f)) for f in fields)
        if not fields:  # a blank line is no record
            continue
        if columns is None:
            width = len(fields)
            columns = [c.strip() for c in fields] if cfg.header else [str(i) for i in range(width)]
            if cfg.header:
                continue
        if len(fields) != width:
            raise UserError(f"{path}: line {start} has {len(fields)} fields, the "
                            f"{'header' if cfg.header else 'first row'} has {width}; {check}")
        records.append((f"line {start}", fields))
    if bad:
        reason = bad.group(2).strip()
        wide = re.search(r"saw (\d+)", reason) if reason.startswith("Expected ") else None
        if wide:
            raise UserError(f"{path}: line {line} has {wide.group(1)} fields, the "
                            f"{'header' if cfg.header else 'first row'} has {width}; {check}")
        raise UserError(f"{path}: line {line}: {reason}; check the quoting and dataset.delimiter")
    return columns or [], records


def _json_records(path: Path, text: str) -> tuple[list[str], list]:
    """Records of a JSON-lines file (or of a JSON array), with their line numbers. Read record by record,
    not by pandas.read_json, which names neither the line of a bad record nor a key that one lacks."""
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
