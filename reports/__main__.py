"""`python -m reports [key=value ...]`: the HTML report (and CSV) of the studies in an Optuna storage.
`python -m reports --help` lists the options (reports/config.py)."""

from __future__ import annotations

import errno
import logging
import os
import sys
import time
from pathlib import Path

from search.errors import UserError

log = logging.getLogger("reports")


def build(cfg) -> Path:
    import optuna

    import search.tracking
    from reports import collect, dashboard, figures, page, table
    from reports.verdict import decide
    from reports.wording import rule_text
    from search.storage.open import open_existing
    from search.storage.urls import mask

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = Path(cfg.out)
    inside = next((p for p in _package_folders() if out.resolve().is_relative_to(p)), None)
    if inside is not None:
        raise UserError(f"out={cfg.out} is inside cellsearch's own package folder ({inside}); "
                        "choose another out=PATH (the default is report/index.html)")
    try:  # fail before the work, not after it
        out.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(out.parent, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied")
    except OSError as e:
        raise UserError(f"out={cfg.out}: cannot write the report there ({e.strerror}); "
                        "choose another out=PATH") from None
    storage = open_existing(cfg.storage)
    tracker = search.tracking.connect(cfg.tracking, cfg.storage.url)  # tracking=mlflow, unreachable: one line, now
    names = collect.study_names(storage, cfg.studies)
    rule = rule_text(cfg)
    rows, sections, per_study = [], [], []
    for i, name in enumerate(names):
        start = time.perf_counter()
        try:
            data = collect.load(storage, name)
        except collect.NotCellsearch as e:
            if cfg.studies is not None:  # asked for by name: an error; found among all studies: skipped
                raise
            log.info("[%d/%d] skipped: %s", i + 1, len(names), e)
            continue
        verdict = decide(data, cfg)
        rows.append((data, verdict))
        figs = {
            "best-so-far": figures.best_so_far(data),
            "expected-max": figures.expected_max_figure(data),
            "distributions": figures.distributions(data),
            "slices": figures.slices(data),
            "importance": figures.importances(data),
            "cost": figures.costs(data),
            "learning-curves": figures.learning_curves(data),
        }
        per_study.append((data, verdict, figs))
        log.info("[%d/%d] %s: %d trials, verdict %s (%.1f s)", i + 1, len(names), name, len(data.trials),
                 verdict.label, time.perf_counter() - start)
    if not rows:
        raise UserError("the storage holds no cellsearch study (only studies other tools made); run python -m search")
    summary = table.summary_table(rows)
    for i, ((data, verdict, figs), r) in enumerate(zip(per_study, summary.to_dict("records"))):
        sections.append(page.study_section(i, data, verdict, r, [page.figure_html(f, f"s{i}-{k}")
                                                                  for k, f in figs.items()]))
    forest = figures.forest(rows)
    html = page.page("cellsearch report: LSTM or GRU?", mask(cfg.storage.url), rule,
                     page.summary_html(summary, [v for _, v in rows], cfg.confidence),
                     page.figure_html(forest, "forest"), sections, [d.label for d, _ in rows])
    try:
        out.write_text(html, encoding="utf-8")
        table.spreadsheet_safe(summary).to_csv(out.with_suffix(".csv"), index=False)
    except OSError as e:
        raise UserError(f"out={cfg.out}: cannot write the report ({e.strerror}); choose another out=PATH") from None
    if cfg.images:
        write_images(cfg.images, out, forest, per_study)
    if cfg.dashboard:
        for data, verdict, figs in per_study:
            try:
                dashboard.save(data, verdict, rule, str(out.resolve()),
                               {k: figs[k] for k in ("best-so-far", "expected-max", "distributions", "slices")})
            except Exception as e:  # noqa: BLE001 - the report is written; the dashboard copy is a convenience
                log.warning("could not save the verdict into study %r for optuna-dashboard (%s: %s); "
                            "the report is written; pass dashboard=false to skip this", data.name,
                            type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    if tracker is not None:  # each study's verdict, and the report's files, on its MLflow parent run
        for data, verdict, _ in per_study:
            tracker.log_report(data.study, dashboard.note(data, verdict, rule, out.name),
                               [out, out.with_suffix(".csv")])
    log.info("report: %s (%.1f MB); table: %s", out, out.stat().st_size / 1e6, out.with_suffix(".csv"))
    return out


def _package_folders() -> list[Path]:
    """The folders of the installed (or checked-out) packages, where a report never belongs."""
    import reports
    import search

    return [Path(m.__file__).resolve().parent for m in (search, reports)]


def write_images(kind: str, out: Path, forest, per_study) -> None:
    """Every figure as a PNG or SVG file, all through one headless browser (kaleido)."""
    import plotly.io as pio

    try:
        import kaleido  # noqa: F401 - plotly's image export needs it
    except ImportError:
        raise UserError(f"images={kind} needs kaleido: pip install 'cellsearch[images]' (or images=null)") from None
    for name in ("kaleido", "choreographer", "logistro"):
        logging.getLogger(name).setLevel(logging.WARNING)
    folder = out.with_name(out.stem + "-figures")
    folder.mkdir(parents=True, exist_ok=True)
    figs, paths = [forest], [folder / f"summary-forest.{kind}"]
    for i, (data, _, study_figs) in enumerate(per_study):
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in data.name)
        for key, fig in study_figs.items():
            figs.append(fig)
            paths.append(folder / f"{i:02d}-{safe}-{key}.{kind}")
    log.info("writing %d figures as %s ...", len(figs), kind)
    try:
        pio.write_images(figs, paths, width=1100)
    except RuntimeError as e:  # kaleido found no Chrome/Chromium
        raise UserError(f"images={kind}: kaleido could not render ({str(e).splitlines()[0]}); install "
                        "chromium (apt-get install chromium) or use images=null") from None
    log.info("figures: %s", folder)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from reports.config import HELP, parse

    if any(a in ("-h", "--help") for a in argv):
        print(HELP)
        return 0
    try:
        build(parse(argv))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def console() -> None:
    """`cellsearch-report [key=value ...]`, the console command: the same as `python -m reports`."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    console()
