"""Numeric sequences as read (from a file, search/datasets/sequences.py, or a user's function,
search/datasets/python.py) made into a task: the checks every source shares, whether the labels are classes or
values (inferred and stated, or `dataset.kind`), the splits, the standardisation (training split only) and the
baseline (majority class or training mean) shown beside every score.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from search.datasets._splits import SPLITS, holdout, stratified_split
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.sequence_labels import SequenceLabels

log = logging.getLogger(__name__)
MAX_CLASSES = 50  # whole-number labels with at most this many distinct values are classes (dataset.kind=auto)


class Kind(Enum):
    auto = "auto"  # classes when the labels are not numbers, or whole numbers with few distinct values
    classification = "classification"
    regression = "regression"


@dataclass
class Read:
    """Sequences as a source gave them, before any check."""

    values: list[np.ndarray]  # sequence i: [T_i, F] (or [T_i]) numbers
    labels: list  # one label a sequence: numbers or strings
    names: list[str]  # how an error names sequence i ("line 7", "X[3]", "id 'a'")
    given: list[str] | None = None  # the split of each sequence where the source fixes it (a test file)


@dataclass
class Settings:
    """What of the dataset config the task needs (both sources' configs have these keys)."""

    name: str
    kind: Kind
    val_fraction: float
    test_fraction: float
    split_seed: int
    unit: str | None


def sequence_task(read: Read, settings: Settings, source: str, origin: str) -> SequenceLabels:
    from search.tasks import Metric  # here, not above: the schema stays torch-free (search/datasets/__init__.py)
    from search.tasks.sequence_labels import SequenceClassification, SequenceRegression

    values = _checked_values(read, source)
    kind, targets, about = _kind(read, settings.kind, source)
    parts = _splits(read, targets if kind is Kind.classification else np.zeros(len(targets), int), settings, source)
    steps = np.concatenate([values[i] for i in parts["train"]])
    means, stds = steps.mean(axis=0), steps.std(axis=0)
    flat = np.flatnonzero(~(stds > 0))
    if len(flat):
        log.warning("%s: feature %s is constant over the training sequences; it is kept, unscaled", source,
                    ", ".join(str(f) for f in flat))
        stds[flat] = 1.0
    scaled = [((v - means) / stds).astype(np.float32) for v in values]
    x, lengths = {}, {}
    for split, rows in parts.items():
        x[split], lengths[split] = _padded([scaled[i] for i in rows])
    card = {
        "name": settings.name, "source": source, "origin": origin, "size": len(values),
        "kind": f"{kind.value}: {about}", "features": int(values[0].shape[1]),
        "lengths": _lengths_text([len(v) for v in values]),
        "splits": {s: len(r) for s, r in parts.items()},
        "split": _split_text(read, settings, kind),
        "scaling": "each feature standardised with the mean and deviation of the training sequences' steps only",
    }
    import torch

    if kind is Kind.classification:
        classes = targets.max() + 1
        y = {s: torch.from_numpy(targets[r]).long() for s, r in parts.items()}
        counts = np.bincount(targets[parts["train"]], minlength=classes)
        majority = int(counts.argmax())
        card["classes"] = {str(c): int(n) for c, n in zip(_class_names(read), np.bincount(targets, minlength=classes))}
        baseline = {"name": f"majority class ({_class_names(read)[majority]}, "
                            f"{100 * counts[majority] / counts.sum():.1f} % of training)",
                    **{s: float(100 * np.mean(targets[parts[s]] == majority)) for s in ("val", "test")}}
        return SequenceClassification(name=settings.name, metric=Metric("accuracy", "maximize", "%"), card=card,
                                      baseline=baseline, n_features=card["features"], n_outputs=int(classes),
                                      x={s: torch.from_numpy(v) for s, v in x.items()}, lengths=lengths, y=y)
    train_y = targets[parts["train"]]
    mean, std = float(train_y.mean()), float(train_y.std())
    if not std > 0:
        raise UserError(f"{source}: the target is {mean:g} for every training sequence; nothing to predict")
    card["range"] = {"min": float(targets.min()), "max": float(targets.max()), "train_mean": mean}
    baseline = {"name": f"training mean ({mean:.4g})",
                **{s: float(np.sqrt(np.mean((targets[parts[s]] - mean) ** 2))) for s in ("val", "test")}}
    y = {s: torch.from_numpy(((targets[r] - mean) / std).astype(np.float32)).unsqueeze(-1) for s, r in parts.items()}
    return SequenceRegression(name=settings.name, metric=Metric("rmse", "minimize", settings.unit or "target units"),
                              card=card, baseline=baseline, n_features=card["features"], n_outputs=1,
                              x={s: torch.from_numpy(v) for s, v in x.items()}, lengths=lengths, y=y,
                              mean=mean, std=std)


def _checked_values(read: Read, source: str) -> list[np.ndarray]:
    if not read.values:
        raise UserError(f"{source}: no sequences found; give at least a few dozen, each with its label")
    if len(read.labels) != len(read.values):
        raise UserError(f"{source}: {len(read.values)} sequences but {len(read.labels)} labels; give one label a "
                        "sequence")
    out, features = [], None
    for i, v in enumerate(read.values):
        try:
            v = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise UserError(f"{source}: {read.names[i]}: its values are not numbers") from None
        v = v[:, None] if v.ndim == 1 else v
        if v.ndim != 2 or not len(v):
            what = "no steps" if v.ndim == 2 else f"{v.ndim} dimensions"
            raise UserError(f"{source}: {read.names[i]} has {what}; each sequence is T steps x F features (T >= 1)")
        features = v.shape[1] if features is None else features
        if v.shape[1] != features:
            raise UserError(f"{source}: {read.names[i]} has {v.shape[1]} features, the first sequence {features}; "
                            "every sequence needs the same features")
        bad = np.argwhere(~np.isfinite(v))
        if len(bad):
            step, feature = (int(b) for b in bad[0])
            raise UserError(f"{source}: {read.names[i]}, step {step + 1}, feature {feature + 1}: {v[step, feature]} "
                            "is not a finite number; fill it or drop the sequence: nothing is interpolated silently")
        out.append(v)
    return out


def _kind(read: Read, kind: Kind, source: str) -> tuple[Kind, np.ndarray, str]:
    """The task kind, the targets (class indices or floats) and how the kind was chosen, in words."""
    numbers = _as_numbers(read.labels)
    if kind is Kind.regression:
        if numbers is None:
            bad = next(i for i, label in enumerate(read.labels) if _as_numbers([label]) is None)
            raise UserError(f"{source}: {read.names[bad]}: label {read.labels[bad]!r} is not a number, which "
                            "dataset.kind=regression needs; set dataset.kind=classification or auto")
        return kind, numbers, "set by dataset.kind"
    whole = numbers is not None and bool(np.all(numbers == np.round(numbers)))
    distinct = len(set(map(str, read.labels))) if numbers is None else len(np.unique(numbers))
    if kind is Kind.auto:
        if numbers is not None and (not whole or distinct > MAX_CLASSES):
            why = "numbers with fractions" if not whole else f"{distinct} distinct whole numbers (> {MAX_CLASSES})"
            log.info("%s: the labels are %s: regression (set dataset.kind=classification for classes)", source, why)
            return Kind.regression, numbers, f"inferred: the labels are {why}; dataset.kind=classification for classes"
        why = "not numbers" if numbers is None else f"{distinct} distinct whole numbers"
        about = f"inferred: the labels are {why}" + ("; dataset.kind=regression to predict the number" if numbers
                                                      is not None else "")
        log.info("%s: the labels are %s: classification, %d classes", source, why, distinct)
    else:
        about = "set by dataset.kind"
    if distinct < 2:
        raise UserError(f"{source}: every sequence has the label {read.labels[0]!r}; classification needs two "
                        "classes or more")
    names = _class_names(read)
    index = {name: i for i, name in enumerate(names)}
    return Kind.classification, np.array([index[_label_name(v)] for v in read.labels]), f"{len(names)} classes, {about}"


def _as_numbers(labels: Sequence) -> np.ndarray | None:
    try:
        numbers = np.array([float(label) for label in labels])
    except (TypeError, ValueError):
        return None
    return numbers if np.all(np.isfinite(numbers)) else None


def _label_name(label) -> str:
    """A class's name: whole numbers without their fraction (UCR writes 1 as 1.0000000e+00)."""
    try:
        number = float(label)
    except (TypeError, ValueError):
        return str(label).strip()
    return str(int(number)) if np.isfinite(number) and number == round(number) else str(label).strip()


def _class_names(read: Read) -> list[str]:
    names = sorted({_label_name(v) for v in read.labels})
    numbers = _as_numbers(names)
    return [names[i] for i in np.argsort(numbers, kind="stable")] if numbers is not None else names


def _splits(read: Read, strata: np.ndarray, settings: Settings, source: str) -> dict[str, np.ndarray]:
    if read.given is None:
        parts = stratified_split(strata, settings.val_fraction, settings.test_fraction, settings.split_seed)
    else:
        given = np.asarray(read.given)
        parts = {s: np.flatnonzero(given == s) for s in SPLITS}
        if not len(parts["val"]):  # carved from the training sequences
            train = parts["train"]
            held = holdout(strata[train], settings.val_fraction, settings.split_seed, "dataset.val_fraction")
            parts["val"], parts["train"] = train[held], train[~held]
    empty = [s for s in SPLITS if not len(parts[s])]
    if empty:
        raise UserError(f"{source}: {len(read.values)} sequences leave the {empty[0]} split empty; give more "
                        "sequences or raise dataset.val_fraction / dataset.test_fraction")
    return parts


def _split_text(read: Read, settings: Settings, kind: Kind) -> str:
    how = "stratified by class" if kind is Kind.classification else "at random"
    if read.given is None:
        return (f"{how}, seed {settings.split_seed}: {settings.val_fraction:g} validation, "
                f"{settings.test_fraction:g} test")
    if "val" in read.given:
        return "as the source gives them"
    return f"test as the source gives it; validation {settings.val_fraction:g} of the training sequences, {how}"


def _padded(values: list[np.ndarray]):
    import torch

    lengths = torch.tensor([len(v) for v in values])
    x = np.zeros((len(values), int(lengths.max()), values[0].shape[1]), np.float32)
    for i, v in enumerate(values):
        x[i, : len(v)] = v
    return x, lengths


def _lengths_text(lengths: list[int]) -> str:
    low, high = min(lengths), max(lengths)
    return f"{low} steps each" if low == high else f"{low} to {high} steps (median {int(np.median(lengths))})"
