"""What the figures share: colours, the layout, titles, HTML escaping, the note on an empty figure, and the
two selections most figures start from (a study's scored completed trials, its hyperparameter names)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import plotly.graph_objects as go

from search.records import CELL

if TYPE_CHECKING:
    import pandas as pd

    from reports.collect import StudyData

COLOURS = {"lstm": "#1f77b4", "gru": "#ff7f0e"}
NEUTRAL = "#7f7f7f"
LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=20, t=60, b=50),
              legend=dict(orientation="h", y=-0.2))


def escape(text: str) -> str:
    """Plotly draws &lt; &gt; &amp; as the characters but shows &quot; literally: escape all but quotes."""
    return html.escape(text, quote=False)


def colour(cell: str) -> str:
    return COLOURS.get(cell, NEUTRAL)


def title(label: str, what: str) -> str:
    """A study's figure title: its (escaped) label, then what the figure shows (already HTML-safe)."""
    return f"{escape(label)}: {what}"


def say_if_empty(fig: go.Figure, why: str) -> go.Figure:
    """A figure with nothing to draw says why, instead of showing empty axes."""
    if not any(trace.x is not None and len([x for x in trace.x if x is not None]) for trace in fig.data):
        fig.add_annotation(text=escape(why), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font=dict(size=14, color=NEUTRAL))
    return fig


def complete(data: StudyData, cell: str | None = None) -> pd.DataFrame:
    """The completed trials with a score, of one cell type or all."""
    t = data.trials
    rows = t[(t.state == "COMPLETE") & t.value.notna()]
    return rows if cell is None else rows[rows.cell == cell]


def param_names(data: StudyData) -> list[str]:
    """The searched hyperparameters, the cell type itself aside."""
    return [c.removeprefix("param:") for c in data.trials.columns if c.startswith("param:") and c != f"param:{CELL}"]
