"""The report's settings: `python -m reports key=value ...` (OmegaConf dotted overrides)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from search.config import StorageConfig, TrackingConfig
from search.errors import UserError

log = logging.getLogger("reports")

HELP = """usage: python -m reports [key=value ...]

Writes one self-contained HTML report (and a CSV of its summary table) from the cellsearch studies in an
Optuna storage. Options (defaults in brackets):
  storage.url=URL        the storage to read [sqlite:///cellsearch.db, else cellsearch.log when only that exists]
  studies=[a,b]          studies to report [every study except the <name>.reeval re-evaluation studies]
  out=PATH               the HTML file [report/index.html, under the current folder]; the CSV beside it (.csv)
  rope_points=0.5        region of practical equivalence for metrics in percent (accuracy): +-0.5 points
  rope_relative=0.01     ... for every other metric: +-1 % of the cells' mean score
  min_trials=5           finished (completed or pruned) search trials per cell below which the verdict is
                         "not enough evidence"
  min_seeds=2            re-evaluation seeds per cell needed for a verdict with an interval (with fewer, the
                         search's best trials give a descriptive comparison only)
  confidence=0.95        of Welch's t interval (over all the looks of adaptive re-evaluation)
  dashboard=true         also save the verdict (a note) and the main figures into each study for optuna-dashboard
  images=null            png or svg: also write every figure as an image beside the HTML (needs kaleido)
  tracking=mlflow        also store the verdict, the CSV and the HTML as artifacts of each study's MLflow parent
                         run (tracking.uri=URL [$MLFLOW_TRACKING_URI, else http://127.0.0.1:5000],
                         tracking.experiment=NAME [cellsearch]: the settings the search ran with) [none]
"""


@dataclass
class ReportConfig:
    storage: StorageConfig = field(default_factory=StorageConfig)
    studies: list[str] | None = None
    out: str = "report/index.html"  # 0.x wrote reports/index.html: from a checkout, into the package
    rope_points: float = 0.5
    rope_relative: float = 0.01
    min_trials: int = 5
    min_seeds: int = 2
    confidence: float = 0.95
    n_resamples: int | None = None  # unused: the interval was a bootstrap before it was Welch's; accepted (with a
    bootstrap_seed: int | None = None  # warning) so that older command lines still run
    dashboard: bool = True
    images: str | None = None
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


_RULES = (
    ("rope_points", lambda v: v >= 0, "a number of points >= 0"),
    ("rope_relative", lambda v: 0 <= v < 1, "a fraction in [0, 1)"),
    ("min_trials", lambda v: v >= 1, "a whole number >= 1"),
    ("min_seeds", lambda v: v >= 2, "a whole number >= 2 (one seed has no spread)"),
    ("confidence", lambda v: 0 < v < 1, "in (0, 1), e.g. 0.95"),
    ("images", lambda v: v in (None, "png", "svg"), "png, svg or null"),
    ("tracking.kind", lambda v: v in ("none", "mlflow"), "none or mlflow (tracking=mlflow, as for the search)"),
)


def parse(argv: list[str]) -> ReportConfig:
    """The settings from `key=value` arguments; a UserError in one line for anything wrong."""
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise UserError(f"'{bad[0]}' is not key=value; see python -m reports --help")
    argv = [f"tracking.kind={a.split('=', 1)[1]}" if a.split("=", 1)[0] == "tracking" else a for a in argv]
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(ReportConfig), OmegaConf.from_dotlist(argv))
    except OmegaConfBaseException as e:
        first = str(e).splitlines()[0]
        raise UserError(f"{first}; see python -m reports --help") from None
    for key, valid, what in _RULES:
        value = OmegaConf.select(cfg, key)
        if not valid(value):
            raise UserError(f"{key}={value} is invalid: it must be {what}")
    for key in ("n_resamples", "bootstrap_seed"):
        if OmegaConf.select(cfg, key) is not None:
            log.warning("%s is no longer used: the verdict's interval is Welch's t, not a bootstrap; drop it", key)
    return OmegaConf.to_object(cfg)
