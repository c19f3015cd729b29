"""The verdict: which cell type wins on a study, by a fixed rule written into the report. This module decides and
records what the decision rests on as data; reports/wording.py says it in words.

Effect: the advantage of the LSTM over the GRU in the study's metric, oriented so that a positive number means
the LSTM is better (higher accuracy, lower error).
- With at least `min_seeds` (2) re-evaluation runs a cell (each retrains the cell's best configuration with a
  fresh seed): the difference of the mean test scores, with Welch's t interval (reports/welch.py: why Welch, and
  why its coverage holds from 2 seeds), at the Bonferroni level for the looks that adaptive re-evaluation took
  (`reeval_looks` on the runs; one look for a fixed number of seeds or an older storage). "P(other better)" is
  Welch's one-sided p-value that the cell the estimate does not favour is at least as good.
- Otherwise only the search: the difference of the test scores of each cell's best trial by validation. One seed
  a configuration says nothing of seed noise, and a bootstrap of a maximum is not a valid interval, so this is
  *descriptive*: no interval and no winner ("LSTM ahead (descriptive)"), and the evidence says to re-evaluate.
Rule: with fewer than `min_trials` finished (completed or pruned) search trials for a cell: "not enough evidence".
Else, if the whole interval lies above +ROPE, the LSTM wins; below -ROPE, the GRU; inside [-ROPE, +ROPE]:
"practically equivalent"; otherwise "no clear winner", with the seeds a cell that would decide it at the observed
spreads. ROPE, the region of practical equivalence, is `rope_points` for metrics in percent (0.5 points of
accuracy) and `rope_relative` times the cells' mean score for every other metric (1 % of the error).
With the plain RNN searched too (model.cell: [lstm, gru, rnn]), the LSTM-GRU verdict stays the headline and each
gated cell is also compared with the RNN by the same rule ("is gating needed here?").
Budget (reports/budget.py): a cell whose best validation score still rose beyond seed luck over its last
doubling of trials may still be improving; a best trial best at its last epoch was still learning. The verdict
says so with the budget it suggests, and a "no clear winner" becomes "budget too small".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reports import budget, welch
from reports.collect import StudyData

NOT_ENOUGH = "not enough evidence"
EQUIVALENT = "practically equivalent"
UNDECIDED = "no clear winner"
BUDGET = "budget too small"
DESCRIPTIVE = "descriptive"
GATED = ("lstm", "gru")
PLAIN = "rnn"
NAN = float("nan")


@dataclass
class Verdict:
    label: str  # LSTM | GRU | practically equivalent | no clear winner | budget too small | not enough evidence |
    # "<CELL> ahead (descriptive)" | "tied (descriptive)"
    pair: tuple[str, str] = GATED  # the cells compared: the effect is pair[0]'s advantage over pair[1]
    winner: str | None = None  # a cell of `pair` when the interval says it is better, else None
    source: str = "none"  # "re-evaluation" | "search" | "none"
    metric_name: str = ""  # the study's metric, as the effect is of its test score
    missing: str = ""  # with source "none": "cells" (a cell of the pair not searched) | "scores" (none with a test)
    searched_cells: list = field(default_factory=list)  # every cell the study searched
    short: dict = field(default_factory=dict)  # cell -> finished search trials, when fewer than min_trials
    min_trials: int = 5  # the settings the verdict was decided with
    min_seeds: int = 2
    looks_at: list = field(default_factory=list)  # seeds a cell at each look of adaptive re-evaluation
    effect: float = NAN  # pair[0]'s advantage, metric units, positive = it is better
    low: float = NAN  # the interval of the effect (nan: none, as for a descriptive verdict)
    high: float = NAN
    p_other_better: float = NAN  # Welch's one-sided p-value for the cell the effect does not favour
    rope: float = NAN
    scores: dict = field(default_factory=dict)  # cell -> the score compared (mean over seeds, or best trial's test)
    spreads: dict = field(default_factory=dict)  # cell -> standard deviation of its re-evaluation test scores
    counts: dict = field(default_factory=dict)  # cell -> completed search trials with a test score
    seeds: dict = field(default_factory=dict)  # cell -> re-evaluation runs
    tied: float = 0.0  # 1 when every seed of both cells scored exactly the same
    confidence: float = 0.95  # the interval's overall confidence: the setting it was computed with
    looks: int = 1  # times the interval was looked at (adaptive re-evaluation); each look at `level`
    level: float = 0.95  # the confidence of this look's interval (Bonferroni: 1 - (1 - confidence) / looks)
    decided: bool = False  # the interval alone settles it (a winner or practically equivalent)
    seeds_needed: int | None = None  # undecided: seeds a cell that would decide it at the observed spreads
    sec_per_run: float = NAN  # mean seconds of one re-evaluation run (epochs x seconds per epoch)
    gating: list = field(default_factory=list)  # with an RNN searched: each gated cell's Verdict against it
    still_improving: dict = field(default_factory=dict)  # cell -> (its last doubling's gain beyond luck, its trials)
    budget_checked: bool = False  # whether the seed spread was known, so that the trials budget could be checked
    suggested_trials: int | None = None  # search.n_trials that may settle it, when a cell is still improving
    still_learning: dict = field(default_factory=dict)  # cell -> epochs of its best trial, best at the last of them
    suggested_epochs: int | None = None  # train.max_epochs that may settle it, when a cell is still learning

    @property
    def source_detail(self) -> str:
        """What exactly the effect was computed from, in words (reports/wording.py)."""
        from reports.wording import source_text  # wording reads this module: imported when asked, not above

        return source_text(self)

    @property
    def relative(self) -> tuple[float, float, float]:
        """Effect and interval in % of the GRU's score, for plotting datasets on one axis."""
        base = abs(self.scores.get(self.pair[1], np.nan)) or np.nan
        return tuple(100.0 * v / base for v in (self.effect, self.low, self.high))


def rope_width(data: StudyData, scores: dict, rope_points: float, rope_relative: float) -> float:
    if data.metric.get("unit") == "%":
        return rope_points
    return rope_relative * abs(float(np.mean(list(scores.values()))))


def _descriptive_label(effect: float, pair: tuple[str, str]) -> str:
    if effect == 0:
        return f"tied ({DESCRIPTIVE})"
    return f"{(pair[0] if effect > 0 else pair[1]).upper()} ahead ({DESCRIPTIVE})"


def _from_reeval(data: StudyData, cfg, pair: tuple[str, str]) -> Verdict:
    a, b = pair
    sign = 1.0 if data.maximize else -1.0
    runs = {c: data.by_cell[c].reeval_tests for c in pair}
    scores = {c: float(runs[c].mean()) for c in pair}
    looks = max(1, len(data.reeval_looks))
    # the difference oriented as "a is better": for a minimised metric b's mean minus a's
    iv = welch.interval(sign * runs[a], sign * runs[b], cfg.confidence, looks)
    rope = rope_width(data, scores, cfg.rope_points, cfg.rope_relative)
    spreads = {c: float(np.std(runs[c], ddof=1)) for c in pair}
    if iv.low > rope:
        label, winner = a.upper(), a
    elif iv.high < -rope:
        label, winner = b.upper(), b
    elif -rope <= iv.low and iv.high <= rope:
        label, winner = EQUIVALENT, None
    else:
        label, winner = UNDECIDED, None
    verdict = Verdict(
        label=label, pair=pair, winner=winner, source="re-evaluation", effect=iv.effect, low=iv.low, high=iv.high,
        p_other_better=iv.p_other, rope=rope, scores=scores, spreads=spreads, tied=float(iv.se == 0 and iv.effect == 0),
        confidence=cfg.confidence, looks=looks, level=iv.level, decided=label != UNDECIDED,
        seeds={c: len(runs[c]) for c in pair}, looks_at=list(data.reeval_looks))
    if not verdict.decided:
        verdict.seeds_needed = welch.seeds_needed(spreads[a], spreads[b], iv.effect, rope, cfg.confidence,
                                                    data.reeval_looks)
    verdict.sec_per_run = data.reeval_seconds_per_run(pair)
    return verdict


def _from_search(data: StudyData, cfg, pair: tuple[str, str]) -> Verdict:
    a, b = pair
    sign = 1.0 if data.maximize else -1.0
    scores = {c: float(data.by_cell[c].best.test) for c in pair}
    effect = sign * (scores[a] - scores[b])
    return Verdict(label=_descriptive_label(effect, pair), pair=pair, source="search", effect=effect, scores=scores,
                   rope=rope_width(data, scores, cfg.rope_points, cfg.rope_relative), confidence=cfg.confidence,
                   level=cfg.confidence)


def compare(data: StudyData, cfg, pair: tuple[str, str]) -> Verdict:
    """The verdict on one pair of cells: the effect is the first one's advantage over the second."""
    cells = data.by_cell
    counts = {c: len(cells[c].scored) for c in pair}
    seeds = {c: len(cells[c].reeval_tests) for c in pair}
    if not all(c in data.cells() for c in pair):
        verdict = Verdict(label=NOT_ENOUGH, pair=pair, missing="cells")
    elif all(seeds[c] >= cfg.min_seeds for c in pair):
        verdict = _from_reeval(data, cfg, pair)
    elif min(counts.values()) == 0:
        verdict = Verdict(label=NOT_ENOUGH, pair=pair, missing="scores")
    else:
        verdict = _from_search(data, cfg, pair)
    verdict.counts, verdict.seeds, verdict.confidence = counts, seeds, cfg.confidence
    verdict.metric_name, verdict.searched_cells = data.metric.get("name", ""), data.cells()
    verdict.min_trials, verdict.min_seeds = cfg.min_trials, cfg.min_seeds
    searched = {c: cells[c].count("COMPLETE", "PRUNED") for c in pair if c in data.cells()}
    short = {c: n for c, n in searched.items() if n < cfg.min_trials}
    if short and verdict.label != NOT_ENOUGH:  # (already not enough evidence: for another reason, said alone)
        verdict.label, verdict.winner, verdict.short = NOT_ENOUGH, None, short
    return verdict


def _budget(data: StudyData, cfg, verdict: Verdict) -> None:
    cells = data.cells()
    spread, df = budget.seed_spread(data.reeval, cells)
    verdict.budget_checked = bool(np.isfinite(spread))
    for cell in cells:
        mine = data.by_cell[cell]
        done = mine.trials[mine.trials.state == "COMPLETE"].sort_values("number")  # in the order they ran
        values = done.value.dropna().to_numpy(float)
        if len(values):
            rope = rope_width(data, {cell: float(mine.best.value)}, cfg.rope_points, cfg.rope_relative)
            gain = budget.still_improving(values, data.maximize, spread, df, rope)
            if gain is not None:
                verdict.still_improving[cell] = (gain, len(values))
        epochs = budget.still_learning(mine.best)
        if epochs is not None:
            verdict.still_learning[cell] = epochs
    if verdict.still_improving:
        verdict.suggested_trials = 2 * sum(data.by_cell[c].count("COMPLETE", "PRUNED") for c in cells)
    if verdict.still_learning:
        verdict.suggested_epochs = 2 * max(verdict.still_learning.values())


def decide(data: StudyData, cfg) -> Verdict:
    """LSTM against GRU, the headline; with a plain RNN searched, each gated cell against it too (`gating`); and
    whether a cell's search or training budget looks short (reports/budget.py)."""
    verdict = compare(data, cfg, GATED)
    if PLAIN in data.cells():
        verdict.gating = [compare(data, cfg, (cell, PLAIN)) for cell in GATED if cell in data.cells()]
    _budget(data, cfg, verdict)
    if (verdict.still_improving or verdict.still_learning) and verdict.label == UNDECIDED:
        verdict.label = BUDGET
    return verdict
