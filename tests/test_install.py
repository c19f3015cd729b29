"""The README's commands work from the checkout root as well as from any other folder.

From the checkout root, `python -m search` imports the source tree's `search/` ahead of the installed
package, and the source tree has no `search/conf/` (the installed package maps it from the top-level
`conf/`): this used to stop with "Primary config module 'search.conf' not found". CI installs the package
non-editable (`pip install .`, .ci/run), which is the case where that failure showed; an editable install
hides it, so CI checks that its install is not editable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

from support import offline_env

ROOT = Path(__file__).resolve().parent.parent


def _run(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=offline_env(), capture_output=True, text=True,
                          timeout=timeout)


def editable_install() -> bool:
    text = distribution("cellsearch").read_text("direct_url.json")
    return bool(text and json.loads(text).get("dir_info", {}).get("editable"))


def test_ci_tests_a_non_editable_install():
    if not os.environ.get("CI"):
        pytest.skip("outside CI the install may be editable; .ci/run installs with a plain pip install")
    assert not editable_install(), "CI must test a plain (non-editable) install: pip install ."


@pytest.mark.parametrize("where", ["checkout root", "another folder"])  # quick: the two entry points, no study
def test_help_of_both_commands(where, tmp_path):
    cwd = ROOT if where == "checkout root" else tmp_path
    search = _run(cwd, "-m", "search", "--help")
    assert search.returncode == 0, search.stderr
    assert "compare: balanced, joint, param_matched" in search.stdout and "study:" in search.stdout
    assert "Traceback" not in search.stderr
    reports = _run(cwd, "-m", "reports", "--help")
    assert reports.returncode == 0 and "usage: python -m reports" in reports.stdout, reports.stderr


@pytest.mark.slow
def test_a_small_study_from_the_checkout_root(tmp_path):
    db = tmp_path / "root.db"
    before = {p.name for p in ROOT.iterdir()}
    run = _run(ROOT, "-m", "search", "study=airline", "search.n_trials=2", "train.max_epochs=1",
               "search.reeval_seeds=0", f"storage.url=sqlite:///{db}", "search.study_name=from_root")
    assert run.returncode == 0, run.stderr
    assert "verdict on study 'from_root'" in run.stdout
    assert {p.name for p in ROOT.iterdir()} == before, "a run from the checkout root wrote into the checkout"
    report = _run(ROOT, "-m", "reports", f"storage.url=sqlite:///{db}", f"out={tmp_path / 'r.html'}")
    assert report.returncode == 0 and (tmp_path / "r.html").is_file(), report.stderr


@pytest.mark.slow
def test_a_report_is_never_written_into_the_package_folder(tmp_path):
    """0.x wrote reports/index.html relative to the current folder: from a checkout, into the reports package."""
    before = sorted((ROOT / "reports").iterdir())
    report = _run(ROOT, "-m", "reports", f"storage.url=sqlite:///{tmp_path / 'none.db'}", "out=reports/index.html")
    assert report.returncode == 2 and "inside cellsearch's own package folder" in report.stderr, report.stderr
    assert len(report.stderr.strip().splitlines()) == 1 and sorted((ROOT / "reports").iterdir()) == before
    assert not (tmp_path / "none.db").exists(), "refused before the storage was opened (nothing created)"


@pytest.mark.slow
def test_python_dash_m_pytest_from_the_checkout_root():
    run = _run(ROOT, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_space.py")
    assert run.returncode == 0 and "test_space.py::" in run.stdout, run.stdout + run.stderr
