"""The one module that relies on Optuna's private details. Each function names the detail it relies on, and
tests/test_optuna_internals.py checks each assumption by name, so an Optuna upgrade that changes one fails
there, loudly, instead of somewhere in a study.
"""

from __future__ import annotations

from optuna.trial import FrozenTrial


def fixed_params(trial: FrozenTrial) -> dict:
    """The parameters a trial was enqueued with (`study.enqueue_trial`), also before they are drawn.

    Relies on: enqueue_trial keeps them in the trial's system attribute "fixed_params" (no public reader)."""
    return trial.system_attrs.get("fixed_params", {})
