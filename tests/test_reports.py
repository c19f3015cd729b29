"""`python -m reports` on real studies: the verdict against values computed here independently, the HTML
in a real headless Chromium (no console errors, every figure drawn, hostile names shown as text), the
notes for optuna-dashboard, bad input, and a 1,000-trial report's time and size."""

from __future__ import annotations

import html as html_text
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import plotly.offline
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from scipy import stats

from reports import budget
from reports.budget import last_doubling_gain, seed_luck
from reports.collect import StudyData, trial_table
from reports.config import ReportConfig, parse
from reports.expected_max import expected_max
from reports.table import summary_table
from reports.verdict import EQUIVALENT, NOT_ENOUGH, UNDECIDED, decide
from reports.welch import seed_looks, welch_df
from reports.wording import evidence
from support import run_search
from synthetic import make_study

optuna.logging.set_verbosity(optuna.logging.WARNING)
HOSTILE_STUDY = "<script>window.__pwned=1</script>"
HOSTILE_DATASET = '<img src=x onerror="window.__pwned=2">'
CHROMIUM = os.environ.get("CELLSEARCH_CHROMIUM", "/usr/bin/chromium")


def run_reports(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


# --- the statistics ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("maximize", [True, False])
def test_expected_max_equals_the_mean_best_over_all_subsets(maximize):
    values = np.random.default_rng(3).normal(size=8)
    k, mean, sd = expected_max(values, maximize)
    best = max if maximize else min
    for size in range(1, 9):
        subsets = [best(c) for c in itertools.combinations(values, size)]
        assert mean[size - 1] == pytest.approx(np.mean(subsets))
        assert sd[size - 1] == pytest.approx(np.std(subsets), abs=1e-9)
    assert list(k) == list(range(1, 9))


def _data(lstm, gru, maximize=True, unit="%", reeval=None, rnn=()) -> StudyData:
    """A study's tables, read as a report reads them, from lists of (validation, test) scores per cell."""
    metric = {"name": "accuracy" if maximize else "rmse", "direction": "maximize" if maximize else "minimize",
              "unit": unit}
    cell = optuna.distributions.CategoricalDistribution(["lstm", "gru", "rnn"])
    trials = [optuna.trial.create_trial(params={"cell": c}, distributions={"cell": cell}, value=v,
                                        user_attrs={f"test_{metric['name']}": t})
              for c, (v, t) in [("lstm", s) for s in lstm] + [("gru", s) for s in gru] + [("rnn", s) for s in rnn]]
    for number, trial in enumerate(trials):
        trial.number = number
    return StudyData("s", metric, {"name": "d"}, {}, trial_table(trials, metric["name"], maximize), {}, reeval)


def _reeval(lstm, gru, val_sd=None):
    """Re-evaluation runs with these test scores; with `val_sd`, validation scores spread that much a seed (else the
    test scores)."""
    rng = np.random.default_rng(7)
    rows = [{"cell": "lstm", "test": t} for t in lstm] + [{"cell": "gru", "test": t} for t in gru]
    for r in rows:
        r["val"] = r["test"] if val_sd is None else 80.0 + rng.normal(0, val_sd)
    return pd.DataFrame(rows)


def test_reeval_verdict_is_welchs_interval_as_scipy_computes_it():
    lstm, gru = [81.0, 82.5, 80.7, 83.1, 81.9], [78.2, 79.0, 77.5, 79.9, 78.4]
    trials = [(70 + i, 70 + i) for i in range(6)]
    v = decide(_data(trials, trials, reeval=_reeval(lstm, gru)), ReportConfig())
    assert v.source == "re-evaluation" and v.looks == 1 and v.level == 0.95
    assert v.effect == pytest.approx(np.mean(lstm) - np.mean(gru))
    welch = stats.ttest_ind(lstm, gru, equal_var=False, alternative="less")  # H0: the LSTM at least as good
    low, high = stats.ttest_ind(lstm, gru, equal_var=False).confidence_interval(0.95)
    assert (v.low, v.high) == (pytest.approx(low), pytest.approx(high))
    assert v.label == "LSTM" and v.winner == "lstm" and v.decided
    assert v.p_other_better == pytest.approx(1 - welch.pvalue)  # P(GRU >= LSTM): the other side's p-value
    assert v.spreads["gru"] == pytest.approx(np.std(gru, ddof=1))


def test_adaptive_looks_widen_each_interval_by_bonferroni():
    lstm, gru = [81.0, 82.5, 80.7, 83.1], [78.2, 79.0, 77.5, 79.9]
    trials = [(70 + i, 70 + i) for i in range(6)]
    data = _data(trials, trials, reeval=_reeval(lstm, gru))
    data.reeval_looks = [2, 4, 6]
    v = decide(data, ReportConfig())
    low, high = stats.ttest_ind(lstm, gru, equal_var=False).confidence_interval(1 - 0.05 / 3)
    assert (v.looks, v.level) == (3, pytest.approx(1 - 0.05 / 3))
    assert (v.low, v.high) == (pytest.approx(low), pytest.approx(high))
    text = evidence(v, {"name": "accuracy", "unit": "%"})
    assert "95 % interval (over 3 looks)" in text and "looked at 3 times" in text and "98.3 % interval" in text


def test_minimised_metric_orients_the_effect_and_the_rope_is_relative():
    lstm, gru = [40.0, 41.0, 39.5, 40.2], [30.0, 30.5, 29.8, 30.3]  # rmse: the GRU is better
    trials = [(50 - i, 50 - i) for i in range(6)]
    v = decide(_data(trials, trials, maximize=False, unit="passengers", reeval=_reeval(lstm, gru)), ReportConfig())
    assert v.effect == pytest.approx(np.mean(gru) - np.mean(lstm)) and v.effect < 0
    assert v.high < 0 and v.low == pytest.approx(v.effect - (v.high - v.effect))
    assert v.rope == pytest.approx(0.01 * np.mean([np.mean(lstm), np.mean(gru)]))
    assert v.label == "GRU" and v.winner == "gru"


def test_cells_that_score_the_same_on_every_seed_are_said_to_tie():
    trials = [(100.0, 100.0)] * 6  # a task both cells solve: every trial at 100 %
    v = decide(_data(trials, trials, reeval=_reeval([100.0] * 3, [100.0] * 3)), ReportConfig())
    assert v.tied == 1 and v.effect == 0 and v.label == EQUIVALENT and (v.low, v.high) == (0, 0)
    text = evidence(v, {"name": "accuracy", "unit": "%"})
    assert "the two cells scored the same on every seed" in text and "P(other" not in text
    lstm, gru = [81.0, 82.5, 80.7], [78.2, 79.0, 77.5]
    apart = decide(_data(trials, trials, reeval=_reeval(lstm, gru)), ReportConfig())
    p = 1 - stats.ttest_ind(lstm, gru, equal_var=False, alternative="less").pvalue
    assert apart.tied == 0 and f"P(other cell better) {p:.3g} (Welch, one-sided)" in evidence(
        apart, {"name": "a", "unit": "%"})


def test_equivalent_undecided_and_not_enough_evidence():
    trials = [(75 - i, 75 - i) for i in range(6)]
    same = [80.0, 80.1, 79.9, 80.05, 79.95, 80.0]
    assert decide(_data(trials, trials, reeval=_reeval(same, same[::-1])), ReportConfig()).label == EQUIVALENT
    spread_l, spread_g = [75.0, 85.0, 78.0, 83.0], [76.0, 84.0, 79.0, 79.0]
    undecided = decide(_data(trials, trials, reeval=_reeval(spread_l, spread_g)), ReportConfig())
    assert undecided.label == UNDECIDED and not undecided.decided
    # the seeds that would decide it: the interval at that n, at these spreads, just clears the ROPE
    n, sd_l, sd_g = undecided.seeds_needed, np.std(spread_l, ddof=1), np.std(spread_g, ddof=1)
    margin = abs(undecided.effect) - 0.5

    def half(k):  # no looks stored: an adaptive re-evaluation to k seeds looks at 2, 4, 8, ..., k
        level = 1 - 0.05 / len(seed_looks(k))
        return stats.t.ppf(0.5 + level / 2, welch_df(sd_l ** 2, k, sd_g ** 2, k)) * np.hypot(sd_l, sd_g) / k ** .5

    assert half(n) < margin and all(half(k) >= margin for k in range(2, n)), "the fewest seeds that decide it"
    assert f"about {n} seeds a cell" in evidence(undecided, {"name": "accuracy", "unit": "%"})
    few = decide(_data(trials[:3], trials, reeval=_reeval(spread_l, spread_g)), ReportConfig())
    assert few.label == NOT_ENOUGH and "lstm has 3 finished search trials" in few.source_detail
    only_lstm = decide(_data(trials, []), ReportConfig())
    assert only_lstm.label == NOT_ENOUGH and only_lstm.winner is None


def test_with_a_plain_rnn_each_gated_cell_is_compared_with_it():
    lstm = [(80.0 + d, 80.0 + d) for d in (1.0, -0.5, 0.3, -1.0, 0.2, -0.2)]
    gru = [(79.5 + d, 79.5 + d) for d in (0.8, -0.4, 0.1, -0.9, 0.3, -0.6)]
    rnn = [(60.0 + d, 60.0 + d) for d in (1.5, -2.0, 0.5, -1.0, 0.7, -0.3)]
    reeval = pd.concat([_reeval([81.0, 80.2], [79.9, 80.6]),
                        pd.DataFrame([{"cell": "rnn", "test": t, "val": t} for t in (61.0, 60.1)])])
    v = decide(_data(lstm, gru, rnn=rnn, reeval=reeval), ReportConfig())
    assert v.pair == ("lstm", "gru") and set(v.scores) == {"lstm", "gru"}
    assert [(g.pair, g.label, g.winner) for g in v.gating] == [(("lstm", "rnn"), "LSTM", "lstm"),
                                                                (("gru", "rnn"), "GRU", "gru")]
    assert v.gating[0].effect == pytest.approx(80.6 - 60.55)
    text = evidence(v, {"name": "accuracy", "unit": "%"})
    assert text.startswith("LSTM's advantage over the GRU")
    assert "Is gating needed? LSTM against the plain RNN: LSTM. LSTM's advantage over the RNN: 20.05 points" in text
    assert "Is gating needed? GRU against the plain RNN: GRU." in text
    assert "Budget:" not in text, "the budget was checked (re-evaluation runs) and is not short: nothing to say"
    unchecked = evidence(decide(_data(lstm, gru, rnn=rnn), ReportConfig()), {"name": "accuracy", "unit": "%"})
    assert unchecked.count("Budget:") == 1 and unchecked.endswith("better configurations)."), "said once, at the end"
    row = summary_table([(_data(lstm, gru, rnn=rnn), v)]).iloc[0]
    assert row.lstm_vs_rnn == "LSTM" and row.gru_vs_rnn == "GRU" and row.rnn_best_test == 61.5
    assert not decide(_data(lstm, gru), ReportConfig()).gating, "no RNN searched: no gating verdicts"


def test_a_search_still_improving_beyond_seed_luck_says_so_and_suggests_a_budget():
    flat = [(80.0 + d, 80.0 + d) for d in (0.3, -0.5, 0.3, -0.4, 0.2, -0.2, 0.1, -0.3, 0.0, -0.1)]
    rising = [(70.0 + i, 70.0 + i) for i in range(10)]  # each trial a point better than the one before
    undecided = _reeval([75.0, 85.0, 78.0], [76.0, 84.0, 79.0], val_sd=0.3)
    v = decide(_data(flat, rising, reeval=undecided), ReportConfig())
    assert v.budget_checked and set(v.still_improving) == {"gru"} and v.suggested_trials == 40
    gain, n = v.still_improving["gru"]
    assert n == 10 and gain == pytest.approx(last_doubling_gain([t for t, _ in rising])
                                             - budget.seed_spread(undecided, ["gru", "lstm"])[0] * seed_luck(10)[0])
    assert v.label == "budget too small"
    text = evidence(v, {"name": "accuracy", "unit": "%"})
    assert "gru's rose" in text and "over its last 5 of 10 completed trials" in text and "search.n_trials=40" in text
    noisy = decide(_data(flat, rising, reeval=_reeval([75.0, 85.0, 78.0], [76.0, 84.0, 79.0], val_sd=8.0)),
                   ReportConfig())
    assert noisy.still_improving == {}, "seeds spread as widely as the rise: it may be luck, not said to improve"
    unknown = decide(_data(flat, rising), ReportConfig())
    assert not unknown.budget_checked and unknown.still_improving == {}
    assert "not checked without re-evaluation runs" in evidence(unknown, {"name": "accuracy", "unit": "%"})


def test_a_best_trial_cut_off_while_learning_says_so_and_suggests_epochs():
    lstm = [(80.0 + d, 80.0 + d) for d in (1.0, -0.5, 0.3, -1.0, 0.2, -0.2)]
    gru = [(80.0 + d, 80.0 + d) for d in (0.9, -0.4, 0.2, -1.1, 0.3, -0.3)]
    undecided = _reeval([75.0, 85.0, 78.0], [76.0, 84.0, 79.0], val_sd=0.3)
    assert decide(_data(lstm, gru, reeval=undecided), ReportConfig()).still_learning == {}, "no best epochs: none"
    data = _data(lstm, gru, reeval=undecided)
    best = data.trials.groupby("cell").value.idxmax()
    data.trials["epochs"], data.trials["best_epoch"] = 8, 3  # stopped by patience: 5 epochs without improving
    data.trials.loc[best["gru"], "best_epoch"] = 8  # the GRU's best trial improved to its last epoch, 8 of 8
    v = decide(data, ReportConfig())
    assert v.still_learning == {"gru": 8} and v.suggested_epochs == 16 and v.still_improving == {}
    assert v.label == "budget too small", "an undecided verdict with a cell still learning asks for a larger budget"
    text = evidence(v, {"name": "accuracy", "unit": "%"})
    assert "still learning when their training stopped" in text and "gru at epoch 8 of 8" in text
    assert "train.max_epochs=16" in text
    row = summary_table([(data, v)]).iloc[0]
    assert row.still_learning == "gru" and row.suggested_max_epochs == 16


def test_search_only_verdict_is_descriptive_without_interval_or_winner():
    lstm = [(70.0, 69.0), (75.0, 74.0), (72.0, 73.5), (71.0, 70.0), (74.0, 76.0), (73.0, 72.0)]
    gru = [(71.0, 70.5), (73.0, 71.0), (69.0, 68.0), (72.5, 72.0), (70.0, 69.5), (68.0, 67.0)]
    v = decide(_data(lstm, gru, reeval=_reeval([74.0], [71.0])), ReportConfig())  # one seed a cell: too few
    assert v.source == "search" and v.scores == {"lstm": 74.0, "gru": 71.0} and v.effect == pytest.approx(3.0)
    assert v.label == "LSTM ahead (descriptive)" and v.winner is None and not v.decided
    assert np.isnan(v.low) and np.isnan(v.high) and np.isnan(v.p_other_better)
    text = evidence(v, {"name": "accuracy", "unit": "%"})
    assert "(no interval; ROPE ±0.5)" in text and "descriptive" in text and "search.reeval_seeds=auto" in text
    assert decide(_data(gru, lstm), ReportConfig()).label == "GRU ahead (descriptive)"


def test_bad_report_options_are_one_line_errors():
    for argv, message in ((["nosuch=1"], "Key 'nosuch' not in"), (["min_trials=0"], "min_trials=0 is invalid"),
                          (["images=gif"], "images=gif is invalid"), (["confidence=2"], "confidence=2.0 is invalid")):
        with pytest.raises(Exception, match=message):
            parse(argv)
    assert replace(parse(["studies=[a,b]"]), out="x").studies == ["a", "b"]


# --- the whole report, in a browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    """./cellsearch.db with a real (small) cellsearch study, a synthetic one with re-evaluation runs, and a
    synthetic one whose study and dataset names are HTML and script; then the report of all three."""
    cwd = tmp_path_factory.mktemp("report")
    done = run_search(cwd, "study=airline", "search.n_trials=4", "train.max_epochs=2")
    assert done.returncode == 0, done.stderr
    storage = "sqlite:///" + str(cwd / "cellsearch.db")
    make_study(storage, "toy", 60, lstm_advantage=3.0, reeval_seeds=5)
    make_study(storage, HOSTILE_STUDY, 16, lstm_advantage=0.0, dataset=HOSTILE_DATASET, seed=1)
    result = run_reports(cwd)
    assert result.returncode == 0, result.stderr
    assert "report: report/index.html" in result.stderr
    return cwd


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        if os.environ.get("CELLSEARCH_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def _browser(playwright):
    require_chromium()
    return playwright.chromium.launch_persistent_context(
        tempfile.mkdtemp(prefix="chromium-profile-"), executable_path=CHROMIUM, headless=True,
        viewport={"width": 1300, "height": 900},
        args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"])


@pytest.mark.slow
def test_report_opens_in_chromium_with_every_figure_drawn_and_hostile_names_as_text(report_dir):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    html = (report_dir / "report" / "index.html").read_text()
    assert "<script src=" not in html and html.count("plotly.js v") <= 2, "plotly.js inlined once, nothing fetched"
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto((report_dir / "report" / "index.html").as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
            page.wait_for_timeout(500)
            assert errors == [] and requests == []
            assert page.evaluate("window.__pwned") is None, "a study or dataset name was executed"
            text = page.inner_text("body")
            assert HOSTILE_STUDY in text and HOSTILE_DATASET in text, "hostile names are shown as text"
            plots = page.query_selector_all(".js-plotly-plot")
            assert len(plots) == 1 + 3 * 7  # the forest plot, then seven figures per study
            for plot in plots:
                drawn = plot.query_selector_all(".main-svg .trace") or plot.query_selector_all(".annotation-text")
                assert drawn, f"{plot.get_attribute('id')} has neither traces nor a note saying why"
                image = Image.open(io.BytesIO(plot.screenshot())).convert("L")
                pixels = np.asarray(image)
                inked = np.mean(pixels < 200)  # not background, not light grid lines
                assert inked > 0.005, f"figure {plot.get_attribute('id')} looks blank ({inked:.4f} inked)"
        finally:
            browser.close()


@pytest.mark.slow
def test_verdict_table_matches_values_computed_from_the_storage(report_dir):
    table = pd.read_csv(report_dir / "report" / "index.csv").set_index("study")
    storage = "sqlite:///" + str(report_dir / "cellsearch.db")
    runs = optuna.load_study(study_name="toy.reeval", storage=storage).trials
    means = {c: np.mean([t.user_attrs["test_accuracy"] for t in runs if t.user_attrs["cell"] == c])
             for c in ("lstm", "gru")}
    toy = table.loc["toy"]
    assert toy.effect_source == "re-evaluation"
    assert toy.lstm_advantage == pytest.approx(means["lstm"] - means["gru"])
    assert toy.ci_low < toy.lstm_advantage < toy.ci_high
    search_trials = optuna.load_study(study_name="toy", storage=storage).trials
    completed = {c: sum(t.state.name == "COMPLETE" and t.params["cell"] == c for t in search_trials)
                 for c in ("lstm", "gru")}
    assert (toy.lstm_complete, toy.gru_complete) == (completed["lstm"], completed["gru"])
    expected = NOT_ENOUGH if min(completed.values()) < 5 else "LSTM" if toy.ci_low > 0.5 else toy.verdict
    assert toy.verdict == expected == "LSTM", "3 points of true advantage, 5 seeds each, enough trials"

    airline = table.loc["airline"]
    study = optuna.load_study(study_name="airline", storage=storage)
    assert airline.metric == "rmse" and airline.better == "lower" and airline.dataset == "airline"
    for cell in ("lstm", "gru"):
        mine = [t for t in study.trials if t.params.get("cell") == cell]
        done = [t for t in mine if t.state == optuna.trial.TrialState.COMPLETE]
        assert airline[f"{cell}_complete"] == len(done)
        if done:
            best = min(done, key=lambda t: t.value)
            assert airline[f"{cell}_best_test"] == pytest.approx(best.user_attrs["test_rmse"])
            assert airline[f"{cell}_params"] == best.user_attrs["n_params"]
    assert airline.verdict == NOT_ENOUGH  # 4 trials: fewer than min_trials=5 per cell
    assert airline.baseline_test == pytest.approx(study.user_attrs["dataset"]["baseline"]["test"])


@pytest.mark.slow
def test_verdict_and_figures_are_saved_for_optuna_dashboard_and_replaced_on_rerun(report_dir):
    import optuna_dashboard

    storage = "sqlite:///" + str(report_dir / "cellsearch.db")
    study = optuna.load_study(study_name="toy", storage=storage)
    note = optuna_dashboard.get_note(study)
    assert note.startswith("## cellsearch verdict: ") and "95 % interval" in note

    from optuna_dashboard._custom_plot_data import list_graph_object_ids

    def graphs():
        attrs = study._storage.get_study_system_attrs(study._study_id)
        return sorted(list_graph_object_ids(attrs))

    before = graphs()
    assert before == ["cellsearch-best-so-far", "cellsearch-distributions", "cellsearch-expected-max",
                      "cellsearch-slices"]
    assert run_reports(report_dir, "studies=[toy]", "out=again.html").returncode == 0
    assert graphs() == before, "a second report replaces the dashboard figures"


@pytest.mark.slow
def test_a_report_at_90_percent_confidence_says_90_and_never_95(tmp_path):
    """The interval's confidence is a setting: the summary table, each study's verdict, the rule and the note
    for optuna-dashboard all show the one the report was asked for."""
    import optuna_dashboard

    storage = "sqlite:///" + str(tmp_path / "cellsearch.db")
    make_study(storage, "toy", 30, reeval_seeds=3)
    result = run_reports(tmp_path, "confidence=0.9")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "report" / "index.html").read_text()
    text = html.replace(plotly.offline.get_plotlyjs(), "")  # plotly.js, inlined, is not the report's text
    text = html_text.unescape(text)  # "Welch&#x27;s" in the page is "Welch's" on the screen
    assert "[90 % interval]" in text, "the summary table's heading"
    assert "90 % interval [" in text, "the study's verdict"
    assert "Welch's t, 90 %" in text, "the rule"
    assert "95 %" not in text and "95%" not in text
    note = optuna_dashboard.get_note(optuna.load_study(study_name="toy", storage=storage))
    assert "90 % interval [" in note and "Welch's t, 90 %" in note and "95 %" not in note


@pytest.mark.slow
def test_password_in_the_storage_url_never_reaches_the_report(tmp_path, postgres_url):
    url = postgres_url.replace("postgres@", "postgres:s3cret-pw@")  # trust auth: any password is accepted
    make_study(url, "toy", 12, reeval_seeds=0)
    result = run_reports(tmp_path, f"storage.url={url}", "out=r.html")
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "r.html", tmp_path / "r.csv"):
        assert "s3cret-pw" not in path.read_text()
    assert "postgres:***@" in (tmp_path / "r.html").read_text()
    assert "s3cret-pw" not in result.stderr + result.stdout
    import optuna_dashboard
    assert "s3cret-pw" not in optuna_dashboard.get_note(optuna.load_study(study_name="toy", storage=url))


@pytest.mark.slow
def test_bad_input_is_one_line_and_leaves_the_storage_alone(tmp_path):
    result = run_reports(tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "run python -m search first" in result.stderr
    assert not (tmp_path / "cellsearch.db").exists(), "a report never creates a storage"

    make_study("sqlite:///" + str(tmp_path / "cellsearch.db"), "toy", 6)
    optuna.create_study(study_name="other", storage="sqlite:///" + str(tmp_path / "cellsearch.db"))
    before = (tmp_path / "cellsearch.db").read_bytes()
    cases = ((["studies=[nosuch]"], "no study named 'nosuch'"),
             (["studies=[other]"], "was not made by cellsearch"),
             (["storage.url=sqlite:///missing.db"], "no such file"),
             (["storage.url=typo.log"], "no such file"),  # a journal file: was created, empty
             (["storage.url=journal://typo2.log"], "no such file"),
             (["storage.url=postgresql://nobody@127.0.0.1:9/x"], "cannot be opened"),
             (["min_trials=-1"], "min_trials=-1 is invalid"),
             (["out=/proc/no/such/dir/r.html", "dashboard=false"], "cannot write the report"))
    with ThreadPoolExecutor(2) as pool:  # two at a time: each is mostly the interpreter starting
        results = list(pool.map(lambda case: run_reports(tmp_path, *case[0]), cases))
    for (args, message), result in zip(cases, results):
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr, result.stderr
    assert (tmp_path / "cellsearch.db").read_bytes() == before
    assert not (tmp_path / "typo.log").exists() and not (tmp_path / "typo2.log").exists(), "nor a journal"
    result = run_reports(tmp_path, "dashboard=false")  # every study: the foreign one is skipped, and says so
    assert result.returncode == 0 and "skipped: study 'other' was not made by cellsearch" in result.stderr


@pytest.mark.slow
def test_a_1000_trial_report_is_written_in_under_20_s_and_under_8_mb(tmp_path):
    make_study(JournalStorage(JournalFileBackend(str(tmp_path / "cellsearch.log"))), "big", 1000, reeval_seeds=5)
    start = time.perf_counter()
    result = run_reports(tmp_path, "dashboard=false")
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    size = (tmp_path / "report" / "index.html").stat().st_size
    print(json.dumps({"seconds": round(seconds, 1), "megabytes": round(size / 1e6, 2)}))
    assert size < 8e6 and seconds < 20


@pytest.mark.slow
def test_figures_are_also_written_as_png_images(tmp_path):
    from PIL import Image

    require_chromium()  # kaleido renders through the system's browser
    make_study("sqlite:///" + str(tmp_path / "cellsearch.db"), "toy", 12)
    result = run_reports(tmp_path, "images=png", "dashboard=false")
    assert result.returncode == 0, result.stderr
    images = sorted((tmp_path / "report" / "index-figures").glob("*.png"))
    assert len(images) == 1 + 7, [p.name for p in images]
    for path in images:
        pixels = np.asarray(Image.open(path).convert("L"))
        assert pixels.shape[1] == 1100 and np.mean(pixels < 200) > 0.005, f"{path.name} looks blank"
