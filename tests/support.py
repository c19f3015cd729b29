"""What the tests share, imported by name (`from support import run_search`): the real data folder
(CELLSEARCH_DATA_DIR), running `python -m search` as a user would, in a fresh directory (so that the installed
package and its bundled conf/ are what is tested), skipping or failing when a service is absent, and waiting for
a trial to train. The fixtures are in conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def data_dir() -> Path | None:
    value = os.environ.get("CELLSEARCH_DATA_DIR")
    return Path(value).resolve() if value else None


def require_data(relative: str) -> Path:
    """The path of a real data file under CELLSEARCH_DATA_DIR; skip when absent, fail when CI requires it."""
    root = data_dir()
    path = root / relative if root else None
    if path is None or not path.exists():
        reason = f"real data {relative} not found (set CELLSEARCH_DATA_DIR to ../shared/data)"
        if os.environ.get("CELLSEARCH_REQUIRE_DATA") == "1":
            pytest.fail(reason + "; CELLSEARCH_REQUIRE_DATA=1 requires it")
        pytest.skip(reason)
    return path


def offline_env(**extra: str) -> dict:
    """The environment with no data folder and a hub address that refuses at once (no network)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CELLSEARCH_DATA_DIR", "HF_HUB_OFFLINE")}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    env.update(extra)
    return env


def run_search(cwd: Path, *overrides: str, env: dict | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search", *overrides], cwd=cwd, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)


def service_or_skip(name: str, check) -> None:
    try:
        check()
    except Exception as e:  # noqa: BLE001 - any failure to connect means the service is not there
        reason = f"{name} is not reachable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        if os.environ.get("CELLSEARCH_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + "; CELLSEARCH_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)


def wait_for_training(storage, name: str, count: int = 1, epochs: int = 1, timeout: float = 120) -> list:
    """Poll the study until `count` trials are RUNNING past `epochs` epochs (retries not counted); return them."""
    import optuna
    from optuna.trial import TrialState

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            running = optuna.load_study(study_name=name, storage=storage).get_trials(
                deepcopy=False, states=(TrialState.RUNNING,))
        except KeyError:  # the study is not created yet
            running = []
        training = [t for t in running if len(t.intermediate_values) >= epochs and "worker" in t.user_attrs
                    and "retry_of" not in t.user_attrs]
        if len(training) >= count:
            return training
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} trials got past epoch {epochs} within {timeout} s")
