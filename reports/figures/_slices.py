"""Each hyperparameter against the validation score, one panel a hyperparameter, completed trials."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import optuna
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.figures._utils import LAYOUT, colour, complete, param_names, say_if_empty, title

if TYPE_CHECKING:
    from reports.collect import StudyData

_COLS = 4


class _CellPoints(NamedTuple):
    cell: str
    x: np.ndarray  # the parameter's values (as text when not numbers)
    values: np.ndarray  # the scores
    numbers: np.ndarray  # the trials' numbers


class _ParamSlice(NamedTuple):
    param: str
    axis_type: str | None  # "log", "category", or None for plotly's choice
    cells: list[_CellPoints]


class _SlicesInfo(NamedTuple):
    label: str
    metric_label: str
    slices: list[_ParamSlice]


def _axis_type(distribution) -> str | None:
    if getattr(distribution, "log", False):
        return "log"
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return "category"
    return None


def _get_slices_info(data: StudyData) -> _SlicesInfo:
    done = complete(data)
    slices = []
    for param in param_names(data):
        cells = []
        for cell in data.cells():
            mine = done[(done.cell == cell) & done[f"param:{param}"].notna()]
            if mine.empty:
                continue
            x = mine[f"param:{param}"].to_numpy()
            cells.append(_CellPoints(cell, x if x.dtype.kind in "if" else x.astype(str), mine.value.to_numpy(float),
                                     mine.number.to_numpy()))
        slices.append(_ParamSlice(param, _axis_type(data.distributions.get(param)), cells))
    return _SlicesInfo(data.label, data.metric_label("val"), slices)


def _draw(info: _SlicesInfo) -> go.Figure:
    rows = max(1, -(-len(info.slices) // _COLS))
    fig = make_subplots(rows=rows, cols=_COLS, subplot_titles=[s.param for s in info.slices], shared_yaxes=True,
                        horizontal_spacing=0.03, vertical_spacing=0.18)
    for i, s in enumerate(info.slices):
        r, c = i // _COLS + 1, i % _COLS + 1
        for p in s.cells:
            fig.add_trace(go.Scatter(x=p.x, y=p.values,
                                     mode="markers", name=p.cell.upper(), legendgroup=p.cell, showlegend=i == 0,
                                     marker=dict(size=5, color=colour(p.cell), opacity=0.7),
                                     customdata=p.numbers,
                                     hovertemplate=f"trial %{{customdata}}<br>{s.param}=%{{x}}<br>%{{y:.4g}}"
                                                   f"<extra>{p.cell}</extra>"), row=r, col=c)
        if s.axis_type is not None:
            fig.update_xaxes(type=s.axis_type, row=r, col=c)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=info.metric_label, row=r, col=1)
    fig.update_layout(title=title(info.label, "each hyperparameter against the validation score, per cell type "
                                              "(completed trials)"),
                      **{**LAYOUT, "height": 300 * rows + 80})
    return say_if_empty(fig, "no completed trial yet")


def slices(data: StudyData) -> go.Figure:
    return _draw(_get_slices_info(data))
