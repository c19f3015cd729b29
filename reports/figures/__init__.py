"""The report's plotly figures, one a module as in optuna.visualization: each module's private
`_get_<figure>_info` selects and computes what the figure shows (a small NamedTuple), its `_draw` turns that
into a go.Figure, and the public function composes the two. Every axis says what it shows (metric, split,
unit). User-controlled text (study and dataset names) is HTML-escaped before it enters a figure: plotly
renders a subset of HTML in titles. Shared style (colours, layout, titles, escaping) is in _utils."""

from reports.figures._best_so_far import best_so_far
from reports.figures._costs import costs
from reports.figures._distributions import distributions
from reports.figures._expected_max import expected_max_figure
from reports.figures._forest import forest
from reports.figures._importances import importances
from reports.figures._learning_curves import learning_curves
from reports.figures._slices import slices

__all__ = ["best_so_far", "costs", "distributions", "expected_max_figure", "forest", "importances",
           "learning_curves", "slices"]
