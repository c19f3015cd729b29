"""What a run prints at its end: per cell type, what ran and how the best trial did; then the verdict."""

from __future__ import annotations

import optuna
import pandas as pd
from optuna.trial import TrialState

from search.records import CELL, N_PARAMS, SEC_PER_EPOCH, best_per_cell, cell_of, score_attr
from search.resume import setting_changes
from search.tasks import Task


def per_cell(study: optuna.Study, task: Task) -> pd.DataFrame:
    metric, unit = task.metric.name, task.metric.unit
    maximize = task.metric.direction == "maximize"
    rows = []
    trials = [t for t in study.trials if cell_of(t) is not None]
    best_of = best_per_cell(trials, maximize)
    for cell in sorted({cell_of(t) for t in trials}):
        mine = [t for t in trials if cell_of(t) == cell]
        row = {
            CELL: cell,
            "complete": sum(t.state == TrialState.COMPLETE for t in mine),
            "pruned": sum(t.state == TrialState.PRUNED for t in mine),
            "failed": sum(t.state == TrialState.FAIL for t in mine),
        }
        best = best_of.get(cell)
        if best is not None:
            row.update({
                "best trial": best.number,
                f"val {metric} ({unit})": best.value,
                f"its test {metric} ({unit})": best.user_attrs.get(score_attr("test", metric)),
                "params": best.user_attrs.get(N_PARAMS),
                "s/epoch": best.user_attrs.get(SEC_PER_EPOCH),
            })
        rows.append(row)
    return pd.DataFrame(rows).set_index(CELL) if rows else pd.DataFrame()


def summary(study: optuna.Study, task: Task) -> str:
    metric, unit = task.metric.name, task.metric.unit
    better = "higher" if task.metric.direction == "maximize" else "lower"
    lines = [f"\nstudy '{study.study_name}': {task.name} ({task.card['source']}); "
             f"metric: {metric} in {unit}, {better} is better"]
    table = per_cell(study, task)
    if table.empty:
        return "\n".join([*lines, "no trials yet"])
    lines.append(table.to_string(float_format=lambda v: f"{v:.4g}"))
    lines.append(f"baseline, {task.baseline['name']}: val {metric} {task.baseline['val']:.4g}, "
                 f"test {metric} {task.baseline['test']:.4g} ({unit})")
    changes = setting_changes(study.get_trials(deepcopy=False))
    if changes:
        lines.append("settings that differ between runs (they change a trial's cost, not what its score means):")
        lines += [f"  {line}" for line in changes]
    try:
        best = study.best_trial
    except ValueError:
        return "\n".join([*lines, "no complete trial yet"])
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
    test = best.user_attrs.get(score_attr("test", metric), float("nan"))
    lines.append(f"overall best: trial {best.number} ({cell_of(best)}): val {metric} {best.value:.4g}, "
                 f"test {metric} {test:.4g} ({unit}); {params}")
    return "\n".join(lines)


def decided(storage, name: str):
    """The study's Verdict (reports/verdict.py) by the report's own rule and default settings, and its text."""
    from reports.collect import load
    from reports.config import ReportConfig
    from reports.verdict import decide
    from reports.wording import evidence

    data = load(storage, name)
    result = decide(data, ReportConfig())
    return result, (f"\nverdict on study '{name}': {result.label}. {evidence(result, data.metric)}\n"
                    "(python -m reports writes the whole report: figures, costs and the rule)")


def verdict(storage, name: str) -> str:
    """The verdict on the study, in words, as the terminal prints it."""
    return decided(storage, name)[1]
