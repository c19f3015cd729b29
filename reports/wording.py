"""The verdict in words: what the terminal prints at a search's end, and what the report, the dashboard note and
MLflow say. The decision itself is reports/verdict.py."""

from __future__ import annotations

import numpy as np

from reports.verdict import BUDGET, EQUIVALENT, NOT_ENOUGH, UNDECIDED, Verdict


def fmt(value, digits: int = 4) -> str:
    """A number as the report prints it ("–" for none)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{float(value):.{digits}g}"


def fmt_p(p: float) -> str:
    """A p-value as printed: three significant digits, and "< 0.001" below that."""
    if p is None or not np.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def odds_text(verdict: Verdict) -> str:
    """How likely the other cell is at least as good, or that the cells scored the same on every seed."""
    if verdict.tied == 1:
        return "the two cells scored the same on every seed"
    if not np.isfinite(verdict.p_other_better):
        return "P(other cell better): – (no interval)"
    return f"P(other cell better) {fmt_p(verdict.p_other_better)} (Welch, one-sided)"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def seeds_text(verdict: Verdict) -> str:
    """Undecided from re-evaluation: how many seeds a cell would decide it, and about how long that takes."""
    if verdict.source != "re-evaluation" or verdict.decided:
        return ""
    have = min(verdict.seeds.values()) if verdict.seeds else 0
    if verdict.seeds_needed is None:
        return (" To decide: the effect sits about on the ROPE's edge at the observed spreads; more seeds narrow "
                "the interval but may not settle it.")
    more = sum(max(0, verdict.seeds_needed - n) for n in verdict.seeds.values())
    cost = (f", about {_minutes(more * verdict.sec_per_run)} at {verdict.sec_per_run:.3g} s a run"
            if np.isfinite(verdict.sec_per_run) else "")
    return (f" To decide: about {verdict.seeds_needed} seeds a cell at the observed spreads and effect (now {have}; "
            f"{more} more runs{cost}): search.reeval_max_seeds={verdict.seeds_needed} stage=reeval.")


def source_text(verdict: Verdict) -> str:
    """What exactly the effect was computed from (or why there is none), and any cell with too few trials."""
    a, b = verdict.pair
    if verdict.source == "re-evaluation":
        looks = verdict.looks_at
        looked = (f"; the interval looked at {verdict.looks} times by adaptive re-evaluation (at "
                  f"{', '.join(str(n) for n in looks)} seeds a cell), so each look is a {100 * verdict.level:.3g} % "
                  "interval") if verdict.looks > 1 else ""
        text = (f"mean test {verdict.metric_name} over re-evaluation seeds ({a} {verdict.seeds.get(a)}, {b} "
                f"{verdict.seeds.get(b)}), each retraining the cell's best configuration; Welch's t interval{looked}")
    elif verdict.source == "search":
        text = (f"test {verdict.metric_name} of each cell's best trial by validation, one seed each: descriptive, "
                f"no interval (re-evaluate each cell's best with at least {verdict.min_seeds} seeds for a verdict: "
                f"search.reeval_seeds=auto, or stage=reeval; re-evaluation runs now: {a} {verdict.seeds.get(a)}, "
                f"{b} {verdict.seeds.get(b)})")
    elif verdict.missing == "cells":
        text = f"cells searched: {', '.join(verdict.searched_cells) or 'none'}; both {a} and {b} are needed"
    elif verdict.missing == "scores":
        text = "a cell has no completed trial with a test score"
    else:
        text = ""
    if verdict.short:
        few = ", ".join(f"{cell} has {n} finished search trials, fewer than min_trials={verdict.min_trials}"
                        for cell, n in verdict.short.items())
        text += ("; " if text else "") + few
    return text


def evidence(verdict: Verdict, metric: dict, budget: bool = True) -> str:
    """What the verdict rests on, in plain text: the search prints it at its end after the verdict's label,
    and the dashboard's note and the report's study section say the same. The budget is the study's, said once
    after the gating comparisons (`budget=False` for those: they carry no budget check of their own)."""
    unit = "points" if metric.get("unit") == "%" else metric.get("unit")
    if not np.isfinite(verdict.effect):
        detail = source_text(verdict)
        return f"{detail[:1].upper()}{detail[1:]}."
    a, b = (c.upper() for c in verdict.pair)
    scores = ", ".join(f"{c.upper()} {fmt(s)}" + (f" ± {fmt(verdict.spreads[c], 2)}" if c in verdict.spreads else "")
                       for c, s in verdict.scores.items())
    if np.isfinite(verdict.low):
        pct = f"{100 * verdict.confidence:.3g}"
        looks = f" (over {verdict.looks} looks)" if verdict.looks > 1 else ""
        interval = (f", {pct} % interval{looks} [{fmt(verdict.low)}, {fmt(verdict.high)}], ROPE ±{fmt(verdict.rope, 3)}"
                    f"; {odds_text(verdict)}")
    else:
        interval = f" (no interval; ROPE ±{fmt(verdict.rope, 3)})"
    text = (f"{a}'s advantage over the {b}: {fmt(verdict.effect)} {unit} of test {metric.get('name')}{interval}. "
            f"Scores compared: {scores}. From: {source_text(verdict)}.{seeds_text(verdict)}")
    for gated in verdict.gating:
        text += f" Is gating needed? {gated.pair[0].upper()} against the plain RNN: {gated.label}. " + evidence(
            gated, metric, budget=False)
    return text + budget_text(verdict) if budget else text


def budget_text(verdict: Verdict) -> str:
    """What the expected-max curve and the best trials' last epochs say about the budget; nothing when neither
    looks short."""
    text = ""
    if verdict.still_improving:
        late = "; ".join(f"{cell}'s rose {fmt(gain, 3)} beyond seed luck over its last {n - n // 2} of {n} completed "
                         f"trials" for cell, (gain, n) in verdict.still_improving.items())
        text += (f" Budget: the search may still be improving (best validation score so far: {late}, more than "
                 f"the ROPE): more trials may change the answer; about search.n_trials={verdict.suggested_trials} "
                 "(twice the finished trials) would tell.")
    elif not verdict.budget_checked and verdict.source != "none":
        text += (" Budget: whether more trials would help is not checked without re-evaluation runs (their seed "
                 "spread tells seed luck from better configurations).")
    if verdict.still_learning:
        cells = "; ".join(f"{cell} at epoch {epochs} of {epochs}" for cell, epochs in verdict.still_learning.items())
        text += (f" Budget: the best trials were still learning when their training stopped (best validation at "
                 f"the last epoch: {cells}): longer training may change the answer; about "
                 f"train.max_epochs={verdict.suggested_epochs} (twice those epochs) would tell.")
    return text


def rule_text(cfg) -> str:
    """The rule as the report states it."""
    pct = f"{100 * cfg.confidence:.3g}"
    return (f"Effect = the LSTM's advantage over the GRU in the study's metric (positive: the LSTM is better), from "
            f"the re-evaluation runs when each cell has at least {cfg.min_seeds} (difference of mean test scores over "
            f"seeds; interval: Welch's t, {pct} %; when adaptive re-evaluation looked at it K times, each look's "
            f"interval is at 1 - {1 - cfg.confidence:.2g} / K, so that all K together cover at {pct} % whatever the "
            f"stopping rule). Without them the effect is the difference of the test scores of each cell's best "
            f"search trial by validation: one seed each, descriptive, no interval and no winner. ROPE (region of "
            f"practical equivalence): ±{cfg.rope_points} points for metrics in %, else ±{100 * cfg.rope_relative:g} "
            f"% of the cells' mean score. Verdict: fewer than {cfg.min_trials} finished (completed or pruned) search "
            f"trials for a cell → {NOT_ENOUGH}; the whole interval above +ROPE → LSTM; below −ROPE → GRU; inside "
            f"±ROPE → {EQUIVALENT}; otherwise → {UNDECIDED}, or {BUDGET} when a cell's search may still be improving "
            f"(its best validation score so far rose beyond seed luck by more than the ROPE over its last doubling "
            f"of trials) or its best trial scored its best at its last epoch (it was still learning). P(other "
            f"better) is Welch's one-sided p-value that the cell the estimate does not favour is at least as good. "
            f"With a plain RNN searched, each gated cell is compared with it by the same rule.")
