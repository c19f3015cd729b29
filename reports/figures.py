"""The report's plotly figures. Each function takes one study's tables and returns a go.Figure; every axis
says what it shows (metric, split, unit). User-controlled text (study and dataset names) is HTML-escaped
before it enters a figure: plotly renders a subset of HTML in titles."""

from __future__ import annotations

import html
import logging

import numpy as np
import optuna
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reports.collect import StudyData
from reports.expected_max import expected_max
from reports.verdict import Verdict

log = logging.getLogger(__name__)


def _escape(text: str) -> str:
    """Plotly draws &lt; &gt; &amp; as the characters but shows &quot; literally: escape all but quotes."""
    return html.escape(text, quote=False)

COLOURS = {"lstm": "#1f77b4", "gru": "#ff7f0e"}
NEUTRAL = "#7f7f7f"
LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=20, t=60, b=50),
              legend=dict(orientation="h", y=-0.2))


def _say_if_empty(fig: go.Figure, why: str) -> go.Figure:
    """A figure with nothing to draw says why, instead of showing empty axes."""
    if not any(trace.x is not None and len([x for x in trace.x if x is not None]) for trace in fig.data):
        fig.add_annotation(text=_escape(why), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font=dict(size=14, color=NEUTRAL))
    return fig


def _colour(cell: str) -> str:
    return COLOURS.get(cell, NEUTRAL)


def _title(data: StudyData, what: str) -> str:
    return f"{_escape(data.label)}: {what}"


def _complete(data: StudyData, cell: str | None = None):
    t = data.trials
    rows = t[(t.state == "COMPLETE") & t.value.notna()]
    return rows if cell is None else rows[rows.cell == cell]


def _running_best(values: np.ndarray, maximize: bool) -> np.ndarray:
    return np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)


def best_so_far(data: StudyData) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("against trials", "against wall-clock time"),
                        shared_yaxes=True)
    done = _complete(data)
    start = data.trials.start.min()
    for cell in data.cells():
        rows = done[done.cell == cell].sort_values("number")
        if rows.empty:
            continue
        best = _running_best(rows.value.to_numpy(float), data.maximize)
        fig.add_trace(go.Scatter(x=rows.number.to_numpy(), y=best, mode="lines+markers", line_shape="hv",
                                 name=cell.upper(), legendgroup=cell, marker=dict(size=4, color=_colour(cell)),
                                 hovertemplate="trial %{x}<br>best so far %{y:.4g}<extra>" + cell + "</extra>"),
                      row=1, col=1)
        by_time = rows.sort_values("complete")
        minutes = (by_time.complete - start).dt.total_seconds().to_numpy() / 60
        fig.add_trace(go.Scatter(x=minutes, y=_running_best(by_time.value.to_numpy(float), data.maximize),
                                 mode="lines+markers", line_shape="hv", name=cell.upper(), legendgroup=cell,
                                 showlegend=False, marker=dict(size=4, color=_colour(cell)),
                                 hovertemplate="%{x:.1f} min<br>best so far %{y:.4g}<extra>" + cell + "</extra>"),
                      row=1, col=2)
    _baseline_line(fig, data, "val")
    fig.update_xaxes(title_text="trial number (all cells counted)", row=1, col=1)
    fig.update_xaxes(title_text="minutes since the study's first trial", row=1, col=2)
    fig.update_yaxes(title_text=f"best {data.metric_label('val')}", row=1, col=1)
    fig.update_layout(title=_title(data, "best validation score so far, per cell type"), **LAYOUT)
    return _say_if_empty(fig, "no completed trial yet")


def _baseline_line(fig: go.Figure, data: StudyData, split: str) -> None:
    baseline = data.dataset.get("baseline", {})
    if baseline.get(split) is not None:
        fig.add_hline(y=baseline[split], line_dash="dot", line_color=NEUTRAL,
                      annotation_text=f"baseline: {_escape(str(baseline.get('name', '')))}",
                      annotation_position="bottom right", annotation_font_size=10)


def sampler_name(data: StudyData) -> str:
    target = str(data.config.get("sampler", {}).get("_target_", "?"))
    return target.rsplit(".", 1)[-1]


def expected_max_figure(data: StudyData) -> go.Figure:
    fig = go.Figure()
    for cell in data.cells():
        values = _complete(data, cell).value.to_numpy(float)
        if len(values) == 0:
            continue
        k, mean, sd = expected_max(values, data.maximize)
        colour = _colour(cell)
        fig.add_trace(go.Scatter(x=np.concatenate([k, k[::-1]]), y=np.concatenate([mean + sd, (mean - sd)[::-1]]),
                                 fill="toself", fillcolor=colour, opacity=0.2, line=dict(width=0),
                                 hoverinfo="skip", showlegend=False, legendgroup=cell))
        fig.add_trace(go.Scatter(x=k, y=mean, mode="lines", name=f"{cell.upper()} (±1 sd)", legendgroup=cell,
                                 line=dict(color=colour),
                                 hovertemplate="%{x} trials: expected best %{y:.4g}<extra>" + cell + "</extra>"))
    sampler = sampler_name(data)
    independent = sampler == "RandomSampler"
    note = ("valid: independent (random) trials" if independent else
            f"indicative only: {_escape(sampler)} trials are not independent")
    fig.update_xaxes(title_text="number of completed trials of the cell type", type="log")
    fig.update_yaxes(title_text=f"expected best {data.metric_label('val')}")
    fig.update_layout(title=_title(data, f"expected best validation score after k trials ({note})"), **LAYOUT)
    return _say_if_empty(fig, "no completed trial yet")


def distributions(data: StudyData) -> go.Figure:
    fig = go.Figure()
    t = data.trials
    for cell in data.cells():
        for state, label in (("COMPLETE", "completed"), ("PRUNED", "pruned (last reported value)")):
            rows = t[(t.cell == cell) & (t.state == state) & t.value.notna()]
            if rows.empty:
                continue
            fig.add_trace(go.Box(y=rows.value.to_numpy(float), x=np.full(len(rows), f"{cell.upper()} {label}"),
                                 name=f"{cell.upper()} {label}", marker_color=_colour(cell),
                                 opacity=1.0 if state == "COMPLETE" else 0.45, boxpoints="all", jitter=0.4,
                                 pointpos=0, customdata=rows.number.to_numpy(),
                                 hovertemplate="trial %{customdata}: %{y:.4g}<extra></extra>"))
    failed = t[t.state == "FAIL"].groupby("cell").size().to_dict()
    note = "; failed: " + ", ".join(f"{c} {n}" for c, n in failed.items()) if failed else ""
    fig.update_yaxes(title_text=data.metric_label("val"))
    fig.update_layout(title=_title(data, f"validation scores per cell type{_escape(note)}"),
                      showlegend=False, **LAYOUT)
    return _say_if_empty(fig, "no completed or pruned trial with a score yet")


def _params(data: StudyData) -> list[str]:
    return [c.removeprefix("param:") for c in data.trials.columns if c.startswith("param:") and c != "param:cell"]


def slices(data: StudyData) -> go.Figure:
    params = _params(data)
    cols = 4
    rows = max(1, -(-len(params) // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=params, shared_yaxes=True,
                        horizontal_spacing=0.03, vertical_spacing=0.18)
    done = _complete(data)
    for i, param in enumerate(params):
        r, c = i // cols + 1, i % cols + 1
        for cell in data.cells():
            mine = done[(done.cell == cell) & done[f"param:{param}"].notna()]
            if mine.empty:
                continue
            x = mine[f"param:{param}"].to_numpy()
            fig.add_trace(go.Scatter(x=x if x.dtype.kind in "if" else x.astype(str), y=mine.value.to_numpy(float),
                                     mode="markers", name=cell.upper(), legendgroup=cell, showlegend=i == 0,
                                     marker=dict(size=5, color=_colour(cell), opacity=0.7),
                                     customdata=mine.number.to_numpy(),
                                     hovertemplate=f"trial %{{customdata}}<br>{param}=%{{x}}<br>%{{y:.4g}}"
                                                   f"<extra>{cell}</extra>"), row=r, col=c)
        distribution = data.distributions.get(param)
        if getattr(distribution, "log", False):
            fig.update_xaxes(type="log", row=r, col=c)
        if isinstance(distribution, optuna.distributions.CategoricalDistribution):
            fig.update_xaxes(type="category", row=r, col=c)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=data.metric_label("val"), row=r, col=1)
    fig.update_layout(title=_title(data, "each hyperparameter against the validation score, per cell type "
                                         "(completed trials)"),
                      **{**LAYOUT, "height": 300 * rows + 80})
    return _say_if_empty(fig, "no completed trial yet")


def importances(data: StudyData) -> go.Figure:
    """Optuna's PED-ANOVA importance of each hyperparameter (how much it decides whether a trial reaches the
    top 10 % of its cell type), computed on each cell type's trials alone."""
    fig = go.Figure()
    direction = data.metric["direction"]
    notes = []
    for cell in data.cells():
        trials = [t for t in data.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                  if t.params.get("cell", t.user_attrs.get("cell")) == cell]
        varying = {p for p in _params(data) if len({t.params.get(p) for t in trials}) > 1}
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
        fig.add_trace(go.Bar(y=names, x=[scores[n] for n in names], orientation="h", name=cell.upper(),
                             marker_color=_colour(cell),
                             hovertemplate="%{y}: %{x:.3f}<extra>" + cell + "</extra>"))
    fig.update_xaxes(title_text="PED-ANOVA importance for reaching the top 10 % of validation scores (normalised)")
    suffix = f" ({'; '.join(notes)})" if notes else ""
    fig.update_layout(barmode="group", title=_title(data, "hyperparameter importance per cell type" +
                                                    _escape(suffix)), **LAYOUT)
    return _say_if_empty(fig, "too few completed trials per cell type (4 needed) to rank hyperparameters")


def costs(data: StudyData) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("parameters", "seconds per epoch (training + validation)"))
    done = _complete(data)
    for cell in data.cells():
        mine = done[done.cell == cell]
        for col, column in ((1, "n_params"), (2, "sec_per_epoch")):
            rows = mine[mine[column].notna()]
            fig.add_trace(go.Scatter(x=rows[column].to_numpy(float), y=rows.value.to_numpy(float), mode="markers",
                                     name=cell.upper(), legendgroup=cell, showlegend=col == 1,
                                     marker=dict(size=5, color=_colour(cell), opacity=0.7),
                                     customdata=rows.number.to_numpy(),
                                     hovertemplate="trial %{customdata}<br>%{x:.4g}<br>%{y:.4g}<extra>" + cell +
                                                   "</extra>"), row=1, col=col)
    fig.update_xaxes(title_text="trainable parameters (count)", type="log", row=1, col=1)
    fig.update_xaxes(title_text="seconds per epoch", type="log", row=1, col=2)
    fig.update_yaxes(title_text=data.metric_label("val"), row=1, col=1)
    fig.update_layout(title=_title(data, "cost against score, per cell type (completed trials)"), **LAYOUT)
    return _say_if_empty(fig, "no completed trial yet")


def learning_curves(data: StudyData, per_cell: int = 3) -> go.Figure:
    fig = go.Figure()
    done = _complete(data)
    for cell in data.cells():
        best = done[done.cell == cell].sort_values("value", ascending=not data.maximize).head(per_cell)
        for rank, number in enumerate(best.number):
            curve = data.curves.get(int(number), {})
            if not curve:
                continue
            epochs = np.array(sorted(curve))
            fig.add_trace(go.Scatter(x=epochs, y=np.array([curve[e] for e in epochs]), mode="lines+markers",
                                     name=f"{cell.upper()} trial {number}", legendgroup=cell,
                                     line=dict(color=_colour(cell), dash=("solid", "dash", "dot")[rank % 3]),
                                     hovertemplate="epoch %{x}: %{y:.4g}<extra>trial " + str(number) + "</extra>"))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=data.metric_label("val"))
    fig.update_layout(title=_title(data, f"learning curves of the {per_cell} best trials of each cell type"),
                      **LAYOUT)
    return _say_if_empty(fig, "no completed trial with a learning curve yet")


def forest(rows: list[tuple[StudyData, Verdict]]) -> go.Figure:
    """One line per dataset: the LSTM's advantage in % of the GRU's score, its interval, and ±ROPE shaded."""
    fig = go.Figure()
    labels = [_escape(d.label) for d, _ in rows]
    for label, (data, verdict) in zip(labels, rows):
        effect, low, high = verdict.relative
        if not np.isfinite(effect):
            continue
        colour = _colour(verdict.winner) if verdict.winner else NEUTRAL
        rope = 100.0 * verdict.rope / abs(verdict.scores["gru"]) if verdict.scores.get("gru") else 0.0
        fig.add_trace(go.Scatter(x=[-rope, rope], y=[label, label], mode="lines", showlegend=False,
                                 line=dict(color="#d9d9d9", width=14), hoverinfo="skip"))
        error = dict(type="data", symmetric=False, array=[high - effect], arrayminus=[effect - low], color=colour,
                     thickness=2, width=6) if np.isfinite(low) else None
        fig.add_trace(go.Scatter(x=[effect], y=[label], mode="markers", error_x=error, showlegend=False,
                                 marker=dict(size=11, color=colour, symbol="diamond"),
                                 hovertemplate=(f"{label}<br>verdict: {_escape(verdict.label)}<br>LSTM advantage "
                                                "%{x:.2f} % of the GRU's score<extra></extra>")))
    for name, colour in (("LSTM wins", COLOURS["lstm"]), ("GRU wins", COLOURS["gru"]), ("no winner", NEUTRAL),
                         ("±ROPE (practically equivalent)", "#d9d9d9")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(size=10, color=colour, symbol="diamond" if "ROPE" not in name else "square")))
    fig.add_vline(x=0, line_color="#444", line_width=1)
    fig.update_xaxes(title_text="LSTM's advantage over the GRU, % of the GRU's score (positive: LSTM better; "
                                "interval: bootstrap)")
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(title="Verdict per dataset: effect and interval",
                      **{**LAYOUT, "height": 200 + 50 * len(rows), "legend": dict(orientation="h", y=1.02, x=0,
                                                                                 yanchor="bottom")})
    return _say_if_empty(fig, "no study has an effect to show yet")
