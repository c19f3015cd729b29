"""The summary table: one row per study (dataset), with the verdict, its interval, the scores against the
baseline and the cost. The same rows are written as CSV and shown in the report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.collect import StudyData
from reports.verdict import Verdict


def row(data: StudyData, verdict: Verdict) -> dict:
    t = data.trials
    baseline = data.dataset.get("baseline", {})
    out = {
        "dataset": data.dataset.get("name"),
        "study": data.name,
        "metric": data.metric["name"],
        "unit": data.metric["unit"],
        "better": "higher" if data.maximize else "lower",
        "verdict": verdict.label,
        "effect_source": verdict.source,
        "lstm_advantage": verdict.effect,
        "ci_low": verdict.low,
        "ci_high": verdict.high,
        "ci_confidence": verdict.confidence,
        "reeval_looks": verdict.looks,
        "p_other_better": verdict.p_other_better,
        "rope": verdict.rope,
        "seeds_needed": verdict.seeds_needed,
        "baseline": baseline.get("name"),
        "baseline_test": baseline.get("test"),
    }
    for gated in verdict.gating:  # with a plain RNN searched: is gating needed?
        out.update({f"{gated.pair[0]}_vs_rnn": gated.label, f"{gated.pair[0]}_advantage_over_rnn": gated.effect,
                    f"{gated.pair[0]}_vs_rnn_ci_low": gated.low, f"{gated.pair[0]}_vs_rnn_ci_high": gated.high})
    out["still_improving"] = ", ".join(verdict.still_improving) or None
    out["suggested_n_trials"] = verdict.suggested_trials
    out["still_learning"] = ", ".join(verdict.still_learning) or None
    out["suggested_max_epochs"] = verdict.suggested_epochs
    for cell in data.by_cell:  # lstm and gru always, then any other cell searched (rnn)
        best, mine = data.by_cell[cell].best, data.by_cell[cell].trials
        out.update({
            f"{cell}_compared_score": verdict.scores.get(cell, np.nan),
            f"{cell}_best_trial": None if best is None else int(best.number),
            f"{cell}_best_val": np.nan if best is None else best.value,
            f"{cell}_best_test": np.nan if best is None else best.test,
            f"{cell}_params": np.nan if best is None else best.n_params,
            f"{cell}_sec_per_epoch_median": float(mine.sec_per_epoch.median()) if mine.sec_per_epoch.notna().any()
            else np.nan,
            f"{cell}_kernel": ", ".join(sorted(mine.kernel.dropna().unique())) or None,  # older storages: none
            f"{cell}_search_minutes": float(mine.duration.sum()) / 60,
            f"{cell}_complete": data.by_cell[cell].count("COMPLETE"),
            f"{cell}_pruned": data.by_cell[cell].count("PRUNED"),
            f"{cell}_failed": data.by_cell[cell].count("FAIL"),
            f"{cell}_reeval_seeds": len(data.by_cell[cell].reeval_tests),
        })
    finished = t.complete.dropna()
    out["study_wall_minutes"] = ((finished.max() - t.start.min()).total_seconds() / 60) if len(finished) else np.nan
    return out


def summary_table(rows: list[tuple[StudyData, Verdict]]) -> pd.DataFrame:
    return pd.DataFrame([row(d, v) for d, v in rows])


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """The table for CSV: a text cell that a spreadsheet would run as a formula (it begins with =, +, -, @,
    a tab or a carriage return: a study named `=HYPERLINK(...)`) is prefixed with ', as OWASP's advice on
    CSV injection says. Numbers are left as they are."""
    def safe(value):
        return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value

    return table.apply(lambda column: column.map(safe) if not pd.api.types.is_numeric_dtype(column) else column)
