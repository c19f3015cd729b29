"""Labelled texts from the Hugging Face hub: the known layouts (IMDB, SST-2), a guess for any other text and
label dataset, and a local copy of the hub repository (`dataset.hub_dir`) for machines without the network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from search.datasets._files import hub_reachable
from search.datasets._labelled_text import Rows, TextSource, label
from search.errors import UserError


@dataclass(frozen=True)
class HubLayout:
    """Where a hub dataset keeps its text and labels, and which of its splits serve as ours."""

    text: str
    label: str
    train: str
    val: str | None  # None: carved from train (stratified, dataset.val_fraction)
    test: str | None
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


def load_hub(cfg: TextSource):
    """The `datasets.DatasetDict` of `dataset.hub` (or of its local copy), its full name and the source to
    record."""
    name = HUB_ALIASES.get(cfg.hub.lower(), cfg.hub)
    if cfg.hub_dir:
        folder = Path(cfg.hub_dir).expanduser()
        if not folder.is_dir():
            raise UserError(f"dataset.hub_dir={cfg.hub_dir}: no such folder; give the local copy of {name}")
        source, target = f"hub: {name} (local copy {folder.resolve()})", str(folder)
    else:
        if not hub_reachable():
            raise UserError(f"dataset.hub={cfg.hub}: the Hugging Face hub cannot be reached from here; download "
                            f"it where it can (huggingface-cli download {name} --repo-type dataset --local-dir DIR) "
                            "and set dataset.hub_dir=DIR, or give dataset.path=FILE")
        source, target = f"hub: {name}", name
    import datasets  # imported here: slow to import, and only needed for this source

    try:
        data = datasets.load_dataset(target)
    except (OSError, ValueError, ConnectionError, datasets.exceptions.DatasetNotFoundError) as e:
        raise UserError(f"dataset.hub={cfg.hub}: cannot load {target}: {str(e).strip().splitlines()[0]}") from None
    return data, name, source


def hub_rows(cfg: TextSource, data, name: str, source: str) -> tuple[dict[str, Rows], list[str] | None, dict]:
    """Our splits of a loaded `datasets.DatasetDict`, its class names (None: from the labels) and its card.
    `name` picks a known layout (HUB_LAYOUTS); others use the config's text_column and label_column and the
    split names train / validation / test."""
    layout = HUB_LAYOUTS.get(name) or _generic_layout(cfg, data, source)
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
        for i, (body, value) in enumerate(zip(list(part[layout.text]), list(part[layout.label]))):
            where = f"split {theirs} row {i}"
            if value is None or value == -1:
                raise UserError(f"{source}: {where} has no label ({value!r}: hidden); this split cannot serve as "
                                f"{ours}")
            if body is None or not str(body).strip():
                rows.skipped += 1
                continue
            rows.texts.append(str(body))
            known = names is not None and isinstance(value, int) and 0 <= value < len(names)
            rows.labels.append(names[value] if known else label(Path(source), where, value, layout.label))
            rows.where.append(f"{source} {where}")
        parts[ours] = rows
    card = {"source": source, "origin": layout.note, "columns": {"text": layout.text, "label": layout.label},
            "hub_splits": {ours: theirs or f"carved from {layout.train}" for ours, theirs in
                           (("train", layout.train), ("val", layout.val), ("test", layout.test))}}
    return parts, names, card


def _generic_layout(cfg: TextSource, data, source: str) -> HubLayout:
    """Splits of an unknown hub dataset: train; validation (valid, dev) and test where they are labelled;
    an unlabelled test (all -1) is replaced by the validation split, as for SST-2."""
    if "train" not in data:
        raise UserError(f"{source}: no 'train' split; it has {', '.join(data)}")
    columns = data["train"].column_names
    if cfg.label_column not in columns:
        raise UserError(f"{source}: no label column {cfg.label_column!r} (dataset.label_column); the columns "
                        f"are: {', '.join(columns)}")

    def labelled(split: str) -> bool:
        return split in data and any(v not in (None, -1) for v in data[split][cfg.label_column])

    val = next((s for s in ("validation", "valid", "dev", "val") if labelled(s)), None)
    test = "test" if labelled("test") else None
    if test is None and val is not None:
        test, val = val, None
    return HubLayout(cfg.text_column, cfg.label_column, "train", val, test,
                     f"{source}: train{', ' + val if val else ''}{', ' + test + ' as test' if test else ''}")
