"""Optuna's PED-ANOVA importance of each hyperparameter, computed on each cell type's trials alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import optuna
import plotly.graph_objects as go

from reports.figures._utils import LAYOUT, colour, escape, param_names, say_if_empty, title
from search.records import cell_of

if TYPE_CHECKING:
    from reports.collect import StudyData


class _CellImportance(NamedTuple):
    cell: str
    names: list[str]  # the hyperparameters, sorted
    scores: list[float]  # their importances, normalised


class _ImportancesInfo(NamedTuple):
    label: str
    cells: list[_CellImportance]
    notes: list[str]  # why a cell type has no bars


def _get_importances_info(data: StudyData) -> _ImportancesInfo:
    direction = data.metric["direction"]
    cells, notes = [], []
    for cell in data.cells():
        trials = [t for t in data.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                  if cell_of(t) == cell]
        varying = {p for p in param_names(data) if len({t.params.get(p) for t in trials}) > 1}
        if len(trials) < 4 or not varying:
            notes.append(f"{cell}: too few trials")
            continue
        view = optuna.create_study(direction=direction)
        view.add_trials(trials)
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        try:
            scores = optuna.importance.get_param_importances(view, evaluator=evaluator, params=sorted(varying))
        except (ValueError, RuntimeError) as e:
            notes.append(f"{cell}: {e}")
            continue
        names = sorted(scores)
        cells.append(_CellImportance(cell, names, [scores[n] for n in names]))
    return _ImportancesInfo(data.label, cells, notes)


def _draw(info: _ImportancesInfo) -> go.Figure:
    fig = go.Figure()
    for c in info.cells:
        fig.add_trace(go.Bar(y=c.names, x=c.scores, orientation="h", name=c.cell.upper(),
                             marker_color=colour(c.cell),
                             hovertemplate="%{y}: %{x:.3f}<extra>" + c.cell + "</extra>"))
    fig.update_xaxes(title_text="PED-ANOVA importance for reaching the top 10 % of validation scores (normalised)")
    suffix = f" ({'; '.join(info.notes)})" if info.notes else ""
    fig.update_layout(barmode="group", title=title(info.label, "hyperparameter importance per cell type" +
                                                   escape(suffix)), **LAYOUT)
    return say_if_empty(fig, "too few completed trials per cell type (4 needed) to rank hyperparameters")


def importances(data: StudyData) -> go.Figure:
    """How much each hyperparameter decides whether a trial reaches the top 10 % of its cell type."""
    return _draw(_get_importances_info(data))
