"""What each completed trial cost (parameters, seconds per epoch) against its score."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.figures._utils import LAYOUT, colour, complete, say_if_empty, title

if TYPE_CHECKING:
    from reports.collect import StudyData

_COSTS = ("n_params", "sec_per_epoch")  # the panels, left to right


class _CellCost(NamedTuple):
    cell: str
    cost: str  # one of _COSTS
    x: np.ndarray  # the cost
    values: np.ndarray  # the scores
    numbers: np.ndarray  # the trials' numbers


class _CostsInfo(NamedTuple):
    label: str
    metric_label: str
    points: list[_CellCost]  # per cell type, per cost (empty ones too: they keep the legend)


def _get_costs_info(data: StudyData) -> _CostsInfo:
    done = complete(data)
    points = []
    for cell in data.cells():
        mine = done[done.cell == cell]
        for cost in _COSTS:
            rows = mine[mine[cost].notna()]
            points.append(_CellCost(cell, cost, rows[cost].to_numpy(float), rows.value.to_numpy(float),
                                    rows.number.to_numpy()))
    return _CostsInfo(data.label, data.metric_label("val"), points)


def _draw(info: _CostsInfo) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("parameters", "seconds per epoch (training + validation)"))
    for p in info.points:
        col = _COSTS.index(p.cost) + 1
        fig.add_trace(go.Scatter(x=p.x, y=p.values, mode="markers",
                                 name=p.cell.upper(), legendgroup=p.cell, showlegend=col == 1,
                                 marker=dict(size=5, color=colour(p.cell), opacity=0.7),
                                 customdata=p.numbers,
                                 hovertemplate="trial %{customdata}<br>%{x:.4g}<br>%{y:.4g}<extra>" + p.cell +
                                               "</extra>"), row=1, col=col)
    fig.update_xaxes(title_text="trainable parameters (count)", type="log", row=1, col=1)
    fig.update_xaxes(title_text="seconds per epoch", type="log", row=1, col=2)
    fig.update_yaxes(title_text=info.metric_label, row=1, col=1)
    fig.update_layout(title=title(info.label, "cost against score, per cell type (completed trials)"), **LAYOUT)
    return say_if_empty(fig, "no completed trial yet")


def costs(data: StudyData) -> go.Figure:
    return _draw(_get_costs_info(data))
