"""A generated review corpus: the sentiment study's offline fallback (`generate`), and the reviews of
`study=sentiment_generated` (search/datasets/sentiment_generated.py).

Each review has one verdict sentence that decides its label, plain ("the plot is gripping"), negated
("the plot is not gripping") or contrasted ("the cast is wooden , but the plot is gripping": the clause
after "but" decides). Neutral distractor sentences stand before or after the verdict, so the verdict sits
near the start or near the end of the text and a model must carry it across the distractors.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Review:
    text: str
    label: int  # 1 positive, 0 negative
    position: str  # start | end: where the verdict sits
    negated: bool  # the deciding clause is negated ("is not gripping")
    contrast: bool  # "A , but B": B decides, A has the opposite polarity
    distractors: int  # neutral sentences around the verdict
    carry: int  # tokens after the verdict: how far a left-to-right reader must keep it


def _clause(rng: np.random.Generator, polarity: int, negation: float = 0.5) -> tuple[str, bool]:
    """A clause of the given polarity (1 positive, 0 negative), negated with probability `negation`."""
    negate = rng.random() < negation
    words = POSITIVE if polarity != negate else NEGATIVE
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    adjective = words[rng.integers(len(words))]
    if negate:
        return f"{subject} is {NEGATORS[rng.integers(len(NEGATORS))]} {adjective}", True
    return f"{subject} is {adjective}", False


def reviews(n: int, seed: int, min_distractors: int = 0, max_distractors: int = 4, negation: float = 0.5,
            contrast: float = 0.3, start_share: float = 0.5, lead: int = 0, tail: int = 0) -> list[Review]:
    """`n` reviews, half positive, in a seeded random order. Each has between `min_distractors` and
    `max_distractors` neutral sentences (about 6 tokens each); its verdict stands before them with
    probability `start_share`, else after them. With `lead`, a verdict that stands before them is itself
    preceded by 0 to `lead` further neutral sentences (not counted in `distractors`), so that it is not the
    first thing read; with `tail`, a verdict after them is followed by 1 to `tail` of them, so that no
    verdict is the last thing read."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(n):
        label = i % 2
        verdict, negated = _clause(rng, label, negation)
        contrasted = rng.random() < contrast
        if contrasted:  # "A , but B": B decides
            verdict = f"{_clause(rng, 1 - label, negation)[0]} , but {verdict}"
        count = rng.integers(min_distractors, max_distractors + 1)
        filler = [DISTRACTORS[j] for j in rng.integers(len(DISTRACTORS), size=count)]
        at_start = rng.random() < start_share
        before, after = ([], filler) if at_start else (filler, [])
        if lead and at_start:
            before = [DISTRACTORS[j] for j in rng.integers(len(DISTRACTORS), size=rng.integers(lead + 1))]
        if tail and not at_start:
            cut = len(filler) - min(len(filler), int(rng.integers(1, tail + 1)))
            before, after = filler[:cut], filler[cut:]
        sentences = [*before, verdict, *after]
        carry = sum(len(f.split()) + 1 for f in after)  # each sentence and its " ."
        made.append(Review(" . ".join(sentences) + " .", label, "start" if at_start else "end", negated,
                           contrasted, int(count), carry + 1))
    return [made[i] for i in rng.permutation(n)]


FALLBACK = {"min_distractors": 3, "max_distractors": 12, "start_share": 0.5, "lead": 1, "tail": 2}


def generate(n: int, seed: int) -> tuple[list[str], list[int], list[str]]:
    """The sentiment study's offline corpus (`FALLBACK`): `n` reviews, half positive, each with 3 to 12
    neutral sentences; half of the verdicts come after at most one of them and before the rest (carried
    over about 20 to 80 tokens, more than the study's shortest truncations keep), the others among the last
    sentences but never last. Every verdict is followed by distractors, so no cell scores 100 % by
    construction, as both did when the verdict could stand last: in a 6-trial search the trials scored 50
    to 95 % (LSTM 95.2, GRU 92.7 at best). Returns texts, labels (1 positive) and where the verdict sits."""
    made = reviews(n, seed, **FALLBACK)
    return [r.text for r in made], [r.label for r in made], [r.position for r in made]
