"""cellsearch: LSTM or GRU, for my data? A fair Optuna search over both cell types."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cellsearch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
