"""cellsearch: LSTM or GRU, for my data? A fair Optuna search over both cell types."""

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

try:
    __version__ = version("cellsearch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from search.api import Result, run  # the Python API: search.run(["study=..."]); it loads torch only when it runs

__all__ = ["Result", "__version__", "config_dir", "run"]


def config_dir() -> str:
    """The Hydra config tree: the checkout's top-level conf/ when this package is imported from a checkout
    (`python -m search` run in its root puts the source tree first, whatever is installed), else the copy
    installed with the package as `search.conf`."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "conf" / "config.yaml").is_file():
        return str(checkout / "conf")
    spec = find_spec("search.conf")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("cellsearch's config tree (search.conf) is not installed; reinstall: pip install .")
    return str(Path(spec.origin).parent)
