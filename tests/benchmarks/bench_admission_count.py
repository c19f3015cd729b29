"""Why search/optuna_internals.count_by_state stays: the admission check before each trial, as one COUNT query on
Optuna's trials table against study.get_trials (the public route), on a 1000-trial PostgreSQL study.
Run: python tests/benchmarks/bench_admission_count.py (PostgreSQL on 127.0.0.1, database test)."""

import time
import uuid

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from search import optuna_internals as oi
from search.workers.admission import FINISHED

optuna.logging.set_verbosity(optuna.logging.ERROR)
storage = optuna.storages.RDBStorage("postgresql://postgres@127.0.0.1:5432/test")
name = "count-" + uuid.uuid4().hex[:6]
study = optuna.create_study(storage=storage, study_name=name)
X = FloatDistribution(0, 1)
study.add_trials([optuna.trial.create_trial(params={"x": i / 1000}, distributions={"x": X}, value=float(i),
                                            user_attrs={"config": {"a": "b" * 2000}, "seed": i})
                  for i in range(1000)])


def t(f, n=5):
    s = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - s) / n


def fresh():
    return optuna.load_study(study_name=name, storage=storage)


a = t(lambda: oi.count_by_state(study, storage))
c = t(lambda: len(fresh().get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))))
b = t(lambda: len(study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))))
print(f"cached study get_trials {b*1000:.1f} ms; fresh load {c*1000:.1f} ms")
print(f"1000 trials on PostgreSQL: COUNT query {a*1000:.1f} ms, get_trials {b*1000:.1f} ms, ratio {b/a:.0f}")
optuna.delete_study(study_name=name, storage=storage)
