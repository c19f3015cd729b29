"""Save the verdict (as the study's note) and the main figures into each study, where optuna-dashboard
shows them (its note and plotly-figure support). Re-running the report replaces them, never piles up."""

from __future__ import annotations

import optuna_dashboard

from reports.verdict import Verdict
from reports.wording import evidence


def note(data, verdict: Verdict, rule: str, report_path: str) -> str:
    return (f"## cellsearch verdict: {verdict.label}\n\n{evidence(verdict, data.metric)}\n\n"
            f"Rule: {rule}\n\nFull report: `{report_path}` (python -m reports).\n")


def save(data, verdict: Verdict, rule: str, report_path: str, figures: dict) -> None:
    optuna_dashboard.save_note(data.study, note(data, verdict, rule, report_path))
    for key, fig in figures.items():
        optuna_dashboard.save_plotly_graph_object(data.study, fig, graph_object_id=f"cellsearch-{key}")
