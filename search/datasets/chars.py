"""Character-level language modelling on any text file (tiny-shakespeare by default).

The text is split contiguously and in order (the first 90 % train, then 5 % validation, 5 % test by
default): no seed is needed and no passage leaks between splits. The vocabulary is the characters of the
training split; a character of validation or test that training never saw becomes `<unk>` and is counted
(it still costs the model its probability). Training uses truncated back-propagation through time with
the searched `seq_len` (see search/tasks/language_model.py). Metric: bits per character; baseline: the unigram
model of the training characters (add-one smoothing) on the same validation and test characters.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search.datasets._files import data_file, decode
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.language_model import CharLanguageModel

log = logging.getLogger(__name__)
DEFAULT_FILE = Path("tiny_shakespeare") / "input.txt"
PAD, UNK = 0, 1  # ids 2.. are the training characters, most frequent first


@dataclass
class CharsConfig:
    name: str = "chars"
    path: str | None = None  # a text file; default: $CELLSEARCH_DATA_DIR/tiny_shakespeare/input.txt
    encoding: str = "utf-8"  # undecodable bytes stop the run, naming the line
    max_chars: int | None = None  # use only the file's first max_chars characters (quick studies); in the card
    val_fraction: float = 0.05  # contiguous: train, then validation, then test, in file order
    test_fraction: float = 0.05
    eval_streams: int = 8  # validation/test are read as this many contiguous streams, state carried through
    seq_len: int = 100  # truncated-BPTT chunk length in characters; usually searched (space/chars)

    def load(self) -> CharLanguageModel:
        path = self._path()
        text = read_text(path, self.encoding)
        if self.max_chars is not None:
            if self.max_chars < 100:
                raise UserError(f"dataset.max_chars={self.max_chars} is too small: use at least 100 characters")
            text = text[: self.max_chars]
        return char_task(self.name, text, self, f"file: {path.resolve()}")

    def _path(self) -> Path:
        return data_file(self.path, DEFAULT_FILE, "a plain text file",
                         "chars: no text file; set dataset.path=FILE (any text file) or CELLSEARCH_DATA_DIR "
                         f"(a folder with {DEFAULT_FILE})")


def read_text(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    if not data:
        raise UserError(f"{path}: the file is empty; give a text file with at least a few hundred characters")
    return decode(path, data, encoding)


def char_task(name: str, text: str, cfg: CharsConfig, source: str) -> CharLanguageModel:
    import torch  # here, not above: dataset schemas stay torch-free (search/datasets/__init__.py)

    from search.tasks import Metric
    from search.tasks.language_model import CharLanguageModel

    fractions = (cfg.val_fraction, cfg.test_fraction)
    if not all(0 < f < 1 for f in fractions) or sum(fractions) >= 1:
        raise UserError(f"dataset.val_fraction={cfg.val_fraction} and dataset.test_fraction={cfg.test_fraction} "
                        "must each lie in (0, 1) and add up to less than 1")
    if cfg.eval_streams < 1:
        raise UserError(f"dataset.eval_streams={cfg.eval_streams} is invalid: it must be a whole number >= 1")
    n = len(text)
    n_val, n_test = round(n * cfg.val_fraction), round(n * cfg.test_fraction)
    bounds = {"train": (0, n - n_val - n_test), "val": (n - n_val - n_test, n - n_test), "test": (n - n_test, n)}
    parts = {s: text[a:b] for s, (a, b) in bounds.items()}
    for split, part in parts.items():
        if len(part) < 2:
            raise UserError(f"{source}: the {split} split holds {len(part)} characters of {n}; a split needs at "
                            "least 2 (one to read, one to predict): use a longer text or larger fractions")
    counts = Counter(parts["train"])
    chars = sorted(counts, key=lambda c: (-counts[c], c))
    vocab = {c: i + 2 for i, c in enumerate(chars)}
    ids, unknown = {}, {}
    for split, part in parts.items():
        ids[split] = torch.tensor([vocab.get(c, UNK) for c in part], dtype=torch.long)
        unknown[split] = int((ids[split] == UNK).sum())
        if unknown[split]:
            log.warning("%s: %d characters of the %s split never occur in train; they are read and scored as <unk>",
                        name, unknown[split], split)
    task = CharLanguageModel(
        name=name,
        metric=Metric("bpc", "minimize", "bits per character"),
        card={},
        vocab_size=len(vocab) + 2,
        n_outputs=len(vocab) + 2,
        ids=ids,
        eval_streams=cfg.eval_streams,
    )
    # Unigram baseline, add-one smoothed over the training characters and <unk>; scored on the characters
    # the model predicts (every one of the split but its first).
    total, classes = sum(counts.values()), len(vocab) + 1
    task.baseline = {"name": "unigram of the training characters (add-one)"}
    for split in ("val", "test"):
        targets = Counter(parts[split][1:])
        bits = -sum(k * math.log2((counts.get(c, 0) + 1) / (total + classes)) for c, k in targets.items())
        task.baseline[split] = bits / (len(parts[split]) - 1)
    task.card = {
        "name": name,
        "source": source,
        "origin": "character-level language modelling on a text file",
        "size": n,
        "max_chars": cfg.max_chars,
        "classes": len(vocab),
        "vocabulary": "the training split's characters; <unk> for others (counted in 'unknown')",
        "unknown": unknown,
        "splits": {s: f"characters {a}..{b - 1} ({b - a})" for s, (a, b) in bounds.items()},
        "split": f"contiguous, in file order: {1 - sum(fractions):.0%}/{cfg.val_fraction:.0%}/{cfg.test_fraction:.0%}",
        "evaluation": f"every character after a split's first, {cfg.eval_streams} contiguous streams, state carried",
    }
    return task
