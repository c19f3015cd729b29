"""The verdict: which cell type wins on a study, by a fixed rule written into the report.

Effect: the advantage of the LSTM over the GRU in the study's metric, oriented so that a positive number
means the LSTM is better (higher accuracy, lower error). It is measured
- from the re-evaluation runs when each cell has at least `min_seeds` of them: the difference of the mean
  test scores over seeds (each seed retrains the cell's best configuration);
- otherwise from the search: the difference of the test scores of each cell's best trial, chosen by
  validation score. This holds only one seed per configuration, and says so.
The interval is a percentile bootstrap (scipy.stats.bootstrap; each cell's runs or trials resampled on
their own), and "P(other better)" is the share of resamples in which the cell that the estimate does not
favour comes out ahead.
Rule: with fewer than `min_trials` finished (completed or pruned: each is a configuration the search
judged) search trials for a cell: "not enough evidence". Else, if the
whole interval lies above +ROPE, the LSTM wins; below -ROPE, the GRU; inside [-ROPE, +ROPE]: "practically
equivalent"; otherwise "no clear winner". ROPE, the region of practical equivalence, is `rope_points` for
metrics in percent (e.g. 0.5 points of accuracy) and `rope_relative` times the cells' mean score for
every other metric (e.g. 1 % of the error).
With the plain RNN searched too (model.cell: [lstm, gru, rnn]), the LSTM-GRU verdict stays the headline and each
gated cell is also compared with the RNN by the same rule ("is gating needed here?").
Budget: a cell whose best trial came in the last fifth of its finished search trials may still be improving (more
trials), and one whose best trial was best at its last epoch was still learning when its training stopped (more
epochs: it was not stopped by patience); the verdict says so with the budget it suggests, and a "no clear winner"
becomes "budget too small".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from reports.collect import StudyData
from reports.config import ReportConfig

NOT_ENOUGH = "not enough evidence"
EQUIVALENT = "practically equivalent"
UNDECIDED = "no clear winner"
BUDGET = "budget too small"
GATED = ("lstm", "gru")
PLAIN = "rnn"


@dataclass
class Verdict:
    label: str  # LSTM | GRU | practically equivalent | no clear winner | budget too small | not enough evidence
    winner: str | None  # lstm | gru | None (rnn in a comparison with the RNN)
    source: str  # "re-evaluation" | "search" | "none"
    source_detail: str  # what exactly the effect was computed from
    effect: float  # the first cell's advantage (the LSTM's), metric units, positive = it is better
    low: float  # the interval of the effect
    high: float
    p_other_better: float  # share of resamples where the cell not favoured by `effect` is better
    rope: float
    scores: dict = field(default_factory=dict)  # cell -> the score compared (mean over seeds, or best trial's test)
    counts: dict = field(default_factory=dict)  # cell -> completed search trials
    seeds: dict = field(default_factory=dict)  # cell -> re-evaluation runs
    tied: float = float("nan")  # share of resamples in which the two cells score exactly the same
    confidence: float = ReportConfig.confidence  # of the interval: the setting it was computed with
    pair: tuple[str, str] = GATED  # the cells compared: the effect is pair[0]'s advantage over pair[1]
    gating: list = field(default_factory=list)  # with an RNN searched: each gated cell's Verdict against it
    still_improving: dict = field(default_factory=dict)  # cell -> (its best trial's rank, its finished trials)
    suggested_trials: int | None = None  # search.n_trials that may settle it, when a cell is still improving
    still_learning: dict = field(default_factory=dict)  # cell -> epochs of its best trial, best at the last of them
    suggested_epochs: int | None = None  # train.max_epochs that may settle it, when a cell is still learning

    @property
    def relative(self) -> tuple[float, float, float]:
        """Effect and interval in % of the GRU's score, for plotting datasets on one axis."""
        base = abs(self.scores.get(self.pair[1], np.nan)) or np.nan
        return tuple(100.0 * v / base for v in (self.effect, self.low, self.high))


def rope_width(data: StudyData, scores: dict, rope_points: float, rope_relative: float) -> float:
    if data.metric.get("unit") == "%":
        return rope_points
    return rope_relative * abs(float(np.mean(list(scores.values()))))


def _bootstrap(samples: tuple, statistic, cfg) -> tuple[float, float, np.ndarray]:
    result = stats.bootstrap(samples, statistic, vectorized=True, paired=False, method="percentile",
                             confidence_level=cfg.confidence, n_resamples=cfg.n_resamples,
                             rng=np.random.default_rng(cfg.bootstrap_seed))
    interval = result.confidence_interval
    return float(interval.low), float(interval.high), result.bootstrap_distribution


def _compare(data: StudyData, cfg, pair: tuple[str, str]) -> Verdict:
    """The verdict on one pair of cells: the effect is the first one's advantage over the second."""
    a, b = pair
    sign = 1.0 if data.maximize else -1.0
    cells = data.by_cell
    counts = {c: len(cells[c].scored) for c in pair}
    seeds = {c: len(cells[c].reeval_tests) for c in pair}
    nan = float("nan")
    if not all(c in data.cells() for c in pair):
        searched = ", ".join(data.cells()) or "none"
        return Verdict(NOT_ENOUGH, None, "none", f"cells searched: {searched}; both {a} and {b} are needed",
                       nan, nan, nan, nan, nan, {}, counts, seeds, confidence=cfg.confidence, pair=pair)

    if all(seeds[c] >= cfg.min_seeds for c in pair):
        runs = {c: cells[c].reeval_tests for c in pair}
        scores = {c: float(runs[c].mean()) for c in pair}
        effect = sign * (scores[a] - scores[b])
        low, high, dist = _bootstrap((runs[a], runs[b]),
                                     lambda a, b, axis: sign * (a.mean(axis) - b.mean(axis)), cfg)
        source = "re-evaluation"
        detail = (f"mean test {data.metric['name']} over re-evaluation seeds ({a} {seeds[a]}, {b} "
                  f"{seeds[b]}), each retraining the cell's best configuration")
    else:
        if min(counts.values()) == 0:
            return Verdict(NOT_ENOUGH, None, "none", "a cell has no completed trial with a test score",
                           nan, nan, nan, nan, nan, {}, counts, seeds, confidence=cfg.confidence, pair=pair)
        scores = {c: float(cells[c].best.test) for c in pair}
        effect = sign * (scores[a] - scores[b])
        vals = {c: cells[c].scored.value.to_numpy(float) for c in pair}
        tests = {c: cells[c].scored.test.to_numpy(float) for c in pair}
        pick = np.argmax if data.maximize else np.argmin

        def best_test(c, rows, axis):  # each resample's best trial, by the same rule as records.best_per_cell
            rows = rows.astype(int)
            return np.take_along_axis(tests[c][rows], np.expand_dims(pick(vals[c][rows], axis=axis), axis), axis
                                      ).squeeze(axis)

        if min(counts.values()) >= 2:
            low, high, dist = _bootstrap(
                (np.arange(counts[a], dtype=float), np.arange(counts[b], dtype=float)),
                lambda x, y, axis: sign * (best_test(a, x, axis) - best_test(b, y, axis)), cfg)
        else:
            low, high, dist = nan, nan, np.array([effect])
        source = "search"
        detail = (f"test {data.metric['name']} of each cell's best trial by validation ({a} {counts[a]}, "
                  f"{b} {counts[b]} completed trials, resampled); one seed each: re-evaluate for more")

    rope = rope_width(data, scores, cfg.rope_points, cfg.rope_relative)
    favoured_lstm = effect >= 0
    p_other = float(np.mean(dist < 0) if favoured_lstm else np.mean(dist > 0))
    tied = float(np.mean(dist == 0))
    searched = {c: cells[c].count("COMPLETE", "PRUNED") for c in pair}
    few = [c for c in pair if searched[c] < cfg.min_trials]
    if few or not np.isfinite(low):
        label, winner = NOT_ENOUGH, None
        detail += "; " + ", ".join(f"{c} has {searched[c]} finished search trials, fewer than min_trials="
                                   f"{cfg.min_trials}" for c in few) if few else "; no interval from one trial"
    elif low > rope:
        label, winner = a.upper(), a
    elif high < -rope:
        label, winner = b.upper(), b
    elif -rope <= low and high <= rope:
        label, winner = EQUIVALENT, None
    else:
        label, winner = UNDECIDED, None
    return Verdict(label, winner, source, detail, effect, low, high, p_other, rope, scores, counts, seeds, tied,
                   cfg.confidence, pair)


def _still_improving(data: StudyData, cells: list[str]) -> dict[str, tuple[int, int]]:
    """Cells whose best trial came in the last fifth of their finished search trials (5 or more): cell -> (the
    best's rank among them, counted from 1, and how many there are)."""
    out = {}
    for cell in cells:
        mine = data.by_cell[cell]
        finished = sorted(mine.trials.loc[mine.trials.state.isin(["COMPLETE", "PRUNED"]), "number"])
        if mine.best is None or len(finished) < 5 or mine.best.number not in finished:
            continue
        rank = finished.index(mine.best.number) + 1
        if rank > 0.8 * len(finished):
            out[cell] = (rank, len(finished))
    return out


def _still_learning(data: StudyData, cells: list[str]) -> dict[str, int]:
    """Cells whose best trial scored its best at its last epoch (training ended by the epoch cap, not by patience,
    which always ends on epochs that did not improve): cell -> its epochs. Storages without best epochs: none."""
    out = {}
    for cell in cells:
        best = data.by_cell[cell].best
        if best is not None and pd.notna(best.best_epoch) and best.best_epoch >= best.epochs:
            out[cell] = int(best.epochs)
    return out


def decide(data: StudyData, cfg) -> Verdict:
    """LSTM against GRU, the headline; with a plain RNN searched, each gated cell against it too (`gating`); and
    whether a cell's search still improves at the end (`still_improving`, with the budget it suggests)."""
    verdict = _compare(data, cfg, GATED)
    if PLAIN in data.cells():
        verdict.gating = [_compare(data, cfg, (cell, PLAIN)) for cell in GATED if cell in data.cells()]
    verdict.still_improving = _still_improving(data, data.cells())
    if verdict.still_improving:
        finished = sum(data.by_cell[c].count("COMPLETE", "PRUNED") for c in data.cells())
        verdict.suggested_trials = 2 * finished
    verdict.still_learning = _still_learning(data, data.cells())
    if verdict.still_learning:
        verdict.suggested_epochs = 2 * max(verdict.still_learning.values())
    if (verdict.still_improving or verdict.still_learning) and verdict.label == UNDECIDED:
        verdict.label = BUDGET
    return verdict


def fmt(value, digits: int = 4) -> str:
    """A number as the report prints it ("–" for none)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{float(value):.{digits}g}"


def fmt_p(p: float, resamples: int) -> str:
    """A share of bootstrap resamples; none of them is reported as below one resample's share, not as 0."""
    if p is None or not np.isfinite(p):
        return "–"
    return f"< {1 / resamples:.1g}" if p == 0 else f"{p:.3g}"


def odds_text(verdict: Verdict, resamples: int) -> str:
    """How often the other cell came out ahead, or that the cells scored the same in every resample."""
    if verdict.tied == 1:
        return "the two cells scored the same in every resample"
    return f"P(other cell better) {fmt_p(verdict.p_other_better, resamples)}"


def evidence(verdict: Verdict, metric: dict, resamples: int) -> str:
    """What the verdict rests on, in plain text: the search prints it at its end after the verdict's label,
    and the dashboard's note and the report's study section say the same."""
    unit = "points" if metric.get("unit") == "%" else metric.get("unit")
    if not np.isfinite(verdict.effect):
        return f"{verdict.source_detail[:1].upper()}{verdict.source_detail[1:]}."
    a, b = (c.upper() for c in verdict.pair)
    scores = ", ".join(f"{c.upper()} {fmt(s)}" for c, s in verdict.scores.items())
    text = (f"{a}'s advantage over the {b}: {fmt(verdict.effect)} {unit} of test "
            f"{metric.get('name')}, {round(100 * verdict.confidence)} % interval [{fmt(verdict.low)}, "
            f"{fmt(verdict.high)}], ROPE ±{fmt(verdict.rope, 3)}; {odds_text(verdict, resamples)}. Scores compared: "
            f"{scores}. From: {verdict.source_detail}.")
    for gated in verdict.gating:
        text += f" Is gating needed? {gated.pair[0].upper()} against the plain RNN: {gated.label}. " + evidence(
            gated, metric, resamples)
    return text + budget_text(verdict)


def budget_text(verdict: Verdict) -> str:
    """What the trial order and the best trials' last epochs say about the budget; nothing when neither is short."""
    text = ""
    if verdict.still_improving:
        late = "; ".join(f"{cell}'s best came at its finished trial {rank} of {n}"
                         for cell, (rank, n) in verdict.still_improving.items())
        text += (f" Budget: the search may still be improving ({late}, in the last fifth): more trials may change "
                 f"the answer; about search.n_trials={verdict.suggested_trials} (twice the finished trials) would "
                 "tell.")
    if verdict.still_learning:
        cells = "; ".join(f"{cell} at epoch {epochs} of {epochs}" for cell, epochs in verdict.still_learning.items())
        text += (f" Budget: the best trials were still learning when their training stopped (best validation at "
                 f"the last epoch: {cells}): longer training may change the answer; about "
                 f"train.max_epochs={verdict.suggested_epochs} (twice those epochs) would tell.")
    return text


def rule_text(cfg) -> str:
    """The rule as the report states it."""
    pct = round(100 * cfg.confidence)
    return (f"Effect = the LSTM's advantage over the GRU in the study's metric (positive: the LSTM is better), from "
            f"the re-evaluation runs when each cell has at least {cfg.min_seeds} (difference of mean test scores "
            f"over seeds), otherwise from the search (difference of the test scores of each cell's best trial by "
            f"validation). Interval: {pct} % percentile bootstrap, {cfg.n_resamples} resamples, each cell "
            f"resampled on its own (seed {cfg.bootstrap_seed}). ROPE (region of practical equivalence): "
            f"±{cfg.rope_points} points for metrics in %, else ±{100 * cfg.rope_relative:g} % of the cells' mean "
            f"score. Verdict: fewer than {cfg.min_trials} finished (completed or pruned) search trials for a cell → "
            f"{NOT_ENOUGH}; the "
            f"whole interval above +ROPE → LSTM; below −ROPE → GRU; inside ±ROPE → {EQUIVALENT}; otherwise → "
            f"{UNDECIDED}, or {BUDGET} when a cell's best search trial came in the last fifth of its finished trials "
            f"(its search may still be improving) or scored its best at its last epoch (it was still learning). "
            f"P(other better) is the share of bootstrap resamples in which the "
            f"cell that the estimate does not favour comes out ahead. With a plain RNN searched, each gated cell is "
            f"compared with it by the same rule.")
