"""The best validation score so far of each cell type, against trials and against wall-clock time."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.figures._utils import LAYOUT, NEUTRAL, colour, complete, escape, say_if_empty, title

if TYPE_CHECKING:
    from reports.collect import StudyData


class _CellHistory(NamedTuple):
    cell: str
    numbers: np.ndarray  # trial numbers, in order
    best: np.ndarray  # the best score up to each of them
    minutes: np.ndarray  # completion times, minutes since the study's first trial, in order
    best_by_time: np.ndarray  # the best score up to each of those times


class _BestSoFarInfo(NamedTuple):
    label: str
    metric_label: str
    cells: list[_CellHistory]
    baseline: float | None  # the dataset's baseline validation score, if it has one
    baseline_name: str


def _running_best(values: np.ndarray, maximize: bool) -> np.ndarray:
    return np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)


def _get_best_so_far_info(data: StudyData) -> _BestSoFarInfo:
    done = complete(data)
    start = data.trials.start.min()
    cells = []
    for cell in data.cells():
        rows = done[done.cell == cell].sort_values("number")
        if rows.empty:
            continue
        by_time = rows.sort_values("complete")
        cells.append(_CellHistory(cell, rows.number.to_numpy(),
                                  _running_best(rows.value.to_numpy(float), data.maximize),
                                  (by_time.complete - start).dt.total_seconds().to_numpy() / 60,
                                  _running_best(by_time.value.to_numpy(float), data.maximize)))
    baseline = data.dataset.get("baseline", {})
    return _BestSoFarInfo(data.label, data.metric_label("val"), cells, baseline.get("val"),
                          str(baseline.get("name", "")))


def _draw(info: _BestSoFarInfo) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("against trials", "against wall-clock time"),
                        shared_yaxes=True)
    for h in info.cells:
        fig.add_trace(go.Scatter(x=h.numbers, y=h.best, mode="lines+markers", line_shape="hv",
                                 name=h.cell.upper(), legendgroup=h.cell, marker=dict(size=4, color=colour(h.cell)),
                                 hovertemplate="trial %{x}<br>best so far %{y:.4g}<extra>" + h.cell + "</extra>"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=h.minutes, y=h.best_by_time,
                                 mode="lines+markers", line_shape="hv", name=h.cell.upper(), legendgroup=h.cell,
                                 showlegend=False, marker=dict(size=4, color=colour(h.cell)),
                                 hovertemplate="%{x:.1f} min<br>best so far %{y:.4g}<extra>" + h.cell + "</extra>"),
                      row=1, col=2)
    if info.baseline is not None:
        fig.add_hline(y=info.baseline, line_dash="dot", line_color=NEUTRAL,
                      annotation_text=f"baseline: {escape(info.baseline_name)}",
                      annotation_position="bottom right", annotation_font_size=10)
    fig.update_xaxes(title_text="trial number (all cells counted)", row=1, col=1)
    fig.update_xaxes(title_text="minutes since the study's first trial", row=1, col=2)
    fig.update_yaxes(title_text=f"best {info.metric_label}", row=1, col=1)
    fig.update_layout(title=title(info.label, "best validation score so far, per cell type"), **LAYOUT)
    return say_if_empty(fig, "no completed trial yet")


def best_so_far(data: StudyData) -> go.Figure:
    return _draw(_get_best_so_far_info(data))
