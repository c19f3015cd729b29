"""The YAML search space: suggestions land on the right config keys, conditions hold, bad spaces fail."""

import optuna
import pytest
from omegaconf import open_dict

from search.config import ParamSpec
from search.errors import UserError
from search.space import check_space, suggest
from test_config import make


def drawn(cfg, n=30):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append((trial, suggest(trial, cfg)))
        study.tell(trial, 0.0)
    return out


def test_suggestions_set_config_and_name_params_by_last_key():
    cfg = make()
    check_space(cfg)
    for trial, trial_cfg in drawn(cfg):
        assert trial_cfg.model.cell.value == trial.params["cell"]
        assert trial_cfg.model.hidden_size == trial.params["hidden_size"]
        assert 32 <= trial_cfg.model.hidden_size <= 256
        assert trial_cfg.dataset.seq_len == trial.params["seq_len"] and trial.params["seq_len"] % 8 == 0
        assert 1e-4 <= trial_cfg.train.lr <= 1e-1
    assert cfg.model.hidden_size == 128, "the base config is never modified"


def test_lstm_only_parameter_is_drawn_for_lstm_trials_only():
    cells = {"lstm": 0, "gru": 0}
    for trial, _ in drawn(make()):
        cells[trial.params["cell"]] += 1
        assert ("forget_bias" in trial.params) == (trial.params["cell"] == "lstm")
    assert cells["lstm"] and cells["gru"]


def space_with(cfg, path, **spec):
    with open_dict(cfg.space):
        cfg.space[path] = ParamSpec(**spec)
    return cfg


@pytest.mark.parametrize("path,spec,message", [
    ("model.hidden_size", {"type": "int", "low": 256, "high": 32, "log": True}, "low=256 is above high=32"),
    ("model.hidden_size", {"type": "int", "low": -8, "high": 32}, "model.hidden_size=-8 is invalid"),
    ("model.dropout", {"type": "float", "low": 0.0, "high": 1.5}, "model.dropout=1.5 is invalid"),
    ("train.lr", {"type": "float", "low": 0.0, "high": 0.1, "log": True}, "needs low > 0"),
    ("model.hiden_size", {"type": "int", "low": 8, "high": 32}, "no such key"),
    ("model.cell", {"type": "categorical", "choices": ["lstm", "transformer"]}, "does not fit"),
    ("model.num_layers", {"type": "normal", "low": 1, "high": 2}, "not one of int, float, categorical"),
    ("model.forget_bias", {"type": "float", "low": 0, "high": 1, "when": {"model.kind": "lstm"}}, "no config key"),
])
def test_bad_spaces_are_refused(path, spec, message):
    cfg = space_with(make(), path, **spec)
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        check_space(cfg)
