"""The validation scores of each cell type's completed and pruned trials, as box plots with every point."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import plotly.graph_objects as go

from reports.figures._utils import LAYOUT, colour, escape, say_if_empty, title
from search.records import CELL

if TYPE_CHECKING:
    from reports.collect import StudyData

_STATES = (("COMPLETE", "completed"), ("PRUNED", "pruned (last reported value)"))


class _Group(NamedTuple):
    cell: str
    state: str  # COMPLETE | PRUNED
    name: str  # e.g. "LSTM completed"
    values: np.ndarray
    numbers: np.ndarray  # the trials' numbers


class _DistributionsInfo(NamedTuple):
    label: str
    metric_label: str
    groups: list[_Group]
    failed: dict[str, int]  # cell -> failed trials


def _get_distributions_info(data: StudyData) -> _DistributionsInfo:
    t = data.trials
    groups = []
    for cell in data.cells():
        for state, label in _STATES:
            rows = t[(t.cell == cell) & (t.state == state) & t.value.notna()]
            if rows.empty:
                continue
            groups.append(_Group(cell, state, f"{cell.upper()} {label}", rows.value.to_numpy(float),
                                 rows.number.to_numpy()))
    failed = t[t.state == "FAIL"].groupby(CELL).size().to_dict()
    return _DistributionsInfo(data.label, data.metric_label("val"), groups, failed)


def _draw(info: _DistributionsInfo) -> go.Figure:
    fig = go.Figure()
    for g in info.groups:
        fig.add_trace(go.Box(y=g.values, x=np.full(len(g.values), g.name), name=g.name, marker_color=colour(g.cell),
                             opacity=1.0 if g.state == "COMPLETE" else 0.45, boxpoints="all", jitter=0.4,
                             pointpos=0, customdata=g.numbers,
                             hovertemplate="trial %{customdata}: %{y:.4g}<extra></extra>"))
    note = "; failed: " + ", ".join(f"{c} {n}" for c, n in info.failed.items()) if info.failed else ""
    fig.update_yaxes(title_text=info.metric_label)
    fig.update_layout(title=title(info.label, f"validation scores per cell type{escape(note)}"),
                      showlegend=False, **LAYOUT)
    return say_if_empty(fig, "no completed or pruned trial with a score yet")


def distributions(data: StudyData) -> go.Figure:
    return _draw(_get_distributions_info(data))
