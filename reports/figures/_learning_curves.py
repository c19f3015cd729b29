"""The validation score per epoch of the best few trials of each cell type."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import plotly.graph_objects as go

from reports.figures._utils import LAYOUT, colour, complete, say_if_empty, title

if TYPE_CHECKING:
    from reports.collect import StudyData

_DASHES = ("solid", "dash", "dot")  # by rank within the cell type


class _Curve(NamedTuple):
    cell: str
    rank: int  # 0 for the cell type's best trial
    number: int  # the trial's number
    epochs: np.ndarray
    values: np.ndarray


class _LearningCurvesInfo(NamedTuple):
    label: str
    metric_label: str
    per_cell: int
    curves: list[_Curve]


def _get_learning_curves_info(data: StudyData, per_cell: int) -> _LearningCurvesInfo:
    done = complete(data)
    curves = []
    for cell in data.cells():
        best = done[done.cell == cell].sort_values("value", ascending=not data.maximize).head(per_cell)
        for rank, number in enumerate(best.number):
            curve = data.curves.get(int(number), {})
            if not curve:
                continue
            epochs = np.array(sorted(curve))
            curves.append(_Curve(cell, rank, number, epochs, np.array([curve[e] for e in epochs])))
    return _LearningCurvesInfo(data.label, data.metric_label("val"), per_cell, curves)


def _draw(info: _LearningCurvesInfo) -> go.Figure:
    fig = go.Figure()
    for c in info.curves:
        fig.add_trace(go.Scatter(x=c.epochs, y=c.values, mode="lines+markers",
                                 name=f"{c.cell.upper()} trial {c.number}", legendgroup=c.cell,
                                 line=dict(color=colour(c.cell), dash=_DASHES[c.rank % 3]),
                                 hovertemplate="epoch %{x}: %{y:.4g}<extra>trial " + str(c.number) + "</extra>"))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=info.metric_label)
    fig.update_layout(title=title(info.label, f"learning curves of the {info.per_cell} best trials of each cell type"),
                      **LAYOUT)
    return say_if_empty(fig, "no completed trial with a learning curve yet")


def learning_curves(data: StudyData, per_cell: int = 3) -> go.Figure:
    return _draw(_get_learning_curves_info(data, per_cell))
