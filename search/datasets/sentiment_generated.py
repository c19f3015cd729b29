"""The generated review corpus as a dataset of its own: which cell keeps a verdict across a long span?

Each review has one deciding clause, plain ("the plot is gripping"), negated ("the plot is not gripping")
or contrasted ("the cast is wooden , but the plot is gripping": the clause after "but" decides), and
`dataset.distractors.min` to `.max` neutral sentences (about 6 tokens each). The verdict stands before
them (`start`: a left-to-right reader must carry it to the end) or after them (`end`). The position, the
kind of verdict and the tokens carried are recorded per example; `accuracy_by_position` scores a model on
each position apart. Baseline: the majority class (the classes are balanced, so about 50 %); the card also
holds a bag-of-words vote (positive minus negative adjectives, blind to negation, contrast and order), per
position, to show what reading words without their order gets. See search/datasets/_review_generator.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from search.datasets import _review_generator
from search.datasets._splits import stratified_split
from search.datasets._text_encoding import text_classification, tokenize
from search.errors import UserError

if TYPE_CHECKING:
    from search.tasks.text_classification import GeneratedSentiment

log = logging.getLogger(__name__)
CLASSES = ["negative", "positive"]


@dataclass
class Distractors:
    min: int = 5  # neutral sentences per review, drawn uniformly in [min, max]; about 6 tokens each: a verdict
    # at the start is carried over about 35 to 115 tokens; raise max to make it travel further
    max: int = 15


@dataclass
class SentimentGeneratedConfig:
    name: str = "sentiment_generated"
    size: int = 4000  # reviews, half positive
    corpus_seed: int = 0  # fixes the reviews
    distractors: Distractors = field(default_factory=Distractors)
    negation: float = 0.5  # share of deciding clauses that are negated
    contrast: float = 0.3  # share of "A , but B" reviews
    start_share: float = 0.5  # share of reviews with the verdict before the distractors
    val_fraction: float = 0.1  # stratified, fixed by split_seed
    test_fraction: float = 0.1
    split_seed: int = 0
    min_freq: int = 1  # the vocabulary is small and closed
    seq_len: int = 256  # truncation; above the longest review (about 120 tokens), or end verdicts are cut off

    def load(self) -> GeneratedSentiment:
        self._check()
        made = _review_generator.reviews(self.size, self.corpus_seed, self.distractors.min, self.distractors.max,
                                           self.negation, self.contrast, self.start_share)
        labels = np.asarray([r.label for r in made])
        splits = stratified_split(labels, self.val_fraction, self.test_fraction, self.split_seed)
        source = {
            # the generator's module name before it became _review_generator: resumed studies compare the source
            "source": f"generated: search.datasets.generated_sentiment, corpus_seed={self.corpus_seed}",
            "origin": "synthetic reviews: one deciding clause (plain, negated or contrasted with 'but') before or "
                      f"after {self.distractors.min}..{self.distractors.max} neutral sentences",
            "split": f"stratified {1 - self.val_fraction - self.test_fraction:.0%}/{self.val_fraction:.0%}/"
                     f"{self.test_fraction:.0%}, split_seed={self.split_seed}",
        }
        from search.tasks.text_classification import GeneratedSentiment  # here: the schema stays torch-free

        task = text_classification(self.name, [r.text for r in made], labels.tolist(), CLASSES, splits,
                                   self.min_freq, source, kind=GeneratedSentiment)
        task.positions = {s: np.asarray([made[i].position for i in rows]) for s, rows in splits.items()}
        task.card = {**task.card, **self._card(made, splits, labels)}
        return task

    def _check(self) -> None:
        d = self.distractors
        if not 0 <= d.min <= d.max:
            raise UserError(f"dataset.distractors: min={d.min}, max={d.max}; give 0 <= min <= max sentences")
        for key in ("negation", "contrast", "start_share"):
            if not 0 <= getattr(self, key) <= 1:
                raise UserError(f"dataset.{key}={getattr(self, key)}: give a share in [0, 1]")
        if self.size < 20:
            raise UserError(f"dataset.size={self.size}: generate at least 20 reviews (10 per class)")

    def _card(self, made: list, splits: dict, labels: np.ndarray) -> dict:
        tokens = np.asarray([len(tokenize(r.text)) for r in made])
        position = np.asarray([r.position for r in made])
        carry = np.asarray([r.carry for r in made])
        cut = int(np.sum((position == "end") & (tokens > self.seq_len)))
        if cut:
            log.warning("sentiment_generated: %d reviews are longer than dataset.seq_len=%d and have their verdict at "
                        "the end: truncation cuts it off; raise dataset.seq_len", cut, self.seq_len)
        majority = int(np.bincount(labels[splits["train"]]).argmax())
        return {
            "size": len(made),
            "distractors": {"min": self.distractors.min, "max": self.distractors.max},
            "verdicts": {"start": int(np.sum(position == "start")), "end": int(np.sum(position == "end")),
                         "negated": int(sum(r.negated for r in made)), "contrast": int(sum(r.contrast for r in made))},
            "positions_by_split": {s: {p: int(np.sum(position[rows] == p)) for p in ("start", "end")}
                                   for s, rows in splits.items()},
            "tokens_per_text": {"mean": round(float(tokens.mean()), 1), "max": int(tokens.max())},
            "tokens_carried_after_a_start_verdict": {
                "mean": round(float(carry[position == "start"].mean()), 1) if (position == "start").any() else 0,
                "max": int(carry.max())},
            "verdicts_cut_at_seq_len": {"seq_len": self.seq_len, "count": cut},
            "bag_of_words_vote": {s: _vote_accuracy([made[i] for i in rows], majority) for s, rows in splits.items()
                                  if s != "train"},
        }


def _vote_accuracy(made: list, majority: int) -> dict:
    """Accuracy in % of counting positive minus negative adjectives (ties: the training majority), overall and
    per verdict position: what reading the words without their order or negation gets."""
    positive, negative = set(_review_generator.POSITIVE), set(_review_generator.NEGATIVE)
    correct, position = [], []
    for r in made:
        words = tokenize(r.text)
        score = sum(w in positive for w in words) - sum(w in negative for w in words)
        guess = majority if score == 0 else int(score > 0)
        correct.append(guess == r.label)
        position.append(r.position)
    correct, position = np.asarray(correct), np.asarray(position)
    result = {"all": round(float(100.0 * correct.mean()), 2)}
    for p in ("start", "end"):
        if (position == p).any():
            result[p] = round(float(100.0 * correct[position == p].mean()), 2)
    return result
