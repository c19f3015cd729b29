"""The summary's forest plot: one line per dataset, the LSTM's advantage in % of the GRU's score, its
interval, and the region of practical equivalence (±ROPE) shaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import plotly.graph_objects as go

from reports.figures._utils import COLOURS, LAYOUT, NEUTRAL, colour, escape, say_if_empty

if TYPE_CHECKING:
    from reports.collect import StudyData
    from reports.verdict import Verdict

_ROPE_GREY = "#d9d9d9"


class _ForestRow(NamedTuple):
    label: str  # the study's label (not escaped)
    verdict: str  # the verdict's label
    winner: str | None  # lstm | gru | None
    effect: float  # the LSTM's advantage, % of the GRU's score
    low: float  # its interval (nan: none)
    high: float
    rope: float  # the ROPE's half-width, % of the GRU's score


class _ForestInfo(NamedTuple):
    rows: list[_ForestRow]  # the datasets with a finite effect
    n_datasets: int  # all of them, each a line of the figure's height


def _get_forest_info(rows: list[tuple[StudyData, Verdict]]) -> _ForestInfo:
    shown = []
    for data, verdict in rows:
        effect, low, high = verdict.relative
        if not np.isfinite(effect):
            continue
        rope = 100.0 * verdict.rope / abs(verdict.scores["gru"]) if verdict.scores.get("gru") else 0.0
        shown.append(_ForestRow(data.label, verdict.label, verdict.winner, effect, low, high, rope))
    return _ForestInfo(shown, len(rows))


def _draw(info: _ForestInfo) -> go.Figure:
    fig = go.Figure()
    for row in info.rows:
        label, effect, low, high, rope = escape(row.label), row.effect, row.low, row.high, row.rope
        marker_colour = colour(row.winner) if row.winner else NEUTRAL
        fig.add_trace(go.Scatter(x=[-rope, rope], y=[label, label], mode="lines", showlegend=False,
                                 line=dict(color=_ROPE_GREY, width=14), hoverinfo="skip"))
        error = dict(type="data", symmetric=False, array=[high - effect], arrayminus=[effect - low],
                     color=marker_colour, thickness=2, width=6) if np.isfinite(low) else None
        fig.add_trace(go.Scatter(x=[effect], y=[label], mode="markers", error_x=error, showlegend=False,
                                 marker=dict(size=11, color=marker_colour, symbol="diamond"),
                                 hovertemplate=(f"{label}<br>verdict: {escape(row.verdict)}<br>LSTM advantage "
                                                "%{x:.2f} % of the GRU's score<extra></extra>")))
    for name, legend_colour in (("LSTM wins", COLOURS["lstm"]), ("GRU wins", COLOURS["gru"]), ("no winner", NEUTRAL),
                                ("±ROPE (practically equivalent)", _ROPE_GREY)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(size=10, color=legend_colour,
                                             symbol="diamond" if "ROPE" not in name else "square")))
    fig.add_vline(x=0, line_color="#444", line_width=1)
    fig.update_xaxes(title_text="LSTM's advantage over the GRU, % of the GRU's score (positive: LSTM better; "
                                "interval: Welch's t)")
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(title="Verdict per dataset: effect and interval",
                      **{**LAYOUT, "height": 200 + 50 * info.n_datasets,
                         "legend": dict(orientation="h", y=1.02, x=0, yanchor="bottom")})
    return say_if_empty(fig, "no study has an effect to show yet")


def forest(rows: list[tuple[StudyData, Verdict]]) -> go.Figure:
    """One line per dataset: the LSTM's advantage in % of the GRU's score, its interval, and ±ROPE shaded."""
    return _draw(_get_forest_info(rows))
