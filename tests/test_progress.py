"""Progress without a bar (logs, CI, workers, Slurm tasks): a line per finished trial, and an epoch line when a
run has been silent for a while, so long epochs never leave a log without news."""

from __future__ import annotations

import optuna

from search.progress import Progress
from search.tasks import Metric

NLL = Metric("nll", "minimize", "nats per time step")


def test_an_epoch_gets_a_line_only_after_the_quiet_time(capsys):
    silent = Progress(3, NLL, 6, bar=False, prefix="[worker 1] ", quiet_seconds=3600)
    silent.epoch(7, 1, 5.25)
    silent.close()
    assert capsys.readouterr().out == "", "epochs faster than the quiet time print nothing"

    chatty = Progress(3, NLL, 6, bar=False, prefix="[worker 1] ", quiet_seconds=0)
    chatty.epoch(7, 2, 4.875)
    study = optuna.create_study()
    trial = optuna.trial.create_trial(params={"cell": "gru"},
                                      distributions={"cell": optuna.distributions.CategoricalDistribution(["gru"])},
                                      value=4.5, user_attrs={"best_epoch": 2, "epochs": 2, "sec_per_epoch": 80.0})
    study.add_trial(trial)
    chatty(study, study.trials[0])
    chatty.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[worker 1] trial 7 epoch 2/6 val nll 4.875 nats per time step (running)"
    assert lines[1].startswith("[worker 1] trial 0 gru: val nll 4.5 nats per time step (best epoch 2 of 2")
