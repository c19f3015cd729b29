"""Pang & Lee sentence polarity v1.0: 10,662 Rotten Tomatoes snippets, half positive, half negative.

Sources, in order: `dataset.path` (a folder with the original `rt-polarity.pos` / `rt-polarity.neg`,
Windows-1252); `$CELLSEARCH_DATA_DIR/rt-polarity/`; the Hugging Face hub (the same snippets as
`cornell-movie-review-data/rotten_tomatoes`, with its own splits); and, when none of those can be had,
a generated corpus (announced by a warning and recorded as the source) so that the study still runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from search.datasets import _review_generator
from search.datasets._files import decode, find_data, hub_reachable
from search.datasets._splits import stratified_split
from search.datasets._text_encoding import text_classification
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.text_classification import TextClassification

log = logging.getLogger(__name__)
CLASSES = ["negative", "positive"]
FILES = {"negative": "rt-polarity.neg", "positive": "rt-polarity.pos"}


@dataclass
class RtPolarityConfig:
    name: str = "rt_polarity"
    path: str | None = None  # folder with rt-polarity.pos/.neg; default: $CELLSEARCH_DATA_DIR/rt-polarity
    encoding: str = "cp1252"  # the original files are Windows-1252, not UTF-8
    hub: str | None = "cornell-movie-review-data/rotten_tomatoes"  # null: never ask the hub
    generated_fallback: bool = True  # offline and no files: run on a generated corpus (with a warning)
    generated_size: int = 10662
    val_fraction: float = 0.1  # of each class, for the files (the hub has its own splits)
    test_fraction: float = 0.1
    split_seed: int = 0  # fixes the split; deliberately apart from `seed`, so trials always share it
    min_freq: int = 2  # words seen fewer times in train map to <unk>
    seq_len: int = 64  # truncation length in tokens; usually searched (space/sentiment)

    def load(self) -> TextClassification:
        folder = find_data(self.path, Path("rt-polarity"), "the folder of the sentence polarity v1.0 release",
                           files=tuple(FILES.values()))
        if folder is not None:
            return self._task(*self._from_files(folder))
        if self.hub and hub_reachable():
            try:
                return self._task(*self._from_hub())
            except (ConnectionError, OSError) as e:  # reachable but failing: fall through to the last resort
                log.warning("rt_polarity: the hub answered but %s could not be loaded: %s", self.hub, e)
        if not self.generated_fallback:
            raise UserError("rt_polarity: no files and no hub; set dataset.path=FOLDER (with rt-polarity.pos/.neg) "
                            "or CELLSEARCH_DATA_DIR, or allow dataset.generated_fallback=true")
        log.warning("rt_polarity: no local files (dataset.path, $CELLSEARCH_DATA_DIR/rt-polarity) and the "
                    "Hugging Face hub cannot be reached: running on a GENERATED corpus instead; its results say "
                    "nothing about real reviews")
        return self._task(*self._generated())

    def _task(self, texts: list[str], labels: list[int], splits: dict, source: dict) -> TextClassification:
        return text_classification(self.name, texts, labels, CLASSES, splits, self.min_freq, source)

    def _from_files(self, folder: Path) -> tuple[list, list, dict, dict]:
        texts, labels = [], []
        for label, cls in enumerate(CLASSES):
            path = folder / FILES[cls]
            lines = decode(path, path.read_bytes(), self.encoding).splitlines()
            kept = [line for line in lines if line.strip()]
            texts += kept
            labels += [label] * len(kept)
            if len(kept) < len(lines):
                log.info("%s: skipped %d blank lines", path, len(lines) - len(kept))
        splits = stratified_split(np.asarray(labels), self.val_fraction, self.test_fraction, self.split_seed)
        source = {"source": f"files: {folder.resolve()}", "origin": "Pang & Lee sentence polarity v1.0",
                  "split": f"stratified {1 - self.val_fraction - self.test_fraction:.0%}/{self.val_fraction:.0%}/"
                           f"{self.test_fraction:.0%}, split_seed={self.split_seed}"}
        return texts, labels, splits, source

    def _from_hub(self) -> tuple[list, list, dict, dict]:
        import datasets  # imported here: slow to import, and only needed for this source

        data = datasets.load_dataset(self.hub)
        texts, labels, splits, start = [], [], {}, 0
        for split, hub_split in (("train", "train"), ("val", "validation"), ("test", "test")):
            part = data[hub_split]
            texts += list(part["text"])
            labels += list(part["label"])
            splits[split] = np.arange(start, len(texts))
            start = len(texts)
        source = {"source": f"hub: {self.hub}", "origin": "Pang & Lee sentence polarity v1.0",
                  "split": "the hub's train/validation/test"}
        return texts, labels, splits, source

    def _generated(self) -> tuple[list, list, dict, dict]:
        texts, labels, _ = _review_generator.generate(self.generated_size, self.split_seed)
        splits = stratified_split(np.asarray(labels), self.val_fraction, self.test_fraction, self.split_seed)
        source = {"source": "generated (offline fallback)",
                  # the module's name before it became _review_generator: the card keeps what studies stored
                  "origin": f"search.datasets.generated_sentiment, seed={self.split_seed}",
                  "split": f"stratified, split_seed={self.split_seed}"}
        return texts, labels, splits, source
