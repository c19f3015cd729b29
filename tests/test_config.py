"""Config composition: the groups, the structured schema, the public override keys, one-line errors."""

import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from search import config_dir
from search.cli import composition_error
from search.config import Cell, check_values, register_configs
from search.errors import UserError
from search.storage.open import existing_url, open_existing, resolve_url

register_configs()


def make(*overrides):
    with initialize_config_dir(config_dir(), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_default_is_the_sentiment_study():
    cfg = make()
    assert cfg.search.study_name == "sentiment"
    assert cfg.dataset.name == "rt_polarity"
    assert cfg.space["model.cell"].choices == ["lstm", "gru"]
    assert resolve_url(cfg.storage, workers=1) == "sqlite:///cellsearch.db"
    assert resolve_url(cfg.storage, workers=2) == "cellsearch.log"
    assert cfg.sampler.seed == cfg.seed == 0


def test_the_default_storages_of_a_search_and_of_a_report(tmp_path, monkeypatch, caplog):
    """One home for the default-storage rule (search/storage/open.py): a search picks by its workers and notes
    the other default file when it is here too; a report reads the one that exists and never creates one."""
    cfg = make()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="no study storage here"):
        existing_url(None)
    (tmp_path / "cellsearch.log").write_text("")
    assert existing_url(None) == "cellsearch.log" and existing_url("redis://h/0") == "redis://h/0"
    with caplog.at_level("WARNING"):
        assert resolve_url(cfg.storage, workers=1, note=True) == "sqlite:///cellsearch.db"
    assert "note: cellsearch.log exists here too; with workers=1 the default storage is sqlite:///cellsearch.db" in (
        caplog.text)
    (tmp_path / "cellsearch.db").write_bytes(b"")
    assert existing_url(None) == "sqlite:///cellsearch.db", "SQLite first, as a default one-worker search writes it"
    cfg.storage.url = f"{tmp_path}/missing.log"
    with pytest.raises(UserError, match="no such file"):
        open_existing(cfg.storage)
    assert not (tmp_path / "missing.log").exists()


def test_study_picks_dataset_space_and_budget_together():
    cfg = make("study=airline")
    assert (cfg.dataset.name, cfg.search.study_name) == ("airline", "airline")
    assert cfg.space["dataset.seq_len"].type == "int"
    assert cfg.train.batch_size == 16


@pytest.mark.parametrize("override,key,value", [
    ("search.n_trials=7", "search.n_trials", 7),
    ("search.timeout=90", "search.timeout", 90),
    ("search.study_name=mine", "search.study_name", "mine"),
    ("train.max_epochs=3", "train.max_epochs", 3),
    ("storage.url=sqlite:///other.db", "storage.url", "sqlite:///other.db"),
    ("seed=5", "sampler.seed", 5),
    ("dataset.path=/some/where", "dataset.path", "/some/where"),
])
def test_public_override_keys(override, key, value):
    assert OmegaConf.select(make(override), key) == value


def test_dataset_node_is_its_schema():
    cfg = make("study=airline")
    assert OmegaConf.to_object(cfg.dataset).__class__.__name__ == "AirlineConfig"
    assert make().model.cell == Cell.lstm


@pytest.mark.parametrize("override", ["model.cell=transformer", "train.max_epochs=many", "model.hiden_size=3",
                                      "dataset.no_such_key=1", "study=nosuch"])
def test_bad_overrides_fail_at_composition(override):
    with pytest.raises(ConfigCompositionException):
        make(override)
    message = composition_error([override])
    assert message and "\n" not in message


@pytest.mark.parametrize("override,fragment", [
    ("search.n_trials=-1", "search.n_trials=-1"),
    ("model.hidden_size=0", "model.hidden_size=0"),
    ("model.dropout=1.0", "model.dropout=1.0"),
    ("train.lr=0", "train.lr=0"),
    ("dataset.seq_len=0", "dataset.seq_len=0"),
])
def test_out_of_range_values_are_named(override, fragment):
    with pytest.raises(UserError, match=fragment.replace(".", r"\.")):
        check_values(make(override))


# Runs the CLI as `python -m search ARGS` does and says, at exit, whether torch was imported.
TORCH_AT_EXIT = ("import atexit, runpy, sys; atexit.register(lambda: print('torch imported:', 'torch' in sys.modules, "
                 "file=sys.stderr)); sys.argv[0] = 'search'; runpy.run_module('search', run_name='__main__')")


@pytest.mark.slow
@pytest.mark.parametrize("args,code", [(["--help"], 0), (["train.max_epochs=-1"], 2), (["model.cell=transformer"], 2),
                                       (["study=airline", "dataset.seq_len=0"], 2)])
def test_help_and_config_errors_do_not_import_torch(tmp_path, args, code):
    run = subprocess.run([sys.executable, "-c", TORCH_AT_EXIT, *args], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == code, run.stderr
    assert "torch imported: False" in run.stderr, run.stderr
    if code:
        assert run.stderr.startswith("error: "), run.stderr


@pytest.mark.slow
def test_help_lists_the_groups(tmp_path):
    out = subprocess.run([sys.executable, "-m", "search", "--help"], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    for group in ("study:", "dataset:", "model:", "train:", "space:", "storage:", "sampler:", "pruner:"):
        assert group in out
