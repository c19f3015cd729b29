"""A generated review corpus: the sentiment study's offline fallback.

Each review has one verdict sentence that decides its label, plain ("the plot is gripping"), negated
("the plot is not gripping") or contrasted ("the cast is wooden , but the plot is gripping": the clause
after "but" decides). Neutral distractor sentences stand before or after the verdict, so the verdict sits
near the start or near the end of the text and a model must carry it across the distractors.
"""

from __future__ import annotations

import numpy as np

POSITIVE = ["gripping", "moving", "brilliant", "charming", "witty", "gorgeous", "tender", "sharp",
            "delightful", "thrilling", "clever", "heartfelt", "superb", "assured", "lively", "funny"]
NEGATIVE = ["dull", "tedious", "clumsy", "lifeless", "shallow", "bland", "muddled", "tiresome",
            "predictable", "wooden", "hollow", "sloppy", "grating", "flat", "forgettable", "bloated"]
SUBJECTS = ["the plot", "the acting", "the script", "the score", "the cast", "the direction",
            "the dialogue", "the ending", "the pacing", "the film", "the story", "the lead"]
NEGATORS = ["not", "never", "hardly", "far from"]
DISTRACTORS = [
    "it runs about two hours", "the film opened in march", "it was shot in three cities",
    "the director also wrote the novel", "most scenes take place at night", "there is a long flashback",
    "the story follows two brothers", "the studio released a trailer last year",
    "the soundtrack uses old records", "it is the second film of the series",
    "the cast includes several newcomers", "the credits roll over a city street",
    "many scenes were filmed on location", "the running time is close to average",
    "it had a small release", "the film is in colour",
]


def _clause(rng: np.random.Generator, polarity: int) -> str:
    """A clause of the given polarity (1 positive, 0 negative), negated half of the time."""
    negate = rng.random() < 0.5
    words = POSITIVE if polarity != negate else NEGATIVE
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    adjective = words[rng.integers(len(words))]
    if negate:
        return f"{subject} is {NEGATORS[rng.integers(len(NEGATORS))]} {adjective}"
    return f"{subject} is {adjective}"


def generate(n: int, seed: int, max_distractors: int = 4) -> tuple[list[str], list[int], list[str]]:
    """`n` reviews, half positive; returns texts, labels (1 positive) and where the verdict sits."""
    rng = np.random.default_rng(seed)
    texts, labels, positions = [], [], []
    for i in range(n):
        label = i % 2
        verdict = _clause(rng, label)
        if rng.random() < 0.3:  # "A , but B": B decides
            verdict = f"{_clause(rng, 1 - label)} , but {verdict}"
        filler = [DISTRACTORS[j] for j in rng.integers(len(DISTRACTORS), size=rng.integers(max_distractors + 1))]
        at_start = rng.random() < 0.5
        sentences = [verdict, *filler] if at_start else [*filler, verdict]
        texts.append(" . ".join(sentences) + " .")
        labels.append(label)
        positions.append("start" if at_start else "end")
    order = rng.permutation(n)
    return [texts[i] for i in order], [labels[i] for i in order], [positions[i] for i in order]
