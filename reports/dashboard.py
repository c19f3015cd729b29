"""Save the verdict (as the study's note) and the main figures into each study, where optuna-dashboard
shows them (its note and plotly-figure support). Re-running the report replaces them, never piles up."""

from __future__ import annotations

import optuna_dashboard

from reports.page import fmt, fmt_p
from reports.verdict import Verdict


def note(data, verdict: Verdict, rule: str, report_path: str, resamples: int) -> str:
    unit = "points" if data.metric["unit"] == "%" else data.metric["unit"]
    scores = ", ".join(f"{c.upper()} {fmt(s)}" for c, s in verdict.scores.items())
    return (f"## cellsearch verdict: {verdict.label}\n\n"
            f"LSTM's advantage over the GRU: **{fmt(verdict.effect)} {unit}** of test {data.metric['name']}, "
            f"95 % interval [{fmt(verdict.low)}, {fmt(verdict.high)}], ROPE ±{fmt(verdict.rope, 3)}; "
            f"P(other cell better) {fmt_p(verdict.p_other_better, resamples)}.\n\n"
            f"Scores compared: {scores}. From: {verdict.source_detail}.\n\n"
            f"Rule: {rule}\n\nFull report: `{report_path}` (python -m reports).\n")


def save(data, verdict: Verdict, rule: str, report_path: str, figures: dict, resamples: int) -> None:
    optuna_dashboard.save_note(data.study, note(data, verdict, rule, report_path, resamples))
    for key, fig in figures.items():
        optuna_dashboard.save_plotly_graph_object(data.study, fig, graph_object_id=f"cellsearch-{key}")
