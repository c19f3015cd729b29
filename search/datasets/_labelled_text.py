"""Labelled texts as read from a file or the hub (`Rows`), and the TextClassification task made of them:
labels checked and named, splits given or carved, long texts cut. Used by search/datasets/text_csv.py."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from search.datasets._splits import SPLITS, holdout, stratified_split
from search.datasets._text_encoding import text_classification, tokenize
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.text_classification import TextClassification

log = logging.getLogger(__name__)
MISSING_LABELS = {"", "nan", "na", "n/a", "null", "none"}


class TextSource(Protocol):
    """What the readers and the task need of a labelled-text dataset's config (search/datasets/text_csv.py's
    TextCsvConfig has these keys): a protocol, so that these helpers never import the schema that uses them."""

    name: str
    format: str
    text_column: str
    label_column: str
    delimiter: str | None
    encoding: str
    header: bool
    hub: str | None
    hub_dir: str | None
    val_fraction: float
    test_fraction: float
    split_seed: int
    min_freq: int
    max_tokens: int | None


@dataclass
class Rows:
    """One split as read: texts, raw labels (strings), and where each row came from (for messages)."""

    texts: list
    labels: list
    where: list  # e.g. "data.csv line 7"
    skipped: int = 0  # rows with blank text


def label(path: Path, where: str, value, column: str) -> str:
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


def class_names(labels: list[str]) -> list[str]:
    """The distinct labels: in numeric order when all are whole numbers, else alphabetical."""
    distinct = set(labels)
    try:
        return sorted(distinct, key=int)
    except ValueError:
        return sorted(distinct)


def labelled_text_task(cfg: TextSource, parts: dict[str, Rows], names: list[str] | None, card: dict,
                       given_note: str) -> TextClassification:
    """The task of the splits read (`parts`); a split not read is carved from the training rows."""
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
    names = names or class_names(train.labels)
    texts, labels, splits = _joined(parts, {c: i for i, c in enumerate(names)}, set(train.labels))
    carved = _carve(cfg, np.asarray(labels), splits, origin)
    given = [s for s in ("val", "test") if s not in carved]
    split_note = " and ".join(filter(None, [
        f"{', '.join(given)} from {given_note}" if given else "",
        f"{', '.join(carved)} carved from the training rows, stratified, split_seed={cfg.split_seed} "
        f"(val_fraction={cfg.val_fraction}, test_fraction={cfg.test_fraction})" if carved else ""]))
    truncated = _cut(texts, cfg.max_tokens)
    card = {**card, "split": split_note, "class_names": names,
            "skipped_blank_texts": sum(skipped.values()), **({"skipped_by_split": skipped} if skipped else {}),
            "cut_at_load": {"max_tokens": cfg.max_tokens, "texts_cut": truncated}}
    splits = {s: splits[s] for s in SPLITS}
    return text_classification(cfg.name, texts, labels, names, splits, cfg.min_freq, card)


def _joined(parts: dict[str, Rows], index: dict[str, int], seen: set) -> tuple[list, list, dict]:
    """All texts and label ids in split order, with each split's row indices; a label that training never
    saw is an error."""
    texts, labels, splits = [], [], {}
    for split in SPLITS:
        rows = parts.get(split)
        if rows is None or not rows.texts:
            continue
        for value, where in zip(rows.labels, rows.where):
            if value not in seen:
                raise UserError(f"{where}: label {value!r} never occurs in the training rows "
                                f"({', '.join(sorted(seen))}); a model cannot learn it")
        splits[split] = np.arange(len(texts), len(texts) + len(rows.texts))
        texts += rows.texts
        labels += [index[value] for value in rows.labels]
    return texts, labels, splits


def _carve(cfg: TextSource, y: np.ndarray, splits: dict, origin: str) -> list[str]:
    """Carve the splits not given from the training rows (in place); returns their names."""
    carved = [s for s in ("val", "test") if s not in splits]
    rows_train = splits["train"]
    if len(carved) == 2:
        part = stratified_split(y[rows_train], cfg.val_fraction, cfg.test_fraction, cfg.split_seed)
        splits.update({s: rows_train[part[s]] for s in SPLITS})
    elif carved:
        fraction = cfg.val_fraction if carved[0] == "val" else cfg.test_fraction
        held = holdout(y[rows_train], fraction, cfg.split_seed, f"dataset.{carved[0]}_fraction")
        splits[carved[0]], splits["train"] = rows_train[held], rows_train[~held]
    for split in SPLITS:
        if len(splits[split]) == 0:
            raise UserError(f"{origin}: the {split} split is empty ({len(rows_train)} training rows); give more "
                            f"rows or raise dataset.{split}_fraction")
    return carved


def _cut(texts: list[str], max_tokens: int | None) -> int:
    """Cut every text to `max_tokens` tokens (in place); returns how many were cut."""
    if max_tokens is None:
        return 0
    if max_tokens < 1:
        raise UserError(f"dataset.max_tokens={max_tokens}: give a whole number >= 1, or null")
    truncated = 0
    for i, body in enumerate(texts):
        tokens = tokenize(body)
        if len(tokens) > max_tokens:
            texts[i], truncated = " ".join(tokens[:max_tokens]), truncated + 1
    return truncated
