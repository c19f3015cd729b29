"""Text to token ids: tokenising, a vocabulary fitted on train only, and the encoded TextClassification task."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.text_classification import TextClassification

PAD, UNK = 0, 1
_TOKEN = re.compile(r"[\w']+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def build_vocab(token_lists: list[list[str]], min_freq: int) -> dict[str, int]:
    counts = Counter(t for tokens in token_lists for t in tokens)
    kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    return {"<pad>": PAD, "<unk>": UNK, **{t: i + 2 for i, t in enumerate(kept)}}


def _encode(token_lists: list[list[str]], vocab: dict[str, int]):
    """Right-padded id rows [N, Lmax] and their lengths [N], as LongTensors."""
    import torch

    lengths = torch.tensor([len(t) for t in token_lists], dtype=torch.long)
    ids = torch.full((len(token_lists), int(lengths.max())), PAD, dtype=torch.long)
    for row, tokens in enumerate(token_lists):
        ids[row, : len(tokens)] = torch.tensor([vocab.get(t, UNK) for t in tokens], dtype=torch.long)
    return ids, lengths


def text_classification(name: str, texts: list[str], labels: list[int], class_names: list[str],
                        splits: dict[str, np.ndarray], min_freq: int, card: dict,
                        kind: type[TextClassification] | None = None) -> TextClassification:
    """Tokenise, fit the vocabulary on the training rows, encode every split; baseline: majority class.
    `kind`: a subclass of TextClassification to build instead."""
    import torch  # here, not above: dataset schemas stay torch-free (search/datasets/__init__.py)

    from search.tasks import Metric
    from search.tasks.text_classification import TextClassification

    tokens = [tokenize(t) for t in texts]
    empty = [i for i, t in enumerate(tokens) if not t]
    if empty:
        raise UserError(f"{name}: {len(empty)} texts have no tokens (the first is text {empty[0] + 1}); "
                        "remove them or fix the text source")
    y = np.asarray(labels)
    vocab = build_vocab([tokens[i] for i in splits["train"]], min_freq)
    task = (kind or TextClassification)(
        name=name,
        metric=Metric("accuracy", "maximize", "%"),
        card={},
        vocab_size=len(vocab),
        n_outputs=len(class_names),
    )
    for split, rows in splits.items():
        task.ids[split], task.lengths[split] = _encode([tokens[i] for i in rows], vocab)
        task.labels[split] = torch.as_tensor(y[rows], dtype=torch.long)
    majority = int(np.bincount(y[splits["train"]]).argmax())
    task.baseline = {
        "name": f"majority class ({class_names[majority]})",
        **{s: float(100.0 * np.mean(y[splits[s]] == majority)) for s in ("val", "test")},
    }
    train_lengths = task.lengths["train"].float()
    task.card = {
        "name": name,
        **card,
        "size": len(texts),
        "splits": {s: len(rows) for s, rows in splits.items()},
        "classes": {c: int(np.sum(y == i)) for i, c in enumerate(class_names)},
        "vocab_size": len(vocab),
        "vocab_min_freq": min_freq,
        "tokens_per_text_train": {"mean": round(float(train_lengths.mean()), 1),
                                  "max": int(train_lengths.max())},
    }
    return task
