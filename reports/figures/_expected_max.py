"""The expected best validation score after k trials of each cell type (Dodge et al. 2019), ±1 sd."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import plotly.graph_objects as go

from reports.expected_max import expected_max
from reports.figures._utils import LAYOUT, colour, complete, escape, say_if_empty, title

if TYPE_CHECKING:
    from reports.collect import StudyData


class _CellExpectedMax(NamedTuple):
    cell: str
    k: np.ndarray  # numbers of trials
    mean: np.ndarray  # the expected best score after each
    sd: np.ndarray


class _ExpectedMaxInfo(NamedTuple):
    label: str
    metric_label: str
    cells: list[_CellExpectedMax]
    sampler: str  # the sampler's class name: the estimate assumes independent trials


def _sampler_name(data: StudyData) -> str:
    target = str(data.config.get("sampler", {}).get("_target_", "?"))
    return target.rsplit(".", 1)[-1]


def _get_expected_max_info(data: StudyData) -> _ExpectedMaxInfo:
    cells = []
    for cell in data.cells():
        values = complete(data, cell).value.to_numpy(float)
        if len(values) == 0:
            continue
        cells.append(_CellExpectedMax(cell, *expected_max(values, data.maximize)))
    return _ExpectedMaxInfo(data.label, data.metric_label("val"), cells, _sampler_name(data))


def _draw(info: _ExpectedMaxInfo) -> go.Figure:
    fig = go.Figure()
    for c in info.cells:
        k, mean, sd = c.k, c.mean, c.sd
        fig.add_trace(go.Scatter(x=np.concatenate([k, k[::-1]]), y=np.concatenate([mean + sd, (mean - sd)[::-1]]),
                                 fill="toself", fillcolor=colour(c.cell), opacity=0.2, line=dict(width=0),
                                 hoverinfo="skip", showlegend=False, legendgroup=c.cell))
        fig.add_trace(go.Scatter(x=k, y=mean, mode="lines", name=f"{c.cell.upper()} (±1 sd)", legendgroup=c.cell,
                                 line=dict(color=colour(c.cell)),
                                 hovertemplate="%{x} trials: expected best %{y:.4g}<extra>" + c.cell + "</extra>"))
    note = ("valid: independent (random) trials" if info.sampler == "RandomSampler" else
            f"indicative only: {escape(info.sampler)} trials are not independent")
    fig.update_xaxes(title_text="number of completed trials of the cell type", type="log")
    fig.update_yaxes(title_text=f"expected best {info.metric_label}")
    fig.update_layout(title=title(info.label, f"expected best validation score after k trials ({note})"), **LAYOUT)
    return say_if_empty(fig, "no completed trial yet")


def expected_max_figure(data: StudyData) -> go.Figure:
    return _draw(_get_expected_max_info(data))
