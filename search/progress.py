"""Progress of a run: a bar over trials (on a terminal), the current trial's epoch in its postfix, and one
line per finished trial that says what each number is. Without a bar (a log, CI, a worker process, a Slurm task)
an epoch also gets a line when a minute has passed without one, so a run of long epochs is never silent."""

from __future__ import annotations

import time

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from search.records import BEST_EPOCH, EPOCHS, FAIL_REASON, SEC_PER_EPOCH, cell_of
from search.tasks import Metric


class Progress:
    def __init__(self, total: int, metric: Metric, max_epochs: int, bar: bool = True, prefix: str = "",
                 quiet_seconds: float = 60.0):
        self.metric, self.max_epochs, self.prefix = metric, max_epochs, prefix
        # disable=None: a bar only on a terminal; logs, CI and worker processes get lines instead
        self.bar = tqdm(total=total, unit="trial", disable=None if bar else True, dynamic_ncols=True)
        self.quiet_seconds, self.last_line = quiet_seconds, time.monotonic()

    def epoch(self, trial_number: int, epoch: int, value: float) -> None:
        what = f"trial {trial_number} epoch {epoch}/{self.max_epochs} val {self.metric.name} {value:.4g}"
        self.bar.set_postfix_str(what)
        if self.bar.disable and time.monotonic() - self.last_line >= self.quiet_seconds:
            self._write(f"{self.prefix}{what} {self.metric.unit} (running)")

    def _write(self, line: str) -> None:
        tqdm.write(line)
        self.last_line = time.monotonic()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Optuna callback, after each trial."""
        m = self.metric
        cell = cell_of(trial) or "?"
        if trial.state == TrialState.COMPLETE:
            attrs = trial.user_attrs
            what = (f"val {m.name} {trial.value:.4g} {m.unit} (best epoch {attrs.get(BEST_EPOCH)} "
                    f"of {attrs.get(EPOCHS)}, {attrs.get(SEC_PER_EPOCH, 0):.2f} s/epoch)")
        elif trial.state == TrialState.PRUNED:
            reason = trial.user_attrs.get(FAIL_REASON) or f"after epoch {trial.user_attrs.get(EPOCHS)}"
            last = trial.intermediate_values[max(trial.intermediate_values)] if trial.intermediate_values else None
            what = f"pruned {reason}" + (f", val {m.name} {last:.4g} {m.unit}" if last is not None else "")
        else:
            reason = trial.user_attrs.get(FAIL_REASON)
            what = trial.state.name.lower() + (f": {reason}" if reason else "")
        line = f"{self.prefix}trial {trial.number} {cell}: {what}"
        try:
            best = study.best_trial
            line += f"; best so far: trial {best.number} ({cell_of(best)}) {best.value:.4g}"
        except ValueError:
            pass
        self._write(line)
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
