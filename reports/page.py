"""The HTML page: one self-contained file (plotly.js inlined once, no network), every user-controlled
string escaped."""

from __future__ import annotations

import datetime as dt
import html
import json

import pandas as pd
import plotly.io as pio
import plotly.offline

import search
from reports.wording import evidence, fmt, odds_text
from search.resume import setting_changes
from search.storage.urls import mask_all

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.verdict { font-weight: bold; } .lstm { color: #1f77b4; } .gru { color: #e8710a; } .none { color: #666; }
.rule, .meta { color: #555; font-size: 0.9em; max-width: 70em; }
pre { background: #f8f8f8; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.figure { margin: 1em 0; }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def figure_html(fig, div_id: str) -> str:
    return ('<div class="figure">' + pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                                                 config={"displaylogo": False, "responsive": True}) + "</div>")


def _verdict_class(winner: str | None) -> str:
    return winner or "none"


def summary_html(table: pd.DataFrame, verdicts: list, confidence: float) -> str:
    pct = round(100 * confidence)
    head = ("<tr><th>dataset (study)</th><th>metric</th><th>verdict</th>"
            f"<th>LSTM's advantage [{pct} % interval]<br>(positive: LSTM better)</th><th>from</th>"
            "<th>P(other cell better)</th><th>best test score: LSTM / GRU / baseline</th>"
            "<th>parameters of the best: LSTM / GRU</th><th>seconds per epoch, median: LSTM / GRU</th>"
            "<th>search time, minutes: LSTM / GRU (study wall)</th></tr>")
    body = []
    for r, verdict in zip(table.itertuples(index=False), verdicts):
        unit = "points" if r.unit == "%" else r.unit
        winner = {"LSTM": "lstm", "GRU": "gru"}.get(r.verdict)
        body.append(
            "<tr>"
            f"<td>{esc(r.dataset)}<br><small>{esc(r.study)}</small></td>"
            f"<td>{esc(r.metric)} ({esc(r.unit)}), {esc(r.better)} is better</td>"
            f"<td class='verdict {_verdict_class(winner)}'>{esc(r.verdict)}</td>"
            f"<td>{fmt(r.lstm_advantage)} {esc(unit)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]; ROPE ±{fmt(r.rope, 3)}</td>"
            f"<td>{esc(r.effect_source)}</td>"
            f"<td>{esc(odds_text(verdict))}</td>"
            f"<td>{fmt(r.lstm_best_test)} / {fmt(r.gru_best_test)} / {fmt(r.baseline_test)} "
            f"<small>({esc(r.baseline)})</small></td>"
            f"<td>{fmt(r.lstm_params)} / {fmt(r.gru_params)}</td>"
            f"<td>{fmt(r.lstm_sec_per_epoch_median, 3)} / {fmt(r.gru_sec_per_epoch_median, 3)}"
            f"<br><small>kernel: {esc(r.lstm_kernel or '–')} / {esc(r.gru_kernel or '–')}</small></td>"
            f"<td>{fmt(r.lstm_search_minutes, 3)} / {fmt(r.gru_search_minutes, 3)} "
            f"({fmt(r.study_wall_minutes, 3)})</td>"
            "</tr>")
    return f"<table id='summary'>{head}{''.join(body)}</table>"


def card_html(card: dict) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(json.dumps(v, default=str) if isinstance(v, (dict, list)) else v)}"
                   "</td></tr>" for k, v in card.items())
    return f"<table class='card'>{rows}</table>"


def study_section(index: int, data, verdict, r: dict, figures: list[str]) -> str:
    winner_class = _verdict_class(verdict.winner)
    differ = setting_changes(data.study.get_trials(deepcopy=False)) if data.study is not None else []
    changes = (" Settings that differ between runs (a trial's cost, not what its score means): "
               + "; ".join(esc(line) for line in differ) + ".") if differ else ""
    counts = ", ".join(f"{c}: {r[f'{c}_complete']} completed, {r[f'{c}_pruned']} pruned, {r[f'{c}_failed']} failed"
                       for c in data.by_cell if f"{c}_complete" in r)
    return (
        f"<section id='study-{index}'><h2>{esc(data.label)}</h2>"
        f"<p><span class='verdict {winner_class}'>Verdict: {esc(verdict.label)}</span>. "
        f"{esc(evidence(verdict, data.metric))}</p>"
        f"<p class='meta'>Trials: {esc(counts)}.{changes}</p>"
        + "".join(figures)
        + "<h3>Dataset</h3>" + card_html(mask_all(data.dataset))
        + "<details><summary>Resolved config of the study (password masked)</summary><pre>"
        + esc(json.dumps(mask_all(data.config), indent=2, default=str)) + "</pre></details></section>"
    )


def page(title: str, storage: str, rule: str, summary: str, forest: str, sections: list[str],
         labels: list[str]) -> str:
    toc = "".join(f"<li><a href='#study-{i}'>{esc(label)}</a></li>" for i, label in enumerate(labels))
    generated = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>"
        f"<h1>{esc(title)}</h1>"
        f"<p class='meta'>Storage {esc(storage)}; generated {esc(generated)} by cellsearch "
        f"{esc(search.__version__)}.</p>"
        "<h2>Summary across datasets</h2>" + summary + forest
        + f"<p class='rule'><b>How the verdict is reached.</b> {esc(rule)}</p>"
        f"<ul>{toc}</ul>" + "".join(sections) + "</body></html>"
    )
